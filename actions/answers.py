"""Compose the answer to a question on one topic, from the knowledge store.

A topic is what an `ask_<topic>` intent asks about. Topics with figures (relapses,
disability, infections...) are whatever the trial's endpoints and safety findings are filed
under; the others are about the trial's design and the treatments. Every answer ends with a
source line built from the rows it used.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Sequence

from actions import phrasing
from actions.asked import PLACEBO, RESULTS
from actions.models import (
    Arm,
    Comparison,
    ContentReview,
    Endpoint,
    Guidance,
    OtherTrial,
    Result,
    Source,
    Treatment,
    Trial,
)
from actions.phrasing import sentence
from actions.store import KnowledgeStore
from actions.topics import IN_SHORT, LONG_TERM, SAME_IN_EVERY_TRIAL

# A domain response, as the Rasa server also says it when the action server cannot be reached.
STORE_UNAVAILABLE = "utter_cannot_look_up"
NO_KNOWLEDGE = "Sorry, I don't have checked facts on that, so I won't guess."
# What the "no facts" reply suggests instead, each with the topics it covers: never the one
# just asked about, or the reply would contradict itself.
SUGGESTIONS = {
    "relapses": {"relapse", "relapse_free", "relapse_rate", "results"},
    "disability": {"disability", "results"},
    "side effects": {"side_effects", "infusion_reactions", "infections", "autoimmunity"},
    "monitoring": {"monitoring"},
    "how the trial was run": {"participants", "allocation", "primary_endpoints", "trial_overview"},
}
NOT_A_CURE = (
    "These trials did not test if a medicine can cure MS. No one can say that it does. They "
    "counted how often people had relapses. And they checked if their disability got worse."
)
COMPARE_WITHIN_TRIALS = (
    "The two trials had different people in them. So compare the two medicines within one trial "
    "at a time. Don't compare one trial's figures with the other's."
)
TALK_TO_YOUR_TEAM = (
    "Each person is different. Your MS nurse or neurologist can tell you what this means for you."
)


# The knowledge rows the replies composed inside `drawing_on` drew on; None outside it.
_drawn_on: ContextVar[list[object] | None] = ContextVar("drawn_on", default=None)


@contextmanager
def drawing_on() -> Iterator[list[object]]:
    """Collect the rows every reply composed inside says something from, in order, so that the
    feedback store can tie an answer to them (actions/feedback.py). The composers need not pass
    them back: each row an answer says something from is already given to `Reply.say`."""
    rows: list[object] = []
    token = _drawn_on.set(rows)
    try:
        yield rows
    finally:
        _drawn_on.reset(token)


@dataclass
class Reply:
    """Paragraphs to send, and the sources of what they say."""

    paragraphs: list[str] = field(default_factory=list)
    cited: list[Source] = field(default_factory=list)
    reviews: list[ContentReview] = field(default_factory=list)

    def say(self, text: str, *rows: object) -> None:
        if text:
            self.paragraphs.append(text)
        for row in rows:
            self.cited.extend(getattr(row, "sources", []))
            review = getattr(row, "review", None)
            if review is not None:
                self.reviews.append(review)
        drawn = _drawn_on.get()
        if drawn is not None:
            drawn.extend(rows)

    def extend(self, other: Reply) -> None:
        self.paragraphs.extend(other.paragraphs)
        self.cited.extend(other.cited)
        self.reviews.extend(other.reviews)

    def messages(self) -> list[str]:
        """The paragraphs as messages, the source line ending the last one: fewer bubbles to read,
        and the source stays under what it backs. It says when those facts were last checked."""
        line = phrasing.source_line(self.cited)
        if line and self.reviews:
            line = f"{line} {phrasing.review_line(self.reviews)}"
        if not line:
            return list(self.paragraphs)
        if not self.paragraphs:
            return [line]
        return [*self.paragraphs[:-1], f"{self.paragraphs[-1]}\n{line}"]


Composer = Callable[[KnowledgeStore, Trial, Treatment | None], Reply]

# Topics that, asked of several trials at once, put their main results side by side.
SUMMARY_TOPICS = frozenset({"trial_overview", "results"})


def compose_answer(
    store: KnowledgeStore,
    topic: str,
    treatment: Treatment | None = None,
    text: str = "",
    trials: Sequence[Trial] = (),
) -> list[str] | None:
    """The messages answering `topic`, or None when the store knows nothing on it.

    `trials` are the trials the question is about. With none, the answer is for the default
    trial (the quick replies under it offer the others); with several, they are put side by
    side. A question whose `text` names a trial with no results here, or that asks about a
    medicine these trials did not test, gets the honest refusal instead (see `scope_refusal`).
    """
    refusal = scope_refusal(store, treatment, text, trials)
    if refusal is not None:
        return refusal
    if topic in SAME_IN_EVERY_TRIAL:
        return DESIGN_COMPOSERS[topic](store, store.trial(), treatment).messages()
    if not is_known_topic(store, topic):
        return None
    if len(trials) > 1:
        return _several_trials(store, list(trials), topic, treatment).messages()
    trial = trials[0] if trials else store.trial()
    if not has_answer(store, trial, topic):
        return _from_another_trial(store, trial, topic, treatment).messages()
    return _compose(store, trial, topic, treatment, text).messages()


def no_knowledge(topic: str | None) -> str:
    """ "No checked facts on that", and what the person could ask instead."""
    others = [words for words, topics in SUGGESTIONS.items() if topic not in topics]
    return f"{NO_KNOWLEDGE} You can ask me about {phrasing.listing(others)}."


def about_benefits(store: KnowledgeStore, trials: Sequence[Trial], topics: Sequence[str]) -> bool:
    """Whether an answer on `topics` gives a treatment's benefits in one of `trials`: the main
    results, or a measure of efficacy. Such an answer is short first, carries the safety note,
    and offers more."""
    return any(
        topic == RESULTS or any(e.category == "efficacy" for e in store.endpoints_on(trial, topic))
        for trial in trials
        for topic in topics
    )


def is_known_topic(store: KnowledgeStore, topic: str) -> bool:
    return topic in DESIGN_COMPOSERS or any(has_answer(store, trial, topic) for trial in store.trials())


def has_answer(store: KnowledgeStore, trial: Trial, topic: str) -> bool:
    """Whether `trial` holds anything that answers `topic`."""
    if topic == "how_given":
        return any(arm.schedule for arm in trial.arms)
    if topic == "higher_dose_group":
        return any(arm.role == "exploratory" for arm in trial.arms)
    if topic == LONG_TERM:
        return bool(store.follow_ups(trial))
    if topic in DESIGN_COMPOSERS:
        return True
    return topic in store.topics(trial)


def trials_answered(store: KnowledgeStore, topic: str, trials: Sequence[Trial]) -> list[Trial]:
    """The trials an answer on `topic` was about, to remember for the next question."""
    if topic in SAME_IN_EVERY_TRIAL:
        return list(trials)
    return list(trials) or [store.trial()]


def _compose(
    store: KnowledgeStore, trial: Trial, topic: str, treatment: Treatment | None, text: str = ""
) -> Reply:
    composer = DESIGN_COMPOSERS.get(topic)
    return composer(store, trial, treatment) if composer else _outcome(store, trial, topic, treatment, text)


def other_trials_on(store: KnowledgeStore, trial: Trial, topic: str) -> list[Trial]:
    """The trials besides `trial` that hold something on `topic`, the default first."""
    return [other for other in store.trials() if other is not trial and has_answer(store, other, topic)]


def all_the_trials(store: KnowledgeStore) -> str:
    """How to say "every trial": "both trials" when there are two."""
    return "both trials" if len(store.trials()) == 2 else "all the trials"


def _who_took_part(trials: Sequence[Trial]) -> str:
    return sentence(" ".join(f"{trial.name} included {trial.population}." for trial in trials))


def _from_another_trial(
    store: KnowledgeStore, trial: Trial, topic: str, treatment: Treatment | None
) -> Reply:
    """A trial with nothing on `topic`: say so, then give what the other trials have."""
    reply = Reply()
    reply.say(f"I don't have checked facts on this from the {trial.name} trial, so I won't guess.")
    others = other_trials_on(store, trial, topic)
    if not others:
        reply.say(TALK_TO_YOUR_TEAM)
        return reply
    reply.say(f"Here is what the {others[0].name} trial found.")
    reply.extend(_compose(store, others[0], topic, treatment))
    return reply


def _several_trials(
    store: KnowledgeStore, trials: list[Trial], topic: str, treatment: Treatment | None
) -> Reply:
    """One topic in several trials: results side by side where they measured the same thing,
    otherwise each trial's answer in turn."""
    keys = _endpoints_side_by_side(trials, topic, store)
    reply = Reply()
    if not keys:
        for trial in trials:
            if has_answer(store, trial, topic):
                reply.extend(_compose(store, trial, topic, treatment))
            else:
                reply.say(f"I don't have checked facts on this from the {trial.name} trial.")
        return reply

    reply.say(f"Here are the trials side by side. {_who_took_part(trials)}", *trials)
    lead = treatment or experimental_treatment(trials[0])
    for key in keys:
        lines: list[str] = []
        rows: list[object] = []
        title = ""
        for trial in trials:
            endpoint = next((e for e in trial.endpoints if e.key == key), None)
            if endpoint is None:
                lines.append(f"- {trial.name}: I don't have checked figures on this.")
                continue
            title = title or endpoint.plain_name  # its everyday name: the papers' are jargon
            headline = phrasing.arms_in_order(headline_results(endpoint), lead.id if lead else None)
            said = [phrasing.figures_side_by_side(endpoint, headline)]
            said.extend(phrasing.verdict(comparison) for comparison in endpoint.comparisons)
            lines.append(f"- {trial.name}: {' '.join(filter(None, said))}")
            rows.extend([*headline, *endpoint.comparisons])
        reply.say(f"{sentence(title)}\n" + "\n".join(lines), *rows)
    if topic in SUMMARY_TOPICS:
        for trial in trials:
            reply.say(_conclusion(trial, name_the_trial=True), trial)
    reply.say(COMPARE_WITHIN_TRIALS)
    if topic in SUMMARY_TOPICS or any(
        e.category == "efficacy" for t in trials for e in t.endpoints if e.key in keys
    ):
        say_caveat(reply, store, trials[0], name_the_trial=True)
    else:
        say_after_a_risk(reply, store, trials[0], topic, name_the_trial=True)
    return reply


def _endpoints_side_by_side(trials: list[Trial], topic: str, store: KnowledgeStore) -> list[str]:
    """The keys of the endpoints to put side by side, in the first trial's order.

    For a summary, the efficacy endpoints every trial measured; for one topic, every endpoint on
    it that any of the trials measured. Endpoints measuring the same thing share a key.
    """
    keys: list[str] = []
    for trial in trials:
        if topic in SUMMARY_TOPICS:
            endpoints = [e for e in trial.endpoints if e.category == "efficacy"]
        else:
            endpoints = store.endpoints_on(trial, topic)
        keys.extend(endpoint.key for endpoint in endpoints if endpoint.key not in keys)
    if topic in SUMMARY_TOPICS:
        keys = [key for key in keys if all(any(e.key == key for e in t.endpoints) for t in trials)]
    return keys


def headline_results(endpoint: Endpoint) -> list[Result]:
    """An endpoint's main results: those of its first kind of estimate, and any not labelled."""
    estimates = [result.estimate for result in endpoint.results if result.estimate is not None]
    first = estimates[0] if estimates else None
    return [result for result in endpoint.results if result.estimate in (first, None)]


def _outcome(
    store: KnowledgeStore, trial: Trial, topic: str, treatment: Treatment | None, text: str = ""
) -> Reply:
    reply = Reply()
    endpoints = store.endpoints_on(trial, topic)
    benefit = any(endpoint.category == "efficacy" for endpoint in endpoints)
    if benefit:
        # Short first: the main result in brief. The interval, the other ways of counting, the
        # relative figure and any other measure on the topic are behind "How sure is this?".
        for endpoint in brief_endpoints(endpoints, text):
            _say_endpoint_briefly(reply, trial, endpoint, treatment)
    else:
        for endpoint in endpoints:
            say_endpoint(reply, trial, endpoint, treatment)
    experimental = experimental_treatment(trial)
    for finding in store.findings(trial, topic):
        reply.say(finding.statement, finding)
    said_guidance = store.guidance(experimental, topic) if experimental else []
    for guidance in said_guidance:
        reply.say(guidance.text, guidance)
    if benefit:
        say_caveat(reply, store, trial)
        return reply
    say_after_a_risk(reply, store, trial, topic, said_guidance)
    return reply


def say_after_a_risk(
    reply: Reply,
    store: KnowledgeStore,
    trial: Trial,
    topic: str,
    said: Sequence[Guidance] = (),
    name_the_trial: bool = False,
) -> None:
    """How an answer on one risk ends: the other risks in brief, the checks that catch harm
    early (those not `said` already), and the pointer to the MS team."""
    experimental = experimental_treatment(trial)
    if experimental is not None:
        say_caveat(reply, store, trial, name_the_trial, answered=topic)
        for guidance in store.guidance(experimental, in_caveat=True):
            if guidance not in said:
                reply.say(guidance.text, guidance)
    reply.say(TALK_TO_YOUR_TEAM)


def brief_endpoints(endpoints: list[Endpoint], text: str = "") -> list[Endpoint]:
    """The endpoints a short answer on a benefit gives: those the question names ("the
    disability score", "EDSS"), else its primary ones, else the first."""
    named = [e for e in endpoints if names_endpoint(text, e)]
    return named or [e for e in endpoints if e.is_primary] or endpoints[:1]


def names_endpoint(text: str, endpoint: Endpoint) -> bool:
    """Whether `text` names the endpoint: its everyday name (or its plural), or an abbreviation
    in its name ("EDSS")."""
    everyday = r"\s+".join(map(re.escape, endpoint.plain_name.casefold().split()))
    acronyms = [word for word in endpoint.name.split() if len(word) > 2 and word.isupper()]
    return bool(re.search(rf"\b{everyday}s?\b", text.casefold())) or any(
        re.search(rf"\b{re.escape(word)}\b", text) for word in acronyms
    )


def _say_endpoint_briefly(
    reply: Reply, trial: Trial, endpoint: Endpoint, treatment: Treatment | None
) -> None:
    """One endpoint in a few short sentences: each group's figure, the asked-about group first,
    and whether the difference could be due to chance. A difference that could be chance is
    said first, so the figures are not read as a benefit the trial did not show."""
    lead = treatment or experimental_treatment(trial)
    headline = phrasing.arms_in_order(headline_results(endpoint), lead.id if lead else None)
    unclear = any(phrasing.is_significant(c) is False for c in endpoint.comparisons)
    figures = phrasing.brief_figures(endpoint, headline, say_what=not unclear)
    if unclear:
        verdict = sentence(f"In the {trial.name} trial, {phrasing.no_clear_difference(endpoint)}")
        sentences = [verdict, "It could be due to chance. So it is not proven.", *figures]
    else:
        first = figures[0]
        sentences = [f"In the {trial.name} trial, {first[0].lower()}{first[1:]}", *figures[1:]]
        sentences.extend(phrasing.brief_verdict(comparison) for comparison in endpoint.comparisons)
    reply.say(" ".join(filter(None, sentences)), *headline, *endpoint.comparisons)


def say_endpoint(reply: Reply, trial: Trial, endpoint: Endpoint, treatment: Treatment | None) -> None:
    """One endpoint's figures, other ways of counting them, and what the comparison means.

    When a comparison could be due to chance, the answer leads with that verdict, so the
    figures that follow are not read as a benefit the trial did not show.
    """
    lead = treatment or experimental_treatment(trial)
    asked = lead.id if lead else None
    headline = phrasing.arms_in_order(headline_results(endpoint), asked)
    other_estimates: list[str] = []
    for result in endpoint.results:
        if result not in headline and result.estimate not in other_estimates:
            other_estimates.append(result.estimate)

    unclear = [c for c in endpoint.comparisons if phrasing.is_significant(c) is False]
    sentences = []
    if unclear:
        sentences.append(sentence(f"In the {trial.name} trial, {phrasing.no_clear_difference(endpoint)}"))
    for index, result in enumerate(headline):
        said = phrasing.describe_result(endpoint, result, first=index == 0)
        if index == 0 and not unclear:
            said = f"In the {trial.name} trial, {said[0].lower()}{said[1:]}"
        sentences.append(said)
    for estimate in other_estimates:
        others = phrasing.arms_in_order([r for r in endpoint.results if r.estimate == estimate], asked)
        sentences.append(phrasing.describe_other_estimate(endpoint, estimate, others))
    for comparison in endpoint.comparisons:
        sentences.extend(phrasing.describe_comparison(endpoint, comparison, headline))
    reply.say(" ".join(sentences), *endpoint.results, *endpoint.comparisons)


def say_caveat(
    reply: Reply,
    store: KnowledgeStore,
    trial: Trial,
    name_the_trial: bool = False,
    answered: str | None = None,
) -> None:
    """The short safety note under every answer about a treatment's benefits, built from the
    store: the experimental group's first caveat figure on each topic (the drip, infections),
    then each caveat row's short note (autoimmunity and its monthly checks). Everything else is
    in the answer to "the risks in full".

    Under an answer on one risk (`answered`, its topic), the note gives the other risks: that
    topic's rows are left out, and so is the checks' note, which such an answer gives in full. A
    nurse asked about the drip would still mention infections and autoimmunity.

    A trial with no safety figures of its own borrows them from one that has them, and names it
    (as it does under trials side by side, where "the trial" would not say which).
    """
    experimental = experimental_treatment(trial)
    if experimental is None:
        return
    measured = safety_figures_from(store, trial)
    sentences: list[str] = []
    rows: list[object] = []
    figures: list[str] = []
    arm = None
    topics: set[str] = {answered} if answered else set()
    for endpoint in store.caveat_endpoints(measured):
        ordered = _safety_figures(endpoint, experimental)
        # One figure a topic (the first in the file): the others are in the risks in full.
        if not ordered or ordered[0].arm.treatment is not experimental or endpoint.topic in topics:
            continue
        topics.add(endpoint.topic)
        arm = arm or ordered[0].arm
        people = phrasing.in_every_hundred(ordered[0].value)
        figures.append(f"about {people} in {phrasing.PER} {endpoint.outcome_phrase}")
        rows.append(ordered[0])
    if figures and arm is not None:
        # A sentence a figure: short sentences read more easily than one long list.
        if name_the_trial or measured is not trial:
            sentences.append(f"These figures are from the {measured.name} trial.")
        first, *others = figures
        sentences.append(f"On {arm.name}, {first}.")
        sentences.extend(f"{phrasing.capitalised(other)}." for other in others)
    elif answered is None:
        sentences.append(f"{experimental.name} has risks.")
    notes = [row for row in store.findings(measured, in_caveat=True) if row.topic != answered]
    if answered is None:
        notes.extend(store.guidance(experimental, in_caveat=True))
    for row in notes:
        if row.short_note:
            sentences.append(row.short_note)
            rows.append(row)
    if not sentences:
        return
    said = " ".join(sentences)
    if answered is None:
        reply.say(f"Safety note: {said[:1].lower()}{said[1:]}", *rows)
    else:
        reply.say(
            f"{phrasing.capitalised(experimental.name)} has other risks too. Here are the main ones. {said}",
            *rows,
        )


def _safety_figures(endpoint: Endpoint, experimental: Treatment) -> list[Result]:
    """A safety result's percentages, the experimental treatment's first."""
    figures = [r for r in endpoint.results if r.value is not None and r.unit == "percent"]
    return phrasing.arms_in_order(figures, experimental.id)


def _safety_sentences(endpoint: Endpoint, ordered: list[Result]) -> list[str]:
    """The experimental arm's figure as people in every hundred with its percentage (not
    capitalised: it may follow "In the trial, "), then "On B, it was ..." for each other arm."""
    lead, *others = ordered
    return [
        f"{phrasing.people_in_every_hundred(lead)} on {lead.arm.name} "
        f"{endpoint.outcome_phrase} ({phrasing.number(lead.value)}%).",
        *(
            f"On {o.arm.name}, it was {phrasing.people_in_every_hundred(o)} ({phrasing.number(o.value)}%)."
            for o in others
        ),
    ]


def safety_figures_from(store: KnowledgeStore, trial: Trial) -> Trial:
    """`trial` if it has figures for the safety note, else the first trial that has (else `trial`)."""
    candidates = [trial, *(other for other in store.trials() if other is not trial)]
    return next(
        (t for t in candidates if store.caveat_endpoints(t) or store.findings(t, in_caveat=True)), trial
    )


def experimental_treatment(trial: Trial) -> Treatment | None:
    arm = next((arm for arm in trial.arms if arm.role == "experimental"), None)
    return arm.treatment if arm else None


def _main_arms(trial: Trial) -> list[Arm]:
    """The arms of the main comparison, the experimental one first."""
    return sorted(
        (arm for arm in trial.arms if arm.role != "exploratory"), key=lambda arm: arm.role != "experimental"
    )


def _what_was_compared(trial: Trial) -> str:
    """ "The people in this trial had A or B." for the arms of the main comparison: the groups by
    what their people had, which reads more easily than "compared A with B"."""
    names = [arm.name for arm in _main_arms(trial)]
    return f"The people in this trial had {phrasing.listing(names, last='or')}."


def _asked_treatments(trial: Trial, treatment: Treatment | None) -> list[Treatment]:
    """The treatment asked about, or every treatment in the trial's main comparison."""
    if treatment is not None:
        return [treatment]
    treatments: list[Treatment] = []
    for arm in _main_arms(trial):
        if arm.treatment not in treatments:
            treatments.append(arm.treatment)
    return treatments


def scope_refusal(
    store: KnowledgeStore, treatment: Treatment | None, text: str = "", trials: Sequence[Trial] = ()
) -> list[str] | None:
    """The honest reply when a question names a trial, or a medicine, with no results here.

    It is checked before any figure is looked up, so a question about OPERA or placebo is never
    answered with these trials' figures, however the question was understood.
    """
    other = store.find_other_trial(text) if text else None
    if other is not None:
        return not_covered_trial(store, other)
    asked = list(trials) or [store.trial()]
    if treatment is not None and treatment.key == PLACEBO:
        return no_untreated_group(store, treatment).messages()
    if treatment is not None and not any(store.arms_for(trial, treatment) for trial in asked):
        return not_in_trial(asked[0], treatment).messages()
    return None


def no_untreated_group(store: KnowledgeStore, placebo: Treatment) -> Reply:
    """ "Compared with no treatment?": no trial here had an untreated or placebo group, so none can
    say how people do without treatment; no figure is given."""
    reply = Reply()
    trials = store.trials()
    treatments = list(dict.fromkeys(arm.name for trial in trials for arm in _main_arms(trial)))
    neither = "Neither trial" if len(trials) == 2 else "None of the trials"
    reply.say(
        f"{neither} had a group with no treatment. There was no placebo group. Everyone got a "
        f"treatment: {phrasing.listing(treatments, last='or')}. So the trials can't show how people "
        "do with no treatment.",
        *trials,
    )
    if placebo.what_it_is:
        reply.say(placebo.what_it_is, placebo)
    reply.say(TALK_TO_YOUR_TEAM)
    return reply


def not_covered_trial(store: KnowledgeStore, other: OtherTrial) -> list[str]:
    """A question about a trial this assistant has no results for: say so, give no figure."""
    names = phrasing.listing([trial.name for trial in store.trials()])
    return [
        f"I don't have results from the {other.name} trial, so I won't guess. "
        f"I only have results from {names}. Your MS nurse or neurologist can tell you about other trials."
    ]


def not_in_trial(trial: Trial, treatment: Treatment) -> Reply:
    """A question about a medicine the trial did not test: say so, and give no figure."""
    reply = Reply()
    reply.say(
        f"The {trial.name} trial did not have a group on {treatment.name}. So I have no figures for it. "
        f"{_what_was_compared(trial)}",
        trial,
    )
    if treatment.what_it_is:
        reply.say(treatment.what_it_is, treatment)
    reply.say("I only give figures for the medicines in the trials I know. I won't guess.")
    return reply


def _participants(store: KnowledgeStore, trial: Trial, _treatment: Treatment | None) -> Reply:
    reply = Reply()
    text = f"The {trial.name} trial included {trial.population}."
    if trial.people_randomised is not None:
        text += f" {trial.people_randomised} people were put into the main groups by chance."
    analysed = [arm for arm in _main_arms(trial) if arm.people_analysed is not None]
    if analysed:
        groups = " and ".join(f"{arm.people_analysed} people on {arm.name}" for arm in analysed)
        text += f" The results are for {groups}."
    reply.say(text, trial, *analysed)
    return reply


def _allocation(store: KnowledgeStore, trial: Trial, _treatment: Treatment | None) -> Reply:
    reply = Reply()
    reply.say(
        f"{sentence(trial.allocation)} Choosing by chance makes the groups alike. So a "
        "difference in results is most likely caused by the treatment.",
        trial,
    )
    return reply


def _higher_dose_group(store: KnowledgeStore, trial: Trial, _treatment: Treatment | None) -> Reply:
    reply = Reply()
    # Asked only of a trial with an exploratory arm (see `has_answer`); others say they have none.
    for arm in trial.arms:
        if arm.role == "exploratory":
            reply.say(sentence(arm.note or f"{arm.name} was an extra, exploratory group"), arm)
    return reply


def _primary_endpoints(store: KnowledgeStore, trial: Trial, _treatment: Treatment | None) -> Reply:
    reply = Reply()
    endpoints = store.primary_endpoints(trial)
    reply.say(
        f"The {trial.name} trial was built to measure these main results. They are called its "
        "primary endpoints.",
        trial,
    )
    for endpoint in endpoints:
        reply.say(f"{sentence(endpoint.name)} {endpoint.definition}")
    reply.say("Ask me about either one to hear the results.")
    return reply


def _trial_overview(store: KnowledgeStore, trial: Trial, _treatment: Treatment | None) -> Reply:
    reply = Reply()
    reply.say(
        f"{trial.name} was {trial.design}. It included {trial.population}. {_what_was_compared(trial)}",
        trial,
        *_main_arms(trial),
    )
    reply.say(_conclusion(trial), trial)
    return reply


def _conclusion(trial: Trial, name_the_trial: bool = False) -> str:
    """The trial team's own conclusion, named as theirs (said in plain words)."""
    team = f"The {trial.name} team" if name_the_trial else "The team who ran the trial"
    return f"{team} summed it up like this. {sentence(trial.conclusion)}"


def _how_given(store: KnowledgeStore, trial: Trial, treatment: Treatment | None) -> Reply:
    reply = Reply()
    for asked in _asked_treatments(trial, treatment):
        arms = [arm for arm in store.arms_for(trial, asked) if arm.role != "exploratory" and arm.schedule]
        for arm in arms:
            reply.say(
                f"This is how {arm.name} was given in the {trial.name} trial. {sentence(arm.schedule)}", arm
            )
        if not arms:
            reply.say(f"The {trial.name} trial did not use {asked.name}.")
        for guidance in store.guidance(asked, "how_given"):
            reply.say(guidance.text, guidance)
    return reply


def _mechanism(store: KnowledgeStore, trial: Trial, treatment: Treatment | None) -> Reply:
    reply = Reply()
    for asked in [treatment] if treatment else [experimental_treatment(trial)]:
        if asked is not None:
            reply.say(asked.how_it_works, asked)
    return reply


def _what_is_treatment(store: KnowledgeStore, trial: Trial, treatment: Treatment | None) -> Reply:
    reply = Reply()
    for asked in _asked_treatments(trial, treatment):
        reply.say(asked.what_it_is, asked)
    return reply


def _monitoring(store: KnowledgeStore, trial: Trial, treatment: Treatment | None) -> Reply:
    reply = Reply()
    monitored = [t for t in _asked_treatments(trial, treatment) if store.guidance(t, "monitoring")]
    if not monitored:
        name = treatment.name if treatment else "this medicine"
        reply.say(f"I have no advice on check-ups for {name}. Please ask your MS nurse what you need.")
    for asked in monitored:
        reply.say(f"{phrasing.capitalised(asked.name)} needs regular check-ups. These are the tests.")
        for guidance in store.guidance(asked, "monitoring"):
            reply.say(guidance.text, guidance)
    reply.say(TALK_TO_YOUR_TEAM)
    return reply


def _sources(store: KnowledgeStore, trial: Trial, _treatment: Treatment | None) -> Reply:
    reply = Reply()
    lines = [f"- {phrasing.source_listing(source)}" for source in store.sources()]
    reply.say("Every figure I give comes from a checked source. These are my sources.\n" + "\n".join(lines))
    return reply


def _results_overview(store: KnowledgeStore, trial: Trial, treatment: Treatment | None) -> Reply:
    """ "What did the trial find?", "does it work?": each main result in one line, with its
    verdict on chance, then the safety note. The researchers' conclusion is in "About the
    trial", and the intervals and p-values behind "How sure is this?"."""
    reply = Reply()
    lead = treatment or experimental_treatment(trial)
    lines = [f"Here are the main results of {trial.name}. It included {trial.population}."]
    rows: list[object] = [trial]
    summary, compared = in_short(trial)
    if summary:
        lines.append(summary)
        rows.extend(compared)
    for endpoint in [e for e in trial.endpoints if e.category == "efficacy"]:
        headline = phrasing.arms_in_order(headline_results(endpoint), lead.id if lead else None)
        said = [
            f"{phrasing.capitalised(endpoint.plain_name)}:",
            phrasing.figures_side_by_side(endpoint, headline),
        ]
        said.extend(phrasing.brief_verdict(comparison) for comparison in endpoint.comparisons)
        lines.append("- " + " ".join(filter(None, said)))
        rows.extend([*headline, *endpoint.comparisons])
    reply.say("\n".join(lines), *rows)
    say_caveat(reply, store, trial)
    return reply


def experimental_did_better(endpoint: Endpoint, comparison: Comparison) -> bool | None:
    """Whether the experimental group's main figure was the better one (lower relapses, higher
    relapse-free), whether or not the difference could be chance; None without both figures."""
    figures = {r.arm_id: r.value for r in headline_results(endpoint) if r.value is not None}
    ours, theirs = figures.get(comparison.experimental_arm_id), figures.get(comparison.comparator_arm_id)
    if ours is None or theirs is None or ours == theirs:
        return None
    return (ours < theirs) == (endpoint.better_when == "lower")


def in_short(trial: Trial) -> tuple[str, list[Comparison]]:
    """The main results in a sentence or two, and the comparisons they rest on: the outcomes on
    which the experimental group did better (or worse) where the difference is unlikely to be
    due to chance, then those with no clear difference. "" when no result was tested for chance.
    """
    better: list[str] = []
    worse: list[str] = []
    unclear: list[str] = []
    compared: list[Comparison] = []
    arms: tuple[str, str] | None = None
    for endpoint in [e for e in trial.endpoints if e.category == "efficacy" and e.topic in IN_SHORT]:
        for comparison in endpoint.comparisons:
            significant = phrasing.is_significant(comparison)
            did_better = experimental_did_better(endpoint, comparison)
            if significant is None or did_better is None:
                continue
            arms = arms or (comparison.experimental_arm.name, comparison.comparator_arm.name)
            compared.append(comparison)
            if not significant:
                unclear.append(IN_SHORT[endpoint.topic])
            else:
                (better if did_better else worse).append(IN_SHORT[endpoint.topic])
    if arms is None:
        return "", []
    clear = set(better) | set(worse)
    left = [outcome for outcome in dict.fromkeys(unclear) if outcome not in clear]
    if better and not worse and not left:
        outcomes = phrasing.listing([f"for {outcome}" for outcome in dict.fromkeys(better)])
        said = [f"{arms[0]} did better. It was better {outcomes}."]
    else:
        said = [
            f"{arms[0]} did {how} for {phrasing.listing(list(dict.fromkeys(outcomes)))}."
            for how, outcomes in (("better", better), ("worse", worse))
            if outcomes
        ]
        if left:
            said.append(f"for {phrasing.listing(left)}, there was no clear difference.")
    said[1:] = [phrasing.capitalised(sentence) for sentence in said[1:]]
    return f"In short, {' '.join(said)} Here is each result.", compared


def _risks_overview(store: KnowledgeStore, trial: Trial, treatment: Treatment | None) -> Reply:
    """ "What are the side effects?", "is it safe?": every safety result and warning the store
    holds, in one answer: the figures, autoimmunity, what to watch for after the drip, and the
    checks that catch harm early."""
    reply = Reply()
    experimental = experimental_treatment(trial)
    if experimental is None:
        reply.say(TALK_TO_YOUR_TEAM)
        return reply
    measured = safety_figures_from(store, trial)
    # Three paragraphs: the drip (its figures, then what to watch for after it), the other risks
    # (infections, then autoimmunity), and the checks.
    drip = [f"Here are the side effects of {experimental.name}. The figures are from {measured.name}."]
    other: list[str] = []
    drip_rows: list[object] = []
    other_rows: list[object] = []
    for endpoint in store.caveat_endpoints(measured):
        ordered = _safety_figures(endpoint, experimental)
        if not ordered:
            continue
        said, *others = _safety_sentences(endpoint, ordered)
        sentences, rows = (drip, drip_rows) if endpoint.topic == "infusion_reactions" else (other, other_rows)
        sentences.extend([phrasing.capitalised(said), *others])
        rows.extend(ordered)
    after_the_drip = store.guidance(experimental, "infusion_reactions")
    reply.say(" ".join([*drip, *(g.text for g in after_the_drip)]), measured, *drip_rows, *after_the_drip)
    findings = store.findings(measured, in_caveat=True)
    autoimmunity = store.guidance(experimental, "autoimmunity")
    reply.say(
        " ".join([*other, *(f.statement for f in findings), *(g.text for g in autoimmunity)]),
        *other_rows,
        *findings,
        *autoimmunity,
    )
    checks = store.guidance(experimental, "monitoring")
    reply.say(" ".join([*(g.text for g in checks), TALK_TO_YOUR_TEAM]), *checks)
    return reply


DESIGN_COMPOSERS: dict[str, Composer] = {
    "results": _results_overview,
    "side_effects": _risks_overview,
    "participants": _participants,
    "allocation": _allocation,
    "higher_dose_group": _higher_dose_group,
    "primary_endpoints": _primary_endpoints,
    "trial_overview": _trial_overview,
    "how_given": _how_given,
    "mechanism": _mechanism,
    "what_is_treatment": _what_is_treatment,
    "monitoring": _monitoring,
    "source": _sources,
}


def define_term(store: KnowledgeStore, words: Iterable[str]) -> list[str]:
    """Explain the first of `words` that is in the glossary, or say which words I can explain."""
    for text in words:
        term = store.find_glossary_term(text) if text else None
        if term is not None:
            reply = Reply()
            reply.say(term.meaning, term)
            return reply.messages()
    a, b, c = sorted(store.glossary_words(), key=len)[:3]
    return [f"Sorry, I can't explain that word yet. You could ask me what {a}, {b} or {c} means."]
