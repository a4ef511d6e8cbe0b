"""The report's plots, drawn with matplotlib (Rasa installs it) on the Agg backend, which needs no
display: what each day's messages led to, and the answers by topic and trial. Only counts are
drawn; no word of a message is."""

from __future__ import annotations

import warnings
from datetime import timedelta
from pathlib import Path

from reports.summary import Summary
from reports.turns import Outcome

OUTCOMES_PLOT = "outcomes-by-day.png"
TOPICS_PLOT = "answers-by-topic.png"
# Okabe-Ito colours, told apart with any colour vision; each outcome keeps its colour.
COLOURS = {
    Outcome.ANSWERED: "#009E73",
    Outcome.FALLBACK: "#E69F00",
    Outcome.OUT_OF_SCOPE: "#F0E442",
    Outcome.NO_FACTS: "#CC79A7",
    Outcome.COULD_NOT_LOOK_UP: "#000000",
    Outcome.ADVICE: "#56B4E9",
    Outcome.EMERGENCY: "#D55E00",
    Outcome.OTHER: "#999999",
}
TRIAL_COLOURS = ["#0072B2", "#56B4E9", "#009E73", "#E69F00", "#CC79A7", "#999999"]


def _pyplot():
    warnings.simplefilter("ignore", DeprecationWarning)  # matplotlib 3.5's use of pyparsing 3
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def draw(summary: Summary, folder: Path) -> dict[str, Path]:
    """Draw the plots into `folder`; their files, by what they show."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "outcomes": outcomes_by_day(summary, folder / OUTCOMES_PLOT),
        "topics": answers_by_topic(summary, folder / TOPICS_PLOT),
    }


def outcomes_by_day(summary: Summary, path: Path) -> Path:
    """One bar a day, of every message that day, split by what it led to."""
    plt = _pyplot()
    first, last = summary.since.date(), (summary.until - timedelta(microseconds=1)).date()
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    figure, axes = plt.subplots(figsize=(9, 4.5))
    bottom = [0] * len(days)
    for outcome, colour in COLOURS.items():
        counts = [summary.per_day.get(day, {}).get(outcome, 0) for day in days]
        if any(counts):
            axes.bar(days, counts, bottom=bottom, color=colour, label=outcome.value, edgecolor="white")
            bottom = [below + count for below, count in zip(bottom, counts, strict=True)]
    axes.set_ylabel("messages from patients")
    axes.set_title(f"What each day's messages led to, {first} to {last} (UTC)")
    axes.yaxis.get_major_locator().set_params(integer=True)
    if any(bottom):
        axes.legend(loc="upper left", fontsize="small", frameon=False)
    else:
        axes.text(0.5, 0.5, "no messages in this period", transform=axes.transAxes, ha="center")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def answers_by_topic(summary: Summary, path: Path) -> Path:
    """One bar a topic, split by the trial the answer was about, the most asked on top."""
    plt = _pyplot()
    topics = sorted(summary.answered_by_topic, key=lambda topic: (summary.answered_by_topic[topic], topic))
    figure, axes = plt.subplots(figsize=(8, 1.2 + 0.4 * max(len(topics), 1)))
    left = [0] * len(topics)
    for index, trial in enumerate(summary.trials):
        counts = [summary.answered_by_topic_and_trial.get((topic, trial), 0) for topic in topics]
        colour = TRIAL_COLOURS[index % len(TRIAL_COLOURS)]
        axes.barh(topics, counts, left=left, color=colour, label=trial, edgecolor="white")
        left = [before + count for before, count in zip(left, counts, strict=True)]
    axes.set_xlabel("answers (an answer about several trials counts under each)")
    axes.set_title("Questions answered, by topic and trial")
    axes.xaxis.get_major_locator().set_params(integer=True)
    if topics:
        axes.legend(loc="lower right", fontsize="small", frameon=False)
    else:
        axes.text(0.5, 0.5, "no questions answered in this period", transform=axes.transAxes, ha="center")
        axes.set_yticks([])
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
