"""Measure the NLU fallback threshold: wrong answers against needless "did you mean?" questions.

Parses every held-out message (tests/nlu) with the trained model and takes the model's own two
best intents and their confidence, before the fallback. For each threshold, with and without
the ambiguity rule (the two best guesses closer than `AMBIGUITY`), it counts the messages that
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
AMBIGUITY = 0.1  # config.yml's ambiguity_threshold


async def predictions(model: Path) -> list[tuple[str, str, float, float]]:
    """For each held-out message: its intent, the model's best guess, its confidence, and how
    far ahead of the second guess it is."""
    agent = Agent.load(str(model))
    found = []
    for example in load_data(str(ROOT / "tests" / "nlu")).intent_examples:
        parsed = await agent.parse_message(example.get("text"))
        top, *others = [r for r in parsed["intent_ranking"] if r["name"] != "nlu_fallback"]
        lead = top["confidence"] - (others[0]["confidence"] if others else 0.0)
        found.append((example.get("intent"), top["name"], top["confidence"], lead))
    return found


def main() -> None:
    logging.disable(logging.WARNING)
    configure_structlog(logging.WARNING)  # Rasa logs each parsed text at debug level
    model = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "models" / "assistant.tar.gz"
    rows = asyncio.run(predictions(model))
    lines = [
        f"Held-out messages: {len(rows)}; the model's top intent is right for "
        f"{sum(t == p for t, p, _, _ in rows)} of them.",
        "",
        '| threshold | ambiguity | answered on a wrong topic | right, but asked "did you mean?" |',
        "|---|---|---|---|",
    ]
    for threshold in THRESHOLDS:
        for ambiguity in (0.0, AMBIGUITY):
            answered = [(t, p) for t, p, c, lead in rows if c >= threshold and lead >= ambiguity]
            asked = [(t, p) for t, p, c, lead in rows if not (c >= threshold and lead >= ambiguity)]
            wrong = sum(1 for t, p in answered if t != p)
            needless = sum(1 for t, p in asked if t == p)
            lines.append(f"| {threshold} | {ambiguity} | {wrong} | {needless} |")
    report = "\n".join(lines)
    (ROOT / "results").mkdir(exist_ok=True)
    (ROOT / "results" / "fallback-threshold.md").write_text(report + "\n")
    print(report)


if __name__ == "__main__":
    main()
