"""The report as Markdown, in the manner of docs/benchmarks.md: a table of the figures, the plots
beside it, then each part in turn, and how each figure was counted.

A patient's words appear in one place only, the unanswered questions, already masked
(`reports.summary`); here they are escaped too, so that no Markdown or HTML in them can make a
link, an image or a heading of the report.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from actions.topics import QUESTION_PREFIX, TOPIC_TITLES
from reports import feedback, masking
from reports.feedback import FeedbackRow
from reports.summary import NO_TRIAL, Summary
from reports.turns import DEFINITION

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")
_MARKERS = "|".join(re.escape(marker[1:-1]) for marker in masking.MARKERS)
_ESCAPED_MARKER = re.compile(rf"\\\[({_MARKERS})\\\]")


def escaped(text: str) -> str:
    """Patient's words as plain text in a Markdown table cell: every character Markdown or HTML
    would act on escaped, on one line; the masking's markers ("[email]") left readable."""
    flat = " ".join(text.split())
    return _ESCAPED_MARKER.sub(r"[\1]", _MARKDOWN.sub(r"\\\1", flat))


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "no messages"


def _topic(topic: str) -> str:
    title = TOPIC_TITLES.get(f"{QUESTION_PREFIX}{topic}")
    return f"`{topic}` ({title})" if title else f"`{topic}`"


def markdown(
    summary: Summary,
    store: str,
    made: datetime,
    retention_days: int,
    plots: dict[str, Path],
    feedback_rows: list[FeedbackRow] | None,
    review_section: str,
) -> str:
    """The whole report. `plots` are the PNG files beside it; `review_section` is Markdown."""
    parts = [
        _heading(summary, store, made),
        _in_short(summary, plots),
        _answered(summary, plots),
        _unanswered(summary, retention_days),
        _emergencies(summary),
        _advice(summary),
        _feedback(feedback_rows),
        review_section.strip() + "\n",
        _how_counted(),
    ]
    return "\n".join(parts)


def _heading(summary: Summary, store: str, made: datetime) -> str:
    return (
        "# What patients asked: the content team's report\n\n"
        f"Messages sent from {_when(summary.since)} up to {_when(summary.until)}, read from the "
        f"conversation store ({store}) on {_when(made)} by `make report` (`python -m reports`). "
        "Every figure is counted from the stored conversations. No conversation is named, and "
        "what patients wrote is quoted only for questions left unanswered, masked.\n"
    )


def _in_short(summary: Summary, plots: dict[str, Path]) -> str:
    rate = _share(summary.fallbacks, summary.turns)
    rows = [
        ("conversations", summary.conversations),
        ("messages from patients (turns)", summary.turns),
        ("questions answered", summary.answered),
        ("fallbacks", summary.fallbacks),
        ("fallback rate", f"{rate} ({summary.fallbacks} of {summary.turns} messages)"),
        ("questions left unanswered", summary.unanswered_count),
        ("emergencies escalated", summary.emergencies),
        ("personal advice declined", summary.advice_refusals),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    return (
        "## In short\n\n| | count |\n|---|---|\n"
        f"{table}\n\n"
        f"![What each day's messages led to]({plots['outcomes'].name})\n"
    )


def _answered(summary: Summary, plots: dict[str, Path]) -> str:
    lines = ["## Questions answered, by topic and trial\n"]
    if not summary.answered_by_topic:
        lines.append("No question was answered in this period.\n")
    else:
        trials = summary.trials
        lines.append("| topic | " + " | ".join(f"`{trial}`" for trial in trials) + " | answers |")
        lines.append("|---" * (len(trials) + 2) + "|")
        for topic, count in sorted(summary.answered_by_topic.items(), key=lambda item: (-item[1], item[0])):
            cells = [str(summary.answered_by_topic_and_trial.get((topic, trial), 0)) for trial in trials]
            lines.append(f"| {_topic(topic)} | " + " | ".join(cells) + f" | {count} |")
        notes = [
            "The trial is the one the answer was about (the slot `trial` the answer set). An answer "
            'about several trials side by side counts under each of them, and once under "answers". '
            "An answer to two questions in one message counts under the last topic."
        ]
        if NO_TRIAL in trials:
            notes.append(
                f"`{NO_TRIAL}`: an answer the same for every trial (the medicines, the risks overall)."
            )
        if DEFINITION in summary.answered_by_topic:
            notes.append(f"`{DEFINITION}`: a word explained from the glossary.")
        lines.append("\n" + " ".join(notes) + "\n")
    lines.append(f"![Questions answered, by topic and trial]({plots['topics'].name})\n")
    return "\n".join(lines)


def _unanswered(summary: Summary, retention_days: int) -> str:
    lines = [
        "## Fallbacks and questions left unanswered\n",
        f"Fallbacks: {summary.fallbacks} of {summary.turns} messages "
        f"({_share(summary.fallbacks, summary.turns)}). Of these, {summary.fallbacks_resolved} ended "
        "in an answer after all (the patient picked a topic the assistant suggested, or said the "
        "question again); the others are among the questions left unanswered.\n",
    ]
    if not summary.unanswered_by_reason:
        lines.append("No question was left unanswered in this period.\n")
        return "\n".join(lines)
    lines.append("| why | questions |\n|---|---|")
    for reason, count in sorted(summary.unanswered_by_reason.items(), key=lambda item: (-item[1], item[0])):
        lines.append(f"| {reason} | {count} |")
    lines.append("\n### In patients' words\n")
    retained = summary.retained_since
    lines.append(
        "Names, email addresses, phone numbers, NHS-style numbers, postcodes and dates are masked, "
        "as `[name]`, `[email]`, `[phone]` and so on. Masking catches the obvious, not everything: "
        "check before sharing further. Quoted only for messages the conversation store may still hold "
        f"(`CONVERSATION_RETENTION_DAYS`: {retention_days} days, so since {_when(retained)}).\n"
    )
    if summary.unanswered:
        lines.append("| day | why | what was asked |\n|---|---|---|")
        for question in summary.unanswered:
            lines.append(f"| {question.day} | {question.reason} | {escaped(question.text)} |")
        lines.append("")
    if summary.older_than_retention:
        lines.append(
            f"{summary.older_than_retention} older than the retention period: counted, not quoted.\n"
        )
    if summary.withheld_possible_emergencies:
        lines.append(
            f"{summary.withheld_possible_emergencies} withheld: the red-flag rules or the model took "
            f"{'it' if summary.withheld_possible_emergencies == 1 else 'them'} for a possible emergency, "
            "whose words this report never shows.\n"
        )
    return "\n".join(lines)


def _emergencies(summary: Summary) -> str:
    return (
        "## Emergencies escalated\n\n"
        f"{summary.emergencies} {'message was' if summary.emergencies == 1 else 'messages were'} given "
        "the urgent-help reply. Counted only: what people wrote about an emergency is never shown.\n"
    )


def _advice(summary: Summary) -> str:
    return (
        "## Personal advice declined\n\n"
        f"{summary.advice_refusals} {'request' if summary.advice_refusals == 1 else 'requests'} for "
        "personal medical advice kindly declined, with the trial facts that bear on it and a "
        "pointer to the person's MS team.\n"
    )


def _feedback(rows: list[FeedbackRow] | None) -> str:
    if rows is None:
        return f"## Feedback by topic\n\n{feedback.NOT_CONFIGURED}\n"
    topics = feedback.by_topic(rows)
    if not topics:
        return "## Feedback by topic\n\nNo feedback was given in this period.\n"
    lines = [
        "## Feedback by topic\n",
        "| topic | helpful | not helpful | reasons given |",
        "|---|---|---|---|",
    ]
    for topic in topics:
        reasons = ", ".join(f"{reason} ({count})" for reason, count in topic.reasons.most_common())
        lines.append(f"| {_topic(topic.topic)} | {topic.helpful} | {topic.not_helpful} | {reasons} |")
    return "\n".join(lines) + "\n"


def _how_counted() -> str:
    return (
        "## How this was counted\n\n"
        "Each message a patient sent is one turn; what it led to is read from the events Rasa "
        "stored for it, never from its words (`reports/turns.py`): the urgent-help reply "
        "(`utter_urgent_help`) is an emergency escalated; `action_personal_advice`, advice declined; "
        "`action_answer_question` setting the slot `topic` (with the slot `trial`), or "
        "`action_define_term` explaining a word, a question answered; the intent `nlu_fallback`, "
        "the two-stage fallback (`action_two_stage_fallback`) ending in no answer, "
        "`action_default_fallback`, or a follow-up with no topic, a fallback; `action_out_of_scope`, "
        "a question outside what it covers; the slot `topic` set to nothing, or a word the glossary "
        "lacks, no facts in the store; `utter_cannot_look_up`, a failed look-up. A conversation is "
        "counted if it sent a message in the period. The fallback rate is fallbacks over messages.\n"
    )
