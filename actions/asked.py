"""What was asked: one frame, built in one place from the understood message and the
conversation so far. Every action reads the frame; none re-reads the typed text itself.

The frame holds:
- the topics, in the order asked ("how many relapsed and how many got infections?" asks two);
- the treatment, trials and population asked about, with "not"/"rather than" taken into account
  ("on alemtuzumab not interferon") and a correction ("no, I meant the injections") replacing
  what was remembered;
- the polarity: "how many did NOT relapse?" asks how many were relapse-free;
- what kind of answer is wanted: the facts, a judgement of the last answer ("is that a lot?"),
  a re-explanation of it ("in plain English please"), or whether it could be chance;
- whether it is about the years after the trial ("does it last?"), answered from the trial's
  follow-up study; a follow-up such as "and disability?" stays there, and a question that names
  the 2 years ("and at 2 years?") goes back to the trial's own results.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rasa_sdk import Tracker

from actions.models import Treatment, Trial
from actions.scope import OWN_CLAUSE, PERSON, trials_asked
from actions.store import KnowledgeStore
from actions.topics import LONG_TERM, LONG_TERM_INTENT, TOPIC_OF_INTENT

FOLLOW_UP = "inform_treatment"
TRIAL_FOLLOW_UP = "inform_trial"
WHAT_IS_TREATMENT = "what_is_treatment"
TRIAL_OVERVIEW = "trial_overview"
RESULTS = "results"

# What kind of answer is wanted, by intent: about the last answer rather than a new topic.
FACTS = "facts"
JUDGEMENT = "judgement"
EXPLANATION = "explanation"
CHANCE = "chance"
ABOUT_THE_LAST_ANSWER = {"ask_judgement": JUDGEMENT, "ask_explain": EXPLANATION, "ask_chance": CHANCE}

# "did not relapse", "didn't have a relapse", "no relapses", "without a flare-up", "avoided
# relapses", "zero relapses": the relapse-free count, not the relapse count.
NOT_RELAPSED = re.compile(
    r"\b(did\s*n[o']?t|didnt|never|not|no|zero|without|free\s+(of|from)|avoid(ed|ing)?|escaped?"
    r"|stayed\s+clear\s+of|kept\s+clear\s+of|went\s+without|got\s+through\s+without)\s+"
    r"(have\s+|get\s+|had\s+|got\s+|having\s+)?(a\s+|any\s+|a\s+single\s+)?(more\s+)?(relaps|flare|attack)",
    re.IGNORECASE,
)
# "not interferon", "rather than the jabs", "instead of Rebif": a treatment the person set aside.
# A medicine in the person's own story ("I was on Betaferon and still relapsed", "people like
# me who relapsed on Copaxone"): what they had, not what they ask about.
OWN_HISTORY = re.compile(
    r"\b(i|i've|ive|i'm|im|he|he's|she|she's|we|they|my\s+\w+|who|who'?d|whod|mum|mom|mam|dad|mother|father)\b[^.?!]*"
    r"\b(was|were|been|went|tried|took|taken|taking|take|used|use|using|relapsed|relapsing|switched|treated)\s+"
    r"(on\s+|with\s+|from\s+)?(\w+\s+)?$"
    r"|\b(i'?m|im|i\s+am|he'?s|she'?s|he\s+is|she\s+is|they'?re|they\s+are)\s+(\w+\s+)?on\s+$",
    re.IGNORECASE,
)
WEIGHED_AGAINST = re.compile(
    r"\b(better|worse|safer|stronger|more\s+effective|less\s+risky|riskier)\s+than\b|\bversus\b|\bvs\.?\s"
    r"|\bcompared?\s+(with|to)\b|\binstead\s+of\b|\bor\b[^.?!]*\bwhich\b",
    re.IGNORECASE,
)
SET_ASIDE = re.compile(r"(\bnot|\brather\s+than|\binstead\s+of|\bexcept)\s+(the\s+|on\s+)?$", re.IGNORECASE)
# An outcome the person sets aside ("I'm not worried about relapses", "not asking about the
# infections this time", "forget the relapses", "apart from side effects"): not what they ask.
# "How many did NOT relapse?" is not one of these: it asks for the relapse-free count.
OUTCOME_SET_ASIDE = re.compile(
    r"(\b(not|n't|never)\s+(really\s+)?(worried|asking|interested|bothered|concerned|talking)\s+(about|in|with)"
    r"|\b(don'?t|do\s+not)\s+(want|need|care\s+about|mean|ask\s+about)"
    r"|\b(forget(\s+about)?|never\s+mind|apart\s+from|other\s+than|except(\s+for)?|leaving\s+aside|but\s+not)"
    r"|\bnot\s+(the|about\s+the|about))\s+"
    r"([^\s,.;:?!]+\s+){0,4}$",  # the outcome within a few words of the cue, in its clause
    re.IGNORECASE,
)
# The person's own clause, up to the outcome: "she's already been on treatment and [relapsed]".
# It tells what happened ("relapsed", "had a relapse", "got an infection"), not what they want
# ("I want to know the relapse rate").
OWN_STORY = re.compile(PERSON + OWN_CLAUSE + r"$", re.IGNORECASE)
STORY_VERB = re.compile(r"\w+ed\b", re.IGNORECASE)
HAD_ONE = re.compile(
    r"\b(had|has\s+had|got|gets|getting|get|keeps?\s+getting)\s+(\w+\s+){0,2}$", re.IGNORECASE
)
# Compared with no treatment, or asked whether there was an untreated group: the question is
# about a group neither trial had (the treatments file's `placebo`), whatever medicine it names.
PLACEBO = "placebo"
NO_TREATMENT_GROUP = re.compile(
    r"\b(compar\w*\s+(\w+\s+){0,4}?(with|to|against)|versus|vs\.?|against|than|over)\s+(just\s+)?(doing\s+nothing|nothing(\s+at\s+all)?"
    r"|no\s+(treatment|medicine|drug|meds|dmt)s?(\s+at\s+all)?|not\s+(treating|taking\s+anything|having\s+anything)"
    r"|(a\s+|the\s+)?placebo|(a\s+|the\s+)?dummy|untreated\s+(people|patients|group)|being\s+untreated)\b"
    r"|\b(was|were|is)\s+there\s+(a\s+|an\s+|any\s+)?(placebo|untreated|no[\s-]treatment|dummy|sugar[\s-]pill)"
    r"|\b(did|do)\s+(they|any|anyone|some|people|patients)\s+(\w+\s+)?(use|get|have|take|give)\s+(a\s+)?placebo"
    # "a group in the study that just got a dummy drip or nothing", "nobody in them got no
    # treatment at all?", "patients who received no treatment whatsoever, for comparison":
    # a group given nothing by the trial, not people new to treatment ("who had no treatment
    # before"), whom CARE-MS I included.
    r"|\b(people|patients|anyone|anybody|nobody|no[\s-]?one|someone|group|those|ones)\s+(\w+\s+){0,5}?"
    r"(who|that|which)?\s*(just\s+|only\s+)?(got|get|getting|received|receiving|was\s+given|were\s+given)\s+"
    r"(just\s+|only\s+)?(a\s+dummy|a\s+placebo|placebo|a\s+sugar[\s-]pill|nothing\b(?!\s+(before|yet|else))"
    r"|no\s+(treatment|medicine|drug|meds|therapy)s?\s+(at\s+all|whatsoever|for\s+comparison|instead))"
    # "what if I just don't take anything?": going without treatment, which no group did
    r"|\bwhat\s+(if|happens\s+if|about\s+if)\s+(i|you|we|he|she|they|someone|people|my\s+\w+)\s+(just\s+)?"
    r"(don'?t|dont|do\s+not|doesn'?t|does\s+not|never)\s+(take|have|get|use|start)\s+"
    r"(anything|any\s+(treatment|medicine|drug|meds|dmt)s?)\b(?!\s+(yet|before))"
    # "what happens to people with no treatment?"
    r"|\bhappens?\s+to\s+(people|patients|someone|anyone)\s+(with|on|taking|having|who\s+take)\s+"
    r"(no\s+(treatment|medicine|drug|meds|therapy)s?|nothing)\b(?!\s+(before|yet))",
    re.IGNORECASE,
)
# A figure quoted back ("what does 0.x mean?", "the N% thing", "p=0.x"): a number with a
# decimal point, or a percentage. Whole numbers alone are too often doses, years or ages.
QUOTED_FIGURE = re.compile(r"(?<![\w.])(\d+\.\d+|\d+(?=\s*(%|per\s?cent)))", re.IGNORECASE)
QUESTION = "question"  # where the question of a long message is (nlu/intent_classifier.py)
ALSO_ASKED = "also_asked"  # the other questions of a compound message (nlu/intent_classifier.py)
CURE = re.compile(r"\bcur(e|es|ed|ing)\b", re.IGNORECASE)
# "Does it (actually) work?", "did Lemtrada work?": whether it helped, which the results answer;
# "how does it work?" asks how it works, and stays with the model's answer.
DOES_IT_WORK = re.compile(
    r"(?<!\bhow\s)\b(does|did|do|will|would)\s+(it|this|that|the\s+\w+|\w+)\s+(actually\s+|really\s+|even\s+)?work\b",
    re.IGNORECASE,
)
# "CARE-MS I outcome?", "what did CARE-MS I show?": a trial named with a word for what it found.
FINDINGS = re.compile(
    r"\b(results?|outcomes?|findings?|found|find|show(ed|n|s)?|conclusions?|conclude[ds]?)\b", re.IGNORECASE
)
MECHANISM = "mechanism"
KNOWN_TOPICS = frozenset(TOPIC_OF_INTENT.values())
TOPIC_OF_MEASURE = {"hazard ratio": "disability", "rate ratio": "relapse_rate"}
# The years after the 2-year trials, as people write them: "year 3", "five years".
LATER_YEARS = "(" + "|".join([*map(str, range(3, 10)), "three", "four", "five", "six"]) + ")"
# "Does it last?", "five years later?", "relapses in later years": the years after the trial.
LATER = re.compile(
    r"\blong[\s-]?term\b|\blonger\s+term\b|\bin\s+the\s+long\s+run\b|\byears\s+later\b"
    r"|\bafter\s+the\s+(2|two)[\s-]+years?\b|\bafter\s+(the|that|this)\s+(trials?|stud(y|ies))\b"
    rf"|\b(at|over|by|through|after|to|within)\s+(the\s+)?{LATER_YEARS}[\s-]+years?\b"
    rf"|\b{LATER_YEARS}[\s-]+years?\s+(later|on|after)\b|\b{LATER_YEARS}[\s-]+year\s+(results?|figures?|follow)"
    rf"|\blater\s+years\b|\byears?\s+{LATER_YEARS}\b|\b(keeps?|kept)\s+working\b"
    r"|(?<!how long )\b(will|does|do|did)\s+(it|the\s+effects?|the\s+benefits?)\s+last\b"
    r"|\bwears?\s+off\b|\bextension\s+stud(y|ies)\b|\bfollow[\s-]?up\s+stud(y|ies)\b",
    re.IGNORECASE,
)
# "At 2 years", "after two years", "during the trial", "the 2-year results": the trial's own
# results (the trials lasted 2 years; "after THE 2 years" is the years after, above).
IN_THE_TRIAL = re.compile(
    r"\b(at|in|over|during|within)\s+(the\s+)?(first\s+)?(2|two)[\s-]+years?\b|\bafter\s+(2|two)[\s-]+years?\b"
    r"|\b(2|two)[\s-]+year\s+(trial|study|results?|figures?|ones?)\b|\bduring\s+the\s+(trial|study)\b",
    re.IGNORECASE,
)
# "Not the 5-year results, the main ones": the later years ruled out.
NOT_LATER = re.compile(
    r"\b(not|forget(\s+about)?|never\s+mind|rather\s+than|instead\s+of)\s+(about\s+)?(the\s+)?[^,.;:?!]*?"
    r"\b(years?|follow[\s-]?ups?|long[\s-]?term|extension)\b",
    re.IGNORECASE,
)
# "And disability?", "what about relapses?": a follow-up that carries on the last answer.
CARRIES_ON = re.compile(r"^\W*(and|also|plus|what\s+about|how\s+about|what\s+of)\b", re.IGNORECASE)
AFTER_THE_TRIAL = "after_the_trial"  # the slot: was the last answer about the years after?
# A question that names a statistic wants it: it gets the detailed answer ("how sure is this?"),
# not the short one, which leaves the ratios, intervals and p-values out.
STATISTICS = re.compile(
    r"\b(hazard|rate|odds|risk)\s+ratios?\b|\bconfidence\s+intervals?\b|\bCI\b|\bp[\s-]?val\w*"
    r"|\bp\s*[<=]|\bstatistic(s|al|ally)\b|\bsignifican(t|ce|tly)\b|\bkaplan\b|\bmeier\b"
    r"|\b(relative|absolute)\s+(risk|reduction|difference|figure|or\s+absolute|or\s+relative)\b"
    r"|(%|\bper\s?cent)\s+(lower|fewer|less|reduction)"
    # "by what percent did it lower relapses?", "how much did it cut relapses by?"
    r"|\bby\s+(what|how\s+much|how\s+many)\s+(percent|per\s+cent|%|percentage|proportion|fraction|amount)"
    r"|\bby\s+how\s+much\b"
    # "how much Lemtrada cut the yearly relapse rate", "how much did it improve disability"
    r"|\bhow\s+much\s+(did\s+|does\s+)?(\w+\s+){0,2}?(cut|reduced?|lowered|improved?|slowed|lessened)\b"
    r"|\bwhat\s+(percent|percentage)\s+(lower|fewer|less|reduction|drop|cut)"
    r"|\b(cut|reduc|lower)\w*\s+(\w+\s+){0,4}by\s+(what|how\s+much)\b|\bhow\s+much\s+\w+\s+(\w+\s+){0,4}by\b"
    r"|\bhow\s+much\s+(lower|less|fewer|smaller|better)\b",
    re.IGNORECASE,
)


@dataclass
class Asked:
    """What the latest message asks, in the light of the conversation so far."""

    topics: list[str] = field(default_factory=list)
    treatment: Treatment | None = None
    trials: list[Trial] = field(default_factory=list)
    wants: str = FACTS
    about_a_cure: bool = False
    after_the_trial: bool = False
    text: str = ""

    @property
    def topic(self) -> str | None:
        return self.topics[0] if self.topics else None


def text_slot(tracker: Tracker, name: str) -> str | None:
    """A slot's value if it is text. A slot filled with anything else (an entity typed as
    `{"treatment": {"x": 1}}`, say) is not trusted: it once broke every later answer."""
    value = tracker.get_slot(name)
    return value if isinstance(value, str) and value else None


def typed_text(tracker: Tracker) -> str:
    """The words typed; a button's payload ("/ask_relapse") names an intent, not words."""
    text = tracker.latest_message.get("text") or ""
    return "" if text.startswith("/") else text


def intent_of(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def entities_asked(tracker: Tracker, kind: str, only_in_the_question: bool = False) -> list[dict]:
    """The message's entities of one kind. In a long message whose question the model found
    (`question`, set by nlu/intent_classifier.py), those in the question; the story's ("she had
    a relapse last year") count only when the question names none and `only_in_the_question`
    is false (a treatment in the story is still the one the person is on)."""
    found = [
        entity for entity in tracker.latest_message.get("entities") or [] if entity.get("entity") == kind
    ]
    span = tracker.latest_message.get(QUESTION)
    if not isinstance(span, dict):
        return found
    start, end = span.get("start", 0), span.get("end", 0)
    inside = [e for e in found if isinstance(e.get("start"), int) and start <= e["start"] < end]
    return inside if inside or only_in_the_question else found


def outcomes_named(tracker: Tracker, only_in_the_question: bool = True) -> list[str]:
    """The outcomes named in the question ("relapses", "infections"), in the order written;
    anywhere in the message when not `only_in_the_question`.

    Only the topics there are: a word the model tagged but no synonym mapped ("yearly relaspe
    rate") stays as typed, and once remembered as the topic it made every follow-up ("is that
    good?") a question about nothing."""
    text = tracker.latest_message.get("text") or ""
    found = [
        entity
        for entity in entities_asked(tracker, "outcome", only_in_the_question=only_in_the_question)
        if entity.get("value") in KNOWN_TOPICS
        and not _set_aside(text, entity)
        and not _in_story(text, entity)
    ]
    found.sort(key=lambda entity: entity.get("start") or 0)
    named: list[str] = []
    for entity in found:
        if entity["value"] not in named:
            named.append(entity["value"])
    return named


def _in_story(text: str, entity: dict) -> bool:
    """Whether the outcome is in the person's own story ("she's already been on treatment and
    relapsed, so the other trial then"), not asked about ("I want to know how many relapsed")."""
    start, end = entity.get("start"), entity.get("end")
    if not isinstance(start, int) or not isinstance(end, int):
        return False
    happened = STORY_VERB.search(text[start:end]) or HAD_ONE.search(text[:start])
    return bool(happened) and bool(OWN_STORY.search(text[:start]))


def _set_aside(text: str, entity: dict) -> bool:
    """Whether the words just before the outcome set it aside."""
    start = entity.get("start")
    if not isinstance(start, int):
        return False
    return bool(OUTCOME_SET_ASIDE.search(text[:start]))


def topics_asked(tracker: Tracker) -> list[str]:
    """The topics of the latest message, or the remembered one for a follow-up.

    `ask_relapse` asks about "relapse"; a message that also names other outcomes asks about
    each, in the order written. A follow-up such as "and on interferon?" or "and in CARE-MS I?"
    names no topic, so the remembered one is used, unless it names an outcome ("and the
    flare-ups?"); with nothing remembered, it asks what the named treatment is, or what the
    named trial was. A question about the last answer ("is that a lot?") is about its topic.
    """
    intent = intent_of(tracker)
    named = outcomes_named(tracker)
    text = typed_text(tracker)
    if intent in TOPIC_OF_INTENT:
        topic = TOPIC_OF_INTENT[intent]
        if topic == MECHANISM and DOES_IT_WORK.search(text):
            topic = RESULTS  # "does it actually work?" asks whether it helped
        return _with_other_questions(tracker, _in_order(topic, named))
    if named:
        return named
    remembered = text_slot(tracker, "topic")
    if remembered is not None:
        return [remembered]
    # Nothing said before, and the question names no outcome: one in the story is what it is
    # about ("...what the trial said about infections. Is it worse than Rebif for that?").
    in_the_story = outcomes_named(tracker, only_in_the_question=False)
    if in_the_story:
        return in_the_story
    if intent == FOLLOW_UP:
        return [WHAT_IS_TREATMENT]  # "what about Lemtrada?" as a first question
    if intent == TRIAL_FOLLOW_UP:
        # "what about CARE-MS I?" as a first question; "CARE-MS I outcome?" asks what it found
        return [RESULTS if FINDINGS.search(text) else TRIAL_OVERVIEW]
    return []


def _in_order(topic: str, named: list[str]) -> list[str]:
    """The topics in the order written; the intent's topic first when its own words were not
    tagged (the model chose it from the whole message)."""
    return named if topic in named else [topic, *named]


def _with_other_questions(tracker: Tracker, topics: list[str]) -> list[str]:
    """The topics of the other questions of a compound message ("how many took part and how were
    they chosen?"), found clause by clause by the intent classifier (`also_asked`), in turn."""
    also = tracker.latest_message.get(ALSO_ASKED)
    if not isinstance(also, list):
        return topics
    others = [
        TOPIC_OF_INTENT[entry["intent"]]
        for entry in also
        if isinstance(entry, dict) and entry.get("intent") in TOPIC_OF_INTENT
    ]
    return [*topics, *(topic for topic in others if topic not in topics)]


def treatment_asked(
    store: KnowledgeStore, tracker: Tracker, trials: list[Trial] | None = None
) -> Treatment | None:
    """The treatment named in the latest message (even misspelt), else the one talked about.

    A treatment set aside ("alemtuzumab, not interferon") is not the one asked about. Of several
    named, one tested in the trials asked about comes first: in "I've been on Copaxone, would
    Lemtrada help?" the person's own medicine is their story, not the question.
    """
    text = typed_text(tracker)
    if NO_TREATMENT_GROUP.search(text) and (placebo := store.find_treatment(PLACEBO)) is not None:
        return placebo
    set_aside: list[Treatment] = []
    named: list[Treatment] = []
    for entity in entities_asked(tracker, "treatment"):
        treatment = store.find_treatment(str(entity.get("value")))
        if treatment is None:
            continue
        start = entity.get("start")
        if isinstance(start, int) and SET_ASIDE.search(text[:start]):
            set_aside.append(treatment)
        elif isinstance(start, int) and OWN_HISTORY.search(text[:start]):
            continue  # the person's own medicine: their story, not the question
        elif treatment not in named:
            named.append(treatment)
    if not named and text:
        treatment = store.find_treatment(text)
        if treatment is not None and treatment not in set_aside and not _in_own_history(text, treatment):
            named.append(treatment)
    in_trials = trials or [store.trial()]
    if named and WEIGHED_AGAINST.search(text):
        # "Is HSCT better than Lemtrada?": the medicine weighed against the trial's is the question,
        # and no trial here had a group on it.
        untested = [
            treatment
            for treatment in store.find_treatments(text)
            if not any(store.arms_for(trial, treatment) for trial in in_trials)
            and treatment not in set_aside
            and not _in_own_history(text, treatment)
        ]
        if untested:
            return untested[0]
    if named:
        tested = [t for t in named if any(store.arms_for(trial, t) for trial in in_trials)]
        return (tested or named)[0]
    remembered = text_slot(tracker, "treatment")
    treatment = store.find_treatment(remembered) if remembered else None
    if treatment is not None and treatment in set_aside:
        return _other_main_treatment(store, treatment)
    return treatment or (_other_main_treatment(store, set_aside[0]) if set_aside else None)


def _in_own_history(text: str, treatment: Treatment) -> bool:
    """Whether the first of the treatment's names in `text` is in the person's own story."""
    lowered = text.lower()
    starts = [lowered.find(name.lower()) for name in (treatment.name, treatment.key, *treatment.aliases)]
    found = [start for start in starts if start >= 0]
    return bool(found) and bool(OWN_HISTORY.search(text[: min(found)]))


def _other_main_treatment(store: KnowledgeStore, set_aside: Treatment) -> Treatment | None:
    """ "Not interferon" in a two-arm trial means the other medicine."""
    treatments = {arm.treatment for arm in store.trial().arms if arm.role != "exploratory"}
    others = [treatment for treatment in treatments if treatment is not set_aside]
    return others[0] if len(others) == 1 else None


def typed_entity_words(tracker: Tracker, entity: str) -> list[str]:
    """The words the person typed for an entity, before synonyms changed them.

    Synonyms map words whatever the entity: "EDSS" typed as a glossary `term` would become
    the outcome "disability", which is not the word the person asked to have explained.
    """
    text = tracker.latest_message.get("text") or ""
    words = []
    for found in tracker.latest_message.get("entities") or []:
        if found.get("entity") != entity:
            continue
        start, end = found.get("start"), found.get("end")
        typed = text[start:end] if start is not None and end is not None else ""
        words.append(typed or str(found.get("value") or ""))
    return words


def with_polarity(topics: list[str], text: str) -> list[str]:
    """ "How many did NOT relapse?" asks for the relapse-free count."""
    if NOT_RELAPSED.search(text):
        return ["relapse_free" if topic == "relapse" else topic for topic in topics]
    return topics


def topic_of_measure(text: str) -> str | None:
    """ "What was the hazard ratio?" asks about the result reported as a hazard ratio."""
    lowered = text.casefold()
    return next((topic for measure, topic in TOPIC_OF_MEASURE.items() if measure in lowered), None)


def asks_after_the_trial(tracker: Tracker, text: str) -> bool:
    """Whether the message asks about the years after the trial: it says so, or it carries on
    from an answer that was ("and disability?", "and in the other trial?", "is that good?"),
    unless it names the trial's own 2 years or rules the later years out."""
    if NOT_LATER.search(text):
        return bool(LATER.search(NOT_LATER.sub(" ", text)))
    if intent_of(tracker) == LONG_TERM_INTENT or LATER.search(text):
        return True
    if IN_THE_TRIAL.search(text) or tracker.get_slot(AFTER_THE_TRIAL) is not True:
        return False
    carries_on = intent_of(tracker) in {FOLLOW_UP, TRIAL_FOLLOW_UP, *ABOUT_THE_LAST_ANSWER}
    return carries_on or bool(CARRIES_ON.search(text))


@dataclass(frozen=True)
class QuotedFigure:
    """A figure of the store the message quotes, its trial and topic, and what kind it is: a
    group's figure, the relative change between the groups, or a statistic (a ratio, an
    interval's end or a p-value), which only the detailed answer gives."""

    trial: Trial
    topic: str
    kind: str  # GROUP_FIGURE, RELATIVE_CHANGE or STATISTIC

    @property
    def statistic(self) -> bool:
        return self.kind == STATISTIC


GROUP_FIGURE, RELATIVE_CHANGE, STATISTIC = "group figure", "relative change", "statistic"


def figure_quoted(store: KnowledgeStore, trials: list[Trial], text: str) -> QuotedFigure | None:
    """The first figure in `text` that one of the trials' results gives, searched in the trials
    asked about first, then the others."""
    quoted = [float(match.group(1)) for match in QUOTED_FIGURE.finditer(text)]
    if not quoted:
        return None
    ordered = [*trials, *(trial for trial in store.trials() if trial not in trials)]
    for number in quoted:
        for trial in ordered:
            for topic in sorted(store.topics(trial)):
                for endpoint in store.endpoints_on(trial, topic):
                    if any(_same(number, result.value) for result in endpoint.results):
                        return QuotedFigure(trial, topic, GROUP_FIGURE)
                    for comparison in endpoint.comparisons:
                        said = (
                            comparison.value,
                            comparison.ci_lower,
                            comparison.ci_upper,
                            comparison.p_value,
                        )
                        if any(_same(number, value) for value in said):
                            return QuotedFigure(trial, topic, STATISTIC)
                        if comparison.relative_change and _same(number, abs(comparison.relative_change)):
                            return QuotedFigure(trial, topic, RELATIVE_CHANGE)
    return None


def _same(number: float, value: float | None) -> bool:
    return value is not None and abs(number - value) < 1e-9


def what_was_asked(store: KnowledgeStore, tracker: Tracker) -> Asked:
    """The frame every answer is built from."""
    text = typed_text(tracker)
    wants = ABOUT_THE_LAST_ANSWER.get(intent_of(tracker), FACTS)
    about_a_cure = bool(CURE.search(text))
    topics = topics_asked(tracker)
    if wants == CHANCE and (measured := topic_of_measure(text)) is not None:
        topics = [measured]
    if NOT_LATER.search(text) and LONG_TERM in topics and len(topics) > 1:
        topics = [topic for topic in topics if topic != LONG_TERM]  # "not the 5-year ones: relapses?"
    if wants == FACTS and about_a_cure and not topics:
        topics = [RESULTS]
    if wants == FACTS and topics and STATISTICS.search(text):
        wants = CHANCE
    trials = trials_asked(store, tracker)
    answered_for = trials or [store.trial()]
    quoted = figure_quoted(store, answered_for, text)
    of_this_question = quoted is not None and (quoted.topic in topics or topics in ([], [RESULTS]))
    if quoted is not None and (wants != FACTS or (quoted.kind != GROUP_FIGURE and of_this_question)):
        # "What does 0.x mean?": that figure's answer explained; a statistic, or a relative
        # change asked about as a fact ("the N% thing"), in the detailed answer.
        topics = [quoted.topic]
        wants = CHANCE if quoted.statistic or wants == FACTS else wants
        trials = trials if quoted.trial in answered_for else [quoted.trial]
    return Asked(
        topics=with_polarity(topics, text),
        treatment=treatment_asked(store, tracker, trials),
        trials=trials,
        wants=wants,
        about_a_cure=about_a_cure,
        after_the_trial=asks_after_the_trial(tracker, text),
        text=text,
    )
