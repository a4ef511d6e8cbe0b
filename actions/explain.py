"""Questions about the answer just given: "is that a lot?", "what does that mean?", "could it be
chance?". Each is answered from the same rows as that answer, said again in plainer terms: each
group's figure as people in 100 (a yearly rate as relapses among 100 people in a year),
the difference between the groups in the same terms, and whether it could be due to chance.
"""

from __future__ import annotations

from actions import phrasing
from actions.answers import (
    Reply,
    experimental_did_better,
    experimental_treatment,
    headline_results,
    say_after_a_risk,
    say_caveat,
    say_endpoint,
)
from actions.asked import CHANCE, JUDGEMENT
from actions.models import Comparison, Endpoint, Result, Treatment, Trial
from actions.store import KnowledgeStore
from actions.topics import TESTED_AS

PER = phrasing.PER
UNITS_IN_HUNDREDS = ("percent", "per person per year")
NO_TEST_FOR_THESE = "My sources give no test of chance for these figures."
NO_TEST_OF_CHANCE = f"{NO_TEST_FOR_THESE} So I can't say if this difference could be due to chance."
TESTED_ON_A_LINKED_FIGURE = f"{NO_TEST_FOR_THESE} But there is one for a closely linked figure. Here it is."
JUDGING = (
    "Is that a lot for you? That depends on your own MS. It also depends on the risks of each "
    "medicine. Your MS team can help you weigh it up."
)


def explain_last_answer(
    store: KnowledgeStore, trial: Trial, topic: str, treatment: Treatment | None, wants: str
) -> list[str] | None:
    """The last answer's figures on `topic` in plain terms; None when it had no figures."""
    if wants == CHANCE:
        return how_sure(store, [trial], topic, treatment)
    endpoints = [e for e in store.endpoints_on(trial, topic) if any(r.value is not None for r in e.results)]
    if not endpoints:
        return None
    asked_about = treatment if treatment is not None and store.arms_for(trial, treatment) else None
    lead = asked_about or experimental_treatment(trial)
    reply = Reply()
    reply.say(f"Here is what those figures from the {trial.name} trial mean.")
    for endpoint in endpoints:
        headline = phrasing.arms_in_order(headline_results(endpoint), lead.id if lead else None)
        figures = [result for result in headline if result.value is not None]
        unclear = [c for c in endpoint.comparisons if phrasing.is_significant(c) is False]
        # A difference that could be chance is said first, so the figures are not read as a benefit.
        sentences = [phrasing.sentence(phrasing.no_clear_difference(endpoint))] if unclear else []
        sentences += _in_every_hundred(endpoint, figures)
        sentences.append(_difference(endpoint, figures))
        for comparison in endpoint.comparisons:
            if comparison.relative_change is not None and wants != CHANCE:
                sentences.append(
                    f"The {phrasing.number(abs(comparison.relative_change))}% is a relative figure. It "
                    "compares the two groups. The figures out of 100 are the plain numbers."
                )
            sentences.append(_chance(endpoint, comparison, detailed=wants == CHANCE))
        reply.say(" ".join(filter(None, sentences)), *headline, *endpoint.comparisons)
    if wants == CHANCE and not any(endpoint.comparisons for endpoint in endpoints):
        reply.say(NO_TEST_OF_CHANCE)
    if wants == JUDGEMENT:
        reply.say(JUDGING)
    if any(endpoint.category == "efficacy" for endpoint in endpoints):
        say_caveat(reply, store, trial)
    else:
        # "Is that a lot?" after the infections: a nurse would still name the other risks.
        say_after_a_risk(reply, store, trial, topic)
    return reply.messages()


def how_sure(
    store: KnowledgeStore, trials: list[Trial], topic: str, treatment: Treatment | None
) -> list[str] | None:
    """ "How sure is this?": every result on the topic in full, for each trial asked about, as
    the short answer left it out: each group's count, other ways of counting, the interval and
    what it means, the relative figure beside the plain numbers, and whether the difference
    could be due to chance. Then one safety note, and the sources of it all. None when no trial
    has figures on the topic."""
    reply = Reply()
    benefit, tested = False, False
    for trial in trials:
        endpoints = [
            e for e in store.endpoints_on(trial, topic) if any(r.value is not None for r in e.results)
        ]
        if not endpoints:
            continue
        asked_about = treatment if treatment is not None and store.arms_for(trial, treatment) else None
        reply.say(f"Here is how sure we can be about these figures from the {trial.name} trial.")
        for endpoint in endpoints:
            say_endpoint(reply, trial, endpoint, asked_about)
        linked = [] if any(e.comparisons for e in endpoints) else _tested_instead(store, trial, topic)
        if linked:
            reply.say(TESTED_ON_A_LINKED_FIGURE)
            for endpoint in linked:
                say_endpoint(reply, trial, endpoint, asked_about)
        benefit = benefit or any(endpoint.category == "efficacy" for endpoint in [*endpoints, *linked])
        tested = tested or any(endpoint.comparisons for endpoint in [*endpoints, *linked])
    if not reply.paragraphs:
        return None
    if not tested:
        reply.say(NO_TEST_OF_CHANCE)
    if benefit:
        say_caveat(reply, store, trials[0], name_the_trial=len(trials) > 1)
    else:
        say_after_a_risk(reply, store, trials[0], topic, name_the_trial=len(trials) > 1)
    return reply.messages()


def _tested_instead(store: KnowledgeStore, trial: Trial, topic: str) -> list[Endpoint]:
    """The trial's endpoints tested for chance on the topic this one is `tested_as`."""
    linked = TESTED_AS.get(topic)
    if linked is None:
        return []
    return [e for e in store.endpoints_on(trial, linked) if e.comparisons]


def _in_every_hundred(endpoint: Endpoint, figures: list[Result]) -> list[str]:
    """Each group's figure as people out of 100, or a yearly rate as events among 100 people."""
    percents = [result for result in figures if result.unit == "percent"]
    rates = [result for result in figures if result.unit == "per person per year"]
    sentences = []
    if percents:
        first, *others = percents
        people = phrasing.in_every_hundred(first.value)
        happened = f"{endpoint.outcome_phrase} ({phrasing.number(first.value)}%)"
        if others:
            sentences.append(f"Think of {PER} people in each group.")
            sentences.append(f"In the group on {first.arm.name}, about {people} {happened}.")
        else:
            sentences.append(f"Think of {PER} people on {first.arm.name}.")
            sentences.append(f"About {people} of them {happened}.")
        sentences.extend(
            f"In the group on {other.arm.name}, about {phrasing.in_every_hundred(other.value)} did "
            f"({phrasing.number(other.value)}%)."
            for other in others
        )
    for result in rates:
        sentences.append(
            f"On {result.arm.name}, people had {phrasing.number(result.value)} {endpoint.outcome_phrase} "
            f"on average. So {PER} people on it had about {phrasing.in_every_hundred(result.value * PER)} "
            f"{endpoint.outcome_phrase} in all."
        )
    sentences.extend(
        phrasing.describe_result(endpoint, result)
        for result in figures
        if result.unit not in UNITS_IN_HUNDREDS
    )
    return sentences


def _difference(endpoint: Endpoint, figures: list[Result]) -> str:
    """The gap between the first two groups, in the same plain terms."""
    counted = [result for result in figures if result.unit in UNITS_IN_HUNDREDS]
    if len(counted) < 2 or counted[0].unit != counted[1].unit:
        return ""
    first, second = counted[0], counted[1]
    scale = PER if first.unit == "per person per year" else 1
    gap = phrasing.in_every_hundred(abs(first.value - second.value) * scale)
    if gap == 0:
        return f"That is about the same on {first.arm.name} and on {second.arm.name}."
    fewer = "fewer" if first.value < second.value else "more"
    if first.unit == "per person per year":
        events = endpoint.outcome_phrase
        return f"So it was about {gap} {fewer} {events} for every {PER} people on {first.arm.name}."
    return f"So it was about {gap} {fewer} in {PER} on {first.arm.name}."


def _chance(endpoint: Endpoint, comparison: Comparison, detailed: bool) -> str:
    significant = phrasing.is_significant(comparison)
    if detailed:
        return phrasing.verdict(comparison)
    if significant is True:
        better = experimental_did_better(endpoint, comparison)
        how = (
            ""
            if better is None
            else f" So {comparison.experimental_arm.name} did {'better' if better else 'worse'}."
        )
        return f"A difference this big is unlikely to be due to chance.{how}"
    if significant is False:
        return (
            "But a difference this small could be due to chance. So the trial did not show that "
            f"{comparison.experimental_arm.name} was better on this."
        )
    return ""
