"""Score the assistant end to end on a set of conversations, as a patient sees it.

Each conversation is sent over REST, turn by turn, to a real assistant (action server and Rasa
server on the built knowledge store), and each turn's replies are checked for what a right reply
must and must not say: the right figures for the right group and trial, no figure from the wrong
one, the safety caveat, the source, urgent help only for an emergency, a kind refusal of
personal advice, and never "I'm not sure what you mean" when the question was clear.

The blind set in `tests/blind/conversations-*.yml` is scored this way. It was written before
the tuning it measures and is never tuned on: change the assistant, then score it, and never
change the assistant to fit what this reports.

Usage: python -m bench.conversations [--set FILE] [--out FIGURES.json] [--failures] [--record NAME]

`--record NAME` keeps the figures in `docs/benchmarks/blind-conversations.json` under NAME
("before", "after"), with the date and commit, and rewrites that section of docs/benchmarks.md;
`make bench` renders the same section from the same file.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BLIND_CONVERSATIONS = PROJECT_ROOT / "tests" / "blind" / "conversations-2026-12-r9.yml"  # the newest
RECORDED = PROJECT_ROOT / "docs" / "benchmarks" / "blind-conversations.json"
REPORT = PROJECT_ROOT / "docs" / "benchmarks.md"
SECTION_TITLE = "## Understanding whole conversations: the blind set"
KNOWLEDGE_DB = PROJECT_ROOT / "var" / "knowledge.db"

# What the patient sees that the checks look for. The opening notice is set aside first: it
# names the MS team and would let a missing refusal pass.
OPENING = "Hello. I'm an automated assistant"
URGENT = ("could be an emergency", "i'm worried about what you wrote")
NOT_UNDERSTOOD = ("not sure what you mean", "still don't understand")
CAVEAT = ("infection", "autoimmun")
SOURCE = "source"
MS_TEAM = ("ms team", "ms nurse", "neurologist")


@dataclass
class Turn:
    say: str
    figures: list[str] = field(default_factory=list)
    wrong_figures: list[str] = field(default_factory=list)
    must: list[str | list[str]] = field(default_factory=list)
    must_not: list[str] = field(default_factory=list)
    caveat: bool = False
    source: bool = False
    urgent: bool = False
    understood: bool = True
    advice_refusal: bool = False


@dataclass
class Conversation:
    id: str
    kind: str  # the failure class it probes
    voice: str
    turns: list[Turn]

    @property
    def multi_turn(self) -> bool:
        return len(self.turns) > 1


def load(path: Path) -> list[Conversation]:
    entries = yaml.safe_load(path.read_text())["conversations"]
    return [
        Conversation(
            entry["id"], entry["class"], entry.get("voice", ""), [Turn(**turn) for turn in entry["turns"]]
        )
        for entry in entries
    ]


def figure_pattern(figure: str) -> re.Pattern:
    """A figure as the assistant may say it: "35%" is also "35 in every 100" or "35 out of 100",
    and "46.7%" is also its whole-number rounding "47%"."""
    number = figure.rstrip("%").strip()
    alternatives = [re.escape(number)]
    if figure.endswith("%"):
        value = float(number)
        if "." in number:
            alternatives.append(str(round(value)))
        forms = "|".join(alternatives)
        return re.compile(
            rf"(?<![\d.])(?:{forms})(?:\s?%|\s+(?:in|out of)\s+(?:every\s+)?100\b|\s+per\s?cent)",
            re.IGNORECASE,
        )
    return re.compile(rf"(?<![\d.]){re.escape(number)}(?![\d]|\.\d)")


def says(text: str, item: str | list[str]) -> bool:
    options = [item] if isinstance(item, str) else item
    return any(option.lower() in text for option in options)


def turn_failures(turn: Turn, replies: list[str]) -> list[str]:
    """Why the replies to one turn are not right; empty if they are."""
    text = " ".join(replies)
    lower = text.lower()
    failures = [
        f"figure {figure} missing" for figure in turn.figures if not figure_pattern(figure).search(text)
    ]
    failures += [
        f"wrong figure {figure}" for figure in turn.wrong_figures if figure_pattern(figure).search(text)
    ]
    failures += [f"missing {item!r}" for item in turn.must if not says(lower, item)]
    failures += [f"says {item!r}" for item in turn.must_not if item.lower() in lower]
    checks: list[tuple[bool, bool, str]] = [
        (turn.caveat, all(word in lower for word in CAVEAT), "no safety caveat"),
        (turn.source, SOURCE in lower, "no source"),
        (turn.advice_refusal, any(word in lower for word in MS_TEAM), "no pointer to the MS team"),
    ]
    failures += [message for wanted, seen, message in checks if wanted and not seen]
    urgent = any(phrase in lower for phrase in URGENT)
    if urgent != turn.urgent:
        failures.append("no urgent help" if turn.urgent else "false emergency alarm")
    if turn.understood and any(phrase in lower for phrase in NOT_UNDERSTOOD):
        failures.append("not understood")
    return failures


@dataclass
class Outcome:
    conversation: Conversation
    replies: list[list[str]]
    failures: list[list[str]]

    @property
    def right(self) -> bool:
        return not any(self.failures)


def run(conversations: list[Conversation], say: Callable[[str, str], list[dict]]) -> list[Outcome]:
    """Each conversation with a new sender; replies are the texts the patient sees."""
    senders = itertools.count()
    outcomes = []
    for conversation in conversations:
        sender = f"blind-{conversation.id}-{next(senders)}"
        replies, failures = [], []
        for turn in conversation.turns:
            texts = [
                r["text"]
                for r in say(sender, turn.say)
                if r.get("text") and not r["text"].startswith(OPENING)
            ]
            replies.append(texts)
            failures.append(turn_failures(turn, texts))
        outcomes.append(Outcome(conversation, replies, failures))
    return outcomes


def share(right: int, total: int) -> dict[str, Any]:
    return {"right": right, "total": total, "share": round(right / total, 3) if total else None}


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    """Single questions right, turns right, multi-turn conversations fully right; by class too."""
    singles = [o for o in outcomes if not o.conversation.multi_turn]
    multi = [o for o in outcomes if o.conversation.multi_turn]
    turns = [not failures for o in outcomes for failures in o.failures]
    by_class: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_class[outcome.conversation.kind].append(outcome)
    return {
        "single_questions": share(sum(o.right for o in singles), len(singles)),
        "turns": share(sum(turns), len(turns)),
        "multi_turn_conversations": share(sum(o.right for o in multi), len(multi)),
        "classes": {
            kind: {
                "conversations": share(sum(o.right for o in group), len(group)),
                "turns": share(
                    sum(not f for o in group for f in o.failures), sum(len(o.failures) for o in group)
                ),
            }
            for kind, group in sorted(by_class.items())
        },
    }


def table(figures: dict[str, Any]) -> str:
    def cell(entry: dict[str, Any]) -> str:
        return f"{entry['right']}/{entry['total']} ({entry['share']:.0%})"

    lines = [
        f"single questions right: {cell(figures['single_questions'])}",
        f"turns right: {cell(figures['turns'])}",
        f"multi-turn conversations fully right: {cell(figures['multi_turn_conversations'])}",
        "",
        "| class | conversations right | turns right |",
        "|---|---|---|",
    ]
    lines += [
        f"| {kind} | {cell(entry['conversations'])} | {cell(entry['turns'])} |"
        for kind, entry in figures["classes"].items()
    ]
    return "\n".join(lines)


def record(name: str, figures: dict[str, Any], conversations: Path) -> dict[str, Any]:
    """Keep `figures` under `name` with when and at which commit they were measured."""
    import subprocess
    from datetime import date

    recorded = json.loads(RECORDED.read_text()) if RECORDED.exists() else {}
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True
    ).stdout.strip()
    recorded[name] = {
        "date": date.today().isoformat(),
        "commit": commit,
        "set": conversations.name,
        **figures,
    }
    RECORDED.parent.mkdir(parents=True, exist_ok=True)
    RECORDED.write_text(json.dumps(recorded, indent=2) + "\n")
    return recorded


def section(recorded: dict[str, Any]) -> list[str]:
    """The report's section: for each blind set, newest last, its recorded runs side by side,
    overall and by class. Runs on different sets are never put in one table."""
    by_set: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for name, run in recorded.items():
        by_set[run["set"]].append((name, run))
    lines = [
        SECTION_TITLE,
        "",
        "Each set of conversations in `tests/blind/` is sent over REST to the real servers and checked "
        "for what the patient sees (`bench/conversations.py`): the right figures for the right group "
        "and trial and none from the wrong one, the safety caveat and the source on benefit answers, "
        'urgent help for emergencies only, a kind refusal of personal advice, and never "not sure '
        'what you mean" for a clear question. Each set was written before the tuning it measures and '
        "is never tuned on; once a round of tuning has read it, the next round needs a new one. "
        "`make blind` scores the newest.",
        "",
    ]
    for name, runs in by_set.items():
        lines += [f"### `tests/blind/{name}`", "", *_runs_table(runs), ""]
        notes = [f"- {run_name}: {run['note']}" for run_name, run in runs if run.get("note")]
        lines += [*notes, ""] if notes else []
    return lines


def _runs_table(runs: list[tuple[str, dict[str, Any]]]) -> list[str]:
    def cell(entry: dict[str, Any] | None) -> str:
        return f"{entry['right']}/{entry['total']} ({entry['share']:.0%})" if entry else "n/a"

    header = " | ".join(f"{name} ({run['commit']}, {run['date']})" for name, run in runs)
    lines = [f"| | {header} |", "|---|" + "---|" * len(runs)]
    for label, key in (
        ("single questions right", "single_questions"),
        ("turns right", "turns"),
        ("multi-turn conversations fully right", "multi_turn_conversations"),
    ):
        lines.append(f"| {label} | " + " | ".join(cell(run[key]) for _, run in runs) + " |")
    for kind in sorted({kind for _, run in runs for kind in run["classes"]}):
        cells = " | ".join(cell(run["classes"].get(kind, {}).get("turns")) for _, run in runs)
        lines.append(f"| {kind}: turns right | {cells} |")
    return lines


def rewrite_section(report: Path, recorded: dict[str, Any]) -> None:
    """Put the section in the report in place of an older one, else at its end."""
    text = report.read_text() if report.exists() else ""
    start = text.find(SECTION_TITLE)
    if start != -1:
        following = text.find("\n## ", start + len(SECTION_TITLE))
        text = text[:start] + (text[following + 1 :] if following != -1 else "")
    report.write_text(text.rstrip("\n") + "\n\n" + "\n".join(section(recorded)))


def failure_report(outcomes: list[Outcome]) -> str:
    lines = []
    for outcome in outcomes:
        for turn, texts, failures in zip(
            outcome.conversation.turns, outcome.replies, outcome.failures, strict=True
        ):
            if failures:
                lines.append(f"[{outcome.conversation.id} {outcome.conversation.kind}] {turn.say!r}")
                lines.append(f"    wrong: {'; '.join(failures)}")
                lines.append(f"    said: {' | '.join(texts)[:400]!r}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=BLIND_CONVERSATIONS, help="the conversations to score")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    parser.add_argument("--failures", action="store_true", help="print each wrong turn and what was said")
    parser.add_argument("--record", metavar="NAME", help="keep the figures under NAME in docs/benchmarks")
    arguments = parser.parse_args(argv)

    from tests.live_bot import running_bot

    conversations = load(arguments.set)
    # The server's rate limits are for patients; this one client sends every conversation at once.
    with (
        tempfile.TemporaryDirectory() as workdir,
        running_bot(f"sqlite:///{KNOWLEDGE_DB}", Path(workdir), environment={"RATE_LIMITS": "off"}) as bot,
    ):
        outcomes = run(conversations, bot.say)
    figures = summary(outcomes)
    if arguments.failures:
        print(failure_report(outcomes))
    print(table(figures))
    if arguments.out:
        arguments.out.parent.mkdir(parents=True, exist_ok=True)
        arguments.out.write_text(json.dumps(figures, indent=2) + "\n")
    if arguments.record:
        rewrite_section(REPORT, record(arguments.record, figures, arguments.set))
    return 0


if __name__ == "__main__":
    sys.exit(main())
