"""Measure the NLU fallback threshold: wrong answers against needless "did you mean?" questions.

Parses every held-out message (tests/nlu) with the trained model and takes the model's own top
intent and confidence, before the fallback. For each threshold it counts the messages that
would get an answer on the wrong topic (confident but wrong: the harm to avoid) and those that
would be asked "did you mean?" although the model was right (the cost). Writes the table to
results/fallback-threshold.md.
Usage: .venv/bin/python scripts/tune_fallback_threshold.py [MODEL]  (default models/assistant.tar.gz)
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from rasa.core.agent import Agent
from rasa.shared.nlu.training_data.loading import load_data
from rasa.utils.log_utils import configure_structlog

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the model names the project's own NLU component (safety/)
THRESHOLDS = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]


async def predictions(model: Path) -> list[tuple[str, str, float]]:
    agent = Agent.load(str(model))
    found = []
    for example in load_data(str(ROOT / "tests" / "nlu")).intent_examples:
        parsed = await agent.parse_message(example.get("text"))
        top = next(r for r in parsed["intent_ranking"] if r["name"] != "nlu_fallback")
        found.append((example.get("intent"), top["name"], top["confidence"]))
    return found


def main() -> None:
    logging.disable(logging.WARNING)
    configure_structlog(logging.WARNING)  # Rasa logs each parsed text at debug level
    model = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "models" / "assistant.tar.gz"
    rows = asyncio.run(predictions(model))
    lines = [
        f"Held-out messages: {len(rows)}; the model's top intent is right for "
        f"{sum(t == p for t, p, _ in rows)} of them.",
        "",
        '| threshold | answered on a wrong topic | right, but asked "did you mean?" |',
        "|---|---|---|",
    ]
    for threshold in THRESHOLDS:
        wrong = sum(1 for t, p, c in rows if c >= threshold and t != p)
        needless = sum(1 for t, p, c in rows if c < threshold and t == p)
        lines.append(f"| {threshold} | {wrong} | {needless} |")
    report = "\n".join(lines)
    (ROOT / "results").mkdir(exist_ok=True)
    (ROOT / "results" / "fallback-threshold.md").write_text(report + "\n")
    print(report)


if __name__ == "__main__":
    main()
