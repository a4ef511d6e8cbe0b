"""What happened after the trials: answers from a trial's follow-up study (extension study).

A follow-up's figures are of another kind than the trial's. It had no comparison group, it counts
only the people who chose to carry on, and extra treatment was allowed. So it cannot show that
the medicine caused what happened. Every message here that holds a follow-up figure says so
first (`limits`), and these figures are never put beside the trial's own comparison: the 2-year
answers come from the trial's endpoints, these from the follow-up's own tables.
"""

from __future__ import annotations

import re
from typing import Sequence

from actions import phrasing
from actions.answers import TALK_TO_YOUR_TEAM, Reply, about_benefits, say_caveat
from actions.asked import CHANCE, JUDGEMENT
from actions.models import FollowUp, FollowUpMeasure, Treatment, Trial
from actions.phrasing import sentence
from actions.store import KnowledgeStore
from actions.topics import LONG_TERM

# The topics a question about later years can ask, and the follow-up measures' topic answering
# each. A topic not here ("side effects later on?") is answered as usual.
MEASURE_TOPIC = {
    LONG_TERM: None,  # everything the follow-up counted
    "results": None,
    "trial_overview": None,
    "relapse": "relapse_rate",
    "relapse_free": "relapse_rate",
    "relapse_rate": "relapse_rate",
    "disability": "disability",
    "participants": "participants",
    "how_given": "further_courses",
}
# Words that ask for one measure, for a message the model understood only as "after the trials".
MEASURE_WORDS = {
    "further_courses": re.compile(
        r"\b(more|another|extra|further|third|top[\s-]?up|repeat|again)\s+"
        r"(\w+\s+)?(course|courses|infusion|infusions|drip|drips|dose|doses|treatment|round|rounds)\b"
        r"|\bre-?treat|\bneed(ed)?\s+it\s+again\b",
        re.IGNORECASE,
    ),
    "disease_activity": re.compile(
        r"\bno\s+evidence\s+of\s+(disease\s+)?activity\b|\bneda\b|\bdisease\s+activity\b"
        r"|\b(signs?|evidence)\s+of\s+(ms\s+)?activity\b",
        re.IGNORECASE,
    ),
    "participants": re.compile(
        r"\bhow\s+many\s+(people\s+)?(stayed|carried\s+on|continued|joined|dropped\s+out)\b",
        re.IGNORECASE,
    ),
}
NOT_COUNTED = "I don't have checked facts on what happened after the {trial} trial, so I won't guess."
NO_COMPARISON_TO_JUDGE = (
    "I can't say if these figures are good or bad. This part had no comparison group, so there is "
    "nothing fair to measure them against, and no test of chance."
)


def limits(follow_up: FollowUp, trial: Trial) -> str:
    """What these figures cannot show, said with every one of them."""
    others = [arm.name for arm in trial.arms if arm.role == "comparator"]
    compared = f" And they do not compare it with {phrasing.listing(others)}." if others else ""
    extra = f" {sentence(follow_up.extra_treatment)}" if follow_up.extra_treatment else ""
    return (
        f"Please read these figures with care. This part had no comparison group. It counts only "
        f"{follow_up.who_is_counted}.{extra} So it cannot show that {follow_up.arm.treatment.name} "
        f"caused these results.{compared}"
    )


def measure_topics(topics: Sequence[str], text: str = "") -> set[str] | None:
    """The follow-up measures asked for; None for all of them."""
    wanted = {measure for topic in topics if (measure := MEASURE_TOPIC.get(topic)) is not None}
    wanted.update(topic for topic, words in MEASURE_WORDS.items() if words.search(text))
    return wanted or None


def answers_later(topic: str) -> bool:
    """Whether a question about later years on `topic` is answered from the follow-ups."""
    return topic in MEASURE_TOPIC


def compose_long_term(
    store: KnowledgeStore,
    trials: Sequence[Trial],
    treatment: Treatment | None = None,
    topics: Sequence[str] = (LONG_TERM,),
    text: str = "",
    wants: str = "",
) -> list[str]:
    """What happened after each trial asked about (the default one when none is), from its
    follow-up: the measures asked for, or all of them, then the safety note and the sources."""
    asked = list(trials) or [store.trial()]
    wanted = measure_topics(topics, text)
    reply = Reply()
    said_figures = False
    for trial in asked:
        follow_ups = store.follow_ups(trial)
        if not follow_ups:
            reply.say(NOT_COUNTED.format(trial=trial.name))
        for follow_up in follow_ups:
            if treatment is not None and treatment is not follow_up.arm.treatment:
                _not_followed(reply, follow_up, treatment)
            if wants in (JUDGEMENT, CHANCE):
                reply.say(f"{limits(follow_up, trial)} {NO_COMPARISON_TO_JUDGE}", follow_up)
                continue
            _say_follow_up(reply, follow_up, trial, wanted)
            said_figures = True
    if said_figures:
        say_caveat(reply, store, asked[0], name_the_trial=len(asked) > 1)
    else:
        reply.say(TALK_TO_YOUR_TEAM)
    return reply.messages()


def offers_follow_up(store: KnowledgeStore, trials: Sequence[Trial], topics: Sequence[str]) -> bool:
    """Whether an answer on these topics can offer what happened after the trials: it gave a
    trial's results on a benefit, and the trial has a follow-up."""
    return any(store.follow_ups(trial) and about_benefits(store, [trial], topics) for trial in trials)


def _not_followed(reply: Reply, follow_up: FollowUp, treatment: Treatment) -> None:
    reply.say(
        f"Only people on {follow_up.arm.name} were counted in the {follow_up.trial.name} follow-up. "
        f"So I have no figures for {treatment.name} after the trial. I won't guess. But here is "
        "what happened to the people who were counted.",
        follow_up,
    )


def _say_follow_up(reply: Reply, follow_up: FollowUp, trial: Trial, wanted: set[str] | None) -> None:
    measures = [m for m in follow_up.measures if wanted is None or m.topic in wanted]
    lead = f"Here is what happened after the {trial.name} trial. {sentence(follow_up.design)}"
    if not measures:
        lead += " It did not count what you asked about. This is what it did count."
        measures = list(follow_up.measures)
    lines = [f"{lead} {limits(follow_up, trial)}"]
    lines.extend(f"- {_describe(measure)}" for measure in measures)
    reply.say("\n".join(lines), follow_up, *(r for m in measures for r in m.results))


def _describe(measure: FollowUpMeasure) -> str:
    """One measure in natural frequencies, year by year or over a period, then the exact figures:
    "In year A, about N in 100 people had no signs of MS activity. In year B it was M ...
    (the percentages)". A yearly rate is said as events for every 100 people, then per person."""
    first, *later = measure.results
    is_rate = first.unit == "per person per year"
    counts = [phrasing.in_every_hundred(r.value * (phrasing.PER if is_rate else 1)) for r in measure.results]
    when = phrasing.capitalised(first.period)
    if is_rate:
        said = (
            f"{when}, there were about {counts[0]} {measure.outcome_phrase} for every {phrasing.PER} people."
        )
    else:
        said = f"{when}, {phrasing.people_in_every_hundred(first)} {measure.outcome_phrase}."
    if later:
        verb = "there were" if is_rate else "it was"
        rest = [f"{r.period} {verb} {count}" for r, count in zip(later, counts[1:], strict=True)]
        said += f" {phrasing.capitalised(phrasing.listing(rest))}."
    values = [phrasing.number(r.value) for r in measure.results]
    if is_rate:
        per_person = f"{phrasing.listing(values)} {measure.outcome_phrase} for each person in a year"
        said += f" On average, that is {per_person}."
    else:
        said = f"{said[:-1]} ({phrasing.listing([f'{v}%' for v in values])})."
    return f"{said} {sentence(measure.definition)}" if measure.definition else said
