"""Which trials a question is about.

A question names a trial through the `trial` entity (its synonyms turn "people new to
treatment" into the trial's key) or in the words typed (the names and aliases in the trial
files). It may ask about all the trials ("in both trials?") or the one not talked about yet
("and in the other trial?"). A question that names none carries on with the trials the
conversation was about (the `trial` slot); with none remembered either, the answer is for the
default trial, and says so (see `answers.compose_answer`), unless it asks about "people like me"
without saying who that is: then every trial is put side by side, each saying whom it included.
"""

from __future__ import annotations

import re

from rasa_sdk import Tracker

from actions.models import Trial
from actions.store import KnowledgeStore

ALL_TRIALS = "both"  # the `trial` entity's value for "both trials", "each study"...
OTHER_TRIAL = "other"  # ... and for "the other trial"
ALL_TRIALS_WORDS = re.compile(
    r"\b(both|all|each|every|two|2)\s+(of\s+)?((the|these)\s+)?(trials|studies)\b"
    r"|\bcare\W*ms\W*(i|1)\W+(and|&)\W+(care\W*ms\W*)?(ii|2)\b"
    r"|\b(compare|comparing)\s+the\s+(trials|studies)\b"
    r"|\bside\s+by\s+side\b"
    r"|\bwhich\s+(trial|study)\b",  # "which trial was bigger?" compares them
    re.IGNORECASE,
)
OTHER_TRIAL_WORDS = re.compile(r"\bother\s+(trial|study)\b", re.IGNORECASE)
# "People like me", "in my situation": the person's situation decides the trial. Said without
# what it is, every trial is put side by side, each saying whom it included.
LIKE_ME_WORDS = re.compile(
    r"\b(people|someone|somebody|patients|those|others|men|women|folk)\s+like\s+(me|myself|him|her|us|my\s+\w+)\b"
    r"|\bin\s+(my|his|her|our|their)\s+(situation|position|case|shoes)\b",
    re.IGNORECASE,
)
SLOT = "trial"


def trials_asked(store: KnowledgeStore, tracker: Tracker) -> list[Trial]:
    """The trials the latest message asks about, else those remembered; [] when neither."""
    text = tracker.latest_message.get("text") or ""
    typed = "" if text.startswith("/") else text  # a button's payload names an intent, not a trial
    values = [str(value) for value in tracker.get_latest_entity_values(SLOT)]
    remembered = remembered_trials(store, tracker)
    # "both" and "other" are trusted from a button's payload, or when the words typed say so:
    # the model could take the "other" of "other side effects" for "the other trial".
    if ALL_TRIALS_WORDS.search(typed) or (ALL_TRIALS in values and not typed):
        return store.trials()
    if OTHER_TRIAL_WORDS.search(typed) or (OTHER_TRIAL in values and not typed):
        current = remembered or [store.trial()]
        return [trial for trial in store.trials() if trial not in current] or current
    named: list[Trial] = []
    for words in [*values, typed]:
        named.extend(trial for trial in store.find_trials(words) if trial not in named)
    if named or remembered:
        return named or remembered
    return store.trials() if LIKE_ME_WORDS.search(typed) else []


def remembered_trials(store: KnowledgeStore, tracker: Tracker) -> list[Trial]:
    keys = tracker.get_slot(SLOT)
    keys = [key for key in keys if isinstance(key, str)] if isinstance(keys, list) else []
    return [trial for trial in store.trials() if trial.key in keys]
