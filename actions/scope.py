"""Which trials a question is about.

A question names a trial through the `trial` entity (its synonyms turn "people new to
treatment" into the trial's key) or in the words typed (the names and aliases in the trial
files). It may ask about all the trials ("in both trials?") or the one not talked about yet
("and in the other trial?"). A question that names none carries on with the trials the
conversation was about (the `trial` slot); with none remembered either, the answer is for the
default trial, and says so (see `answers.compose_answer`), unless it asks about "people like me"
without saying who that is: then every trial is put side by side, each saying whom it included.
A person's situation told in a story ("diagnosed a few weeks ago", "he still had relapses on
Copaxone") decides the trial over the one remembered (`SITUATIONS`).
"""

from __future__ import annotations

import re
from functools import lru_cache

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
    r"|\bwhich\s+(trial|study)\b",  # "which trial was bigger?" compares them...
    re.IGNORECASE,
)
# ...but "which trial is relevant to her?" after her story asks for hers.
WHICH_TRIAL = re.compile(
    r"\bwhich\s+(trial|study|one)\b|\bwhich\s+of\s+the\s+(two\s+)?(trials|studies)\b", re.IGNORECASE
)
OTHER_TRIAL_WORDS = re.compile(r"\bother\s+(trial|study)\b", re.IGNORECASE)
# "People like me", "in my situation": the person's situation decides the trial. Said without
# what it is, every trial is put side by side, each saying whom it included.
LIKE_ME_WORDS = re.compile(
    r"\b(people|someone|somebody|patients|those|others|men|women|folk)\s+like\s+(me|myself|him|her|us|my\s+\w+)\b"
    r"|\bin\s+(my|his|her|our|their)\s+(situation|position|case|shoes)\b",
    re.IGNORECASE,
)
# A correction inside the message ("care ms 2, sorry I mean care ms 1", "CARE-MS I - no, II"):
# the trial named after the last one counts. "No" counts only just before a trial's name.
# A trial's bare number: "II", "2", and "I" only where it cannot be the word "I" ("no, I meant").
BARE_NUMBER = r"(ii\b|[12]\b(?!\s*(mg|years?|%|\.\d))|i(?=\s*([,.;:!?)]|-\s|$|(not|trial|study|please)\b)))"
CORRECTION = re.compile(
    r"\b(i\s+(actually\s+|really\s+)?(mean|meant)|sorry|oops|whoops|actually|scratch\s+that|my\s+mistake|my\s+bad"
    r"|(got|had)\s+(it|that)\s+wrong|wrong\s+one|but\s+now"
    rf"|no\s+wait|wait\s+no|no(?=[\s,.!:;-]+(the\s+|care\b|one\b|two\b|{BARE_NUMBER})))\b",
    re.IGNORECASE,
)
BARE_TRIAL_NUMBER = re.compile(rf"^[\s,.!:;-]*{BARE_NUMBER}", re.IGNORECASE)
# A trial ruled out ("CARE-MS I not II", "in the first trial rather than the second").
# Or the people of a trial ruled out: "not the trial for newly diagnosed people, the other one",
# "not the people who'd never had treatment, the ones who...".
RULED_OUT = re.compile(
    r"\b(not|rather\s+than|instead\s+of"
    # "I do not wish to hear about the first trial", "don't want to know about CARE-MS I"
    r"|(do\s+not|don'?t|dont)\s+(want|wish|need)\s+(to\s+)?(hear|know|talk|ask|read)\s+about)"
    r"\s+(in\s+)?(the\s+)?(care\W*ms\W*(ii|i|1|2|two|one)\b"
    rf"|{BARE_NUMBER}|(first|second)\s+(trial|study|one)\b"
    r"|(trial|study|one|people|ones|group|patients|ppl)\s+(for|with|of|who|who'?d|whod|whose|in|where)\b"
    r"[^,.;?!]*?(?=[,.;?!]|\s+the\s+(ones?|other|people)\b|\s+but\b|$))",
    re.IGNORECASE,
)
# Two groups of people compared: each is answered for, whichever one the model tagged.
COMPARES = re.compile(r"\b(compar\w*|versus|vs\.?|against|difference\s+between)\b", re.IGNORECASE)
SLOT = "trial"
# A person's situation in their own words, said as a phrase the trial files hold as an alias
# ("new to treatment", "already treated"), so that the files, not this code, say which trial
# it is. Only the person's own story counts: "how many relapsed on Rebif?" asks about a group.
PERSON = (
    r"\b(i|i've|ive|i'm|im|he|he's|she|she's|we|they|my\s+\w+|(a|the)\s+person\s+who|someone\s+who"
    r"|mum|mom|mam|dad|mother|father)\b"
)
# The rest of the person's own clause: words that turn it into a question about a group of the
# trial ("I want to know how many relapsed on Rebif") end it.
OWN_CLAUSE = r"(?:(?!\b(how|what|which|whether|if|people|patients|ppl|many|those|ones)\b)[^.?!,;])*?"
# Or a group described by its treatment ("the ones who had already been treated", "people
# whose MS came back on interferon"): that names a trial's people, not an arm of the trial.
GROUP = (
    r"\b(people|patients|ppl|those|ones?|group|folks?|others)\s+(like\s+(me|him|her|us|them|my\s+\w+)\s+)?"
    r"(who|who'?d|whod|who'?ve|whove|whose|that|where|with"
    r"|in\s+which)\b"
    r"[^.?!;]*?"
)
MEDICINES = (
    r"(treatments?|drugs?|medicines?|medications?|meds|dmts?|therap(y|ies)"
    r"|disease[\s-]modifying\s+(therap(y|ies)|treatments?|drugs?))\b"
)
# MS medicines a person may have had before, other than the trials' own comparator: "patients
# who relapsed on Rebif" asks about a group in the trial...
OTHER_MEDICINE_NAMES = (
    r"copaxone|glatiramer|avonex|betaferon|betaseron|extavia|plegridy|tecfidera|aubagio"
    r"|gilenya|teriflunomide|fingolimod|dimethyl\s+fumarate"
)
OTHER_MEDICINES = rf"({OTHER_MEDICINE_NAMES})\b"
# ...and with it, where the words cannot mean that group ("my dad already tried interferon").
EARLIER_MEDICINES = rf"({OTHER_MEDICINE_NAMES}|interferon|rebif|the\s+injections)\b"
HAD = r"(had|taken|took|take|been\s+on|tried|started|used|received|gone\s+on|went\s+on)"
# "Diagnosed a few weeks ago": most likely new to treatment, unless the story says which
# medicines came since ("diagnosed six years ago and went on Copaxone").
RECENTLY_DIAGNOSED = re.compile(r"\bdiagnos(ed|is)\b[^.?!,;]*?\b(ago|last|recently)\b", re.IGNORECASE)
NEW_TO_TREATMENT = "new to treatment"
SITUATIONS = {
    NEW_TO_TREATMENT: re.compile(
        "|".join(
            (
                r"\b(just|newly|recently|only(\s+just)?)\s+((got|been|was|were|being)\s+)?diagnosed\b",
                r"\bnew\s+(with|to)\s+ms\b|\bnew\s+to\s+(ms\s+)?" + MEDICINES + r"|\bnew\s+patients?\b",
                r"\b(no|not\s+on\s+any|not\s+taking\s+any)\s+(ms\s+)?" + MEDICINES + r"\s+(yet|so\s+far)\b",
                r"\b(never|not|hasn'?t|haven'?t|hadn'?t|didn'?t|has\s+not|have\s+not)\s+(yet\s+|ever\s+|before\s+)?"
                + HAD
                + r"\s+((any\s+|an?\s+)?(ms\s+)?"
                + MEDICINES
                + r"|anything\s+(yet\s+)?(for|against)\s+(my|his|her|their|the)\s+ms\b)",
                r"\b(wasn'?t|weren'?t|isn'?t|aren'?t|not|never\s+been)\s+on\s+any\s+(ms\s+)?" + MEDICINES,
                r"\b(received|had|taken|on)\s+no\s+(ms\s+)?" + MEDICINES,
                r"\bfirst\s+time\s+(on|having|taking)\s+(any\s+)?(ms\s+)?" + MEDICINES,
                r"\bno\s+(ms\s+)?" + MEDICINES + r"\s+(before|beforehand|previously)\b",
                r"\btreatment[\s-]+na(i|ï)ve\b",
                GROUP
                + r"\b(just\s+diagnosed|newly\s+diagnosed|never\s+(before\s+|yet\s+|ever\s+)?(been\s+)?("
                + HAD
                + r"|treated|on)"
                r"|(not|hadn't|haven't)\s+(yet\s+)?(been\s+)?(treated|had\s+any|taken\s+any))",
            )
        ),
        re.IGNORECASE,
    ),
    "already treated": re.compile(
        "|".join(
            (
                PERSON + OWN_CLAUSE + r"\b(relaps(ed|es|ing)|had\s+(\w+\s+)?relapses?)\s+"
                r"((twice|again|once|often|\w+\s+times)\s+)?"
                r"(on|while\s+on|whilst\s+on|despite|even\s+on|anyway)\b",
                PERSON + OWN_CLAUSE + r"\bstill\s+(relapsing|relapsed|(had|having|get|getting)\s+relapses)\b",
                # "my dad already tried interferon", "he went on Avonex", "I've been on two drugs"
                PERSON + r"(\s+|['’]s\s+)(have\s+|has\s+|had\s+|'ve\s+|am\s+|is\s+|was\s+|were\s+)?"
                r"((already|previously|also|then|first)\s+)?(been\s+)?(on|taking|taken|takes?|tried|took|used|uses?|using|went\s+on"
                r"|started\s+on|put\s+on)\s+("
                + EARLIER_MEDICINES
                + r"|(a|an|another|other|two|three|\d|several|some)"
                r"\s+(\w+\s+)?(ms\s+)?" + MEDICINES + ")",
                PERSON
                + r"[^.?!;]*?\b((went|started|was\s+put|were\s+put)\s+on|(treated|was\s+treated)\s+with)\s+"
                + EARLIER_MEDICINES,
                GROUP + r"\b(already|previously)\b(?![^.?!;]*\bnever\b)",
                # "the patients that were treated before", "people who had treatment before"
                r"\b(people|patients|ppl|those|ones?|group|folks?|others)\s+(who|who'?d|whod|that|whose)\s+"
                r"((were|was|had|have|'d|'ve)\s+)?(been\s+)?(treated|(had|received|got|tried)\s+((?!no\b|not\b|never\b)\w+\s+)?"
                + MEDICINES
                + r")\s+(before|previously|already|earlier)\b",
                GROUP + r"\bcame\s+back\s+(on|while\s+on|despite)\b",
                GROUP
                + r"\b"
                + HAD
                + r"\s+(an?\s+)?(other|another|different|earlier|previous)\s+(ms\s+)?"
                + MEDICINES,
                GROUP
                + r"\b"
                + HAD
                + r"\s+"
                + EARLIER_MEDICINES
                + r"[^.?!;]*\b(relaps|came\s+back|failed|didn'?t\s+work)",
                GROUP + r"\b(relaps(ed|es|ing)|kept\s+relapsing)\s+((before|previously|already)\s+)?"
                r"(on|while\s+on|despite)\s+(their\s+|a\s+)?(other|earlier|previous|first|different|older|"
                + OTHER_MEDICINES
                + ")",
                r"\bother\s+(ms\s+)?"
                + MEDICINES
                + r"\s+(had\s+)?(failed|didn'?t\s+work|did\s+not\s+work|stopped\s+working)",
                r"\bbroke\s+through\b",
                # "my friend, who'd already been on Rebif", "my mum who has tried two drugs"
                PERSON
                + r",?\s+(who|who'?d|whod|who\s+has|who\s+had|who'?s)\s+((already|previously|also)\s+)?"
                r"(been\s+on|had|tried|taken|used|relapsed\s+on)\s+("
                + EARLIER_MEDICINES
                + r"|(a|an|another|other|two|three|\d|several|some)\s+(\w+\s+)?(ms\s+)?"
                + MEDICINES
                + ")",
                # "people like me who'd relapsed on interferon": the person's own story, whatever
                # the medicine (without "like me" it could be the trial's interferon group).
                r"\b(people|patients|ppl|someone|those|others|folks?)\s+like\s+(me|him|her|us|my\s+\w+)\s+"
                r"(who|who'?d|whod|who'?ve|whove|that)\b[^.?!;]*?\brelaps(ed|es|ing)\s+(on|while\s+on|despite)\s+"
                + EARLIER_MEDICINES,
            )
        ),
        re.IGNORECASE,
    ),
}


def trials_asked(store: KnowledgeStore, tracker: Tracker) -> list[Trial]:
    """The trials the latest message asks about, else those remembered; [] when neither."""
    text = tracker.latest_message.get("text") or ""
    typed = "" if text.startswith("/") else text  # a button's payload names an intent, not a trial
    values = [str(value) for value in tracker.get_latest_entity_values(SLOT)]
    remembered = remembered_trials(store, tracker)
    # "both" and "other" are trusted from a button's payload, or when the words typed say so:
    # the model could take the "other" of "other side effects" for "the other trial".
    if WHICH_TRIAL.search(typed) and (situation := situation_of(typed)) is not None:
        return store.find_trials(situation) or store.trials()
    if ALL_TRIALS_WORDS.search(typed) or (ALL_TRIALS in values and not typed):
        return store.trials()
    if OTHER_TRIAL_WORDS.search(typed) and (situation := situation_of(typed)) is not None:
        return store.find_trials(situation) or store.trials()  # "the other one, for people like me who..."
    if OTHER_TRIAL_WORDS.search(typed) or (OTHER_TRIAL in values and not typed):
        current = remembered or [store.trial()]
        return [trial for trial in store.trials() if trial not in current] or current
    corrected = corrected_trials(store, typed)
    if corrected:
        return corrected
    named: list[Trial] = []
    for words in [*values, typed]:
        named.extend(trial for trial in store.find_trials(words) if trial not in named)
    if named and COMPARES.search(typed):
        # "How did people never treated compare with those already on other drugs?"
        named.extend(
            trial for s in situations_of(typed) for trial in store.find_trials(s) if trial not in named
        )
    if named:
        return named
    situation = situation_of(typed)
    if situation is not None:
        return store.find_trials(situation) or remembered
    if remembered:
        return remembered
    return store.trials() if LIKE_ME_WORDS.search(typed) else []


def corrected_trials(store: KnowledgeStore, text: str) -> list[Trial]:
    """The trials a message settles on when it corrects itself or rules one out; [] when it
    does neither, or names no trial once corrected (the model's entities cannot tell which of
    two names was taken back, so these words decide)."""
    for cue in reversed(list(CORRECTION.finditer(text))):
        after = BARE_TRIAL_NUMBER.sub(lambda bare: f" care ms {bare.group(1)}", text[cue.end() :], count=1)
        found = _trials_kept(store, after)
        if found:
            return found
    return _trials_kept(store, text) if RULED_OUT.search(text) else []


def _trials_kept(store: KnowledgeStore, text: str) -> list[Trial]:
    """The trials `text` names or whose people it describes, less those it rules out; when it
    only rules trials out ("not that one, the other one"), the others."""
    kept = RULED_OUT.sub(" ", text)
    ruled_out = [trial for trial in _described(store, text) if trial not in _described(store, kept)]
    named = [trial for trial in _described(store, kept) if trial not in ruled_out]
    if named or not ruled_out:
        return named
    return [trial for trial in store.trials() if trial not in ruled_out]


def _described(store: KnowledgeStore, text: str) -> list[Trial]:
    """The trials `text` names; by the one situation it describes when it names none."""
    named = store.find_trials(text)
    situation = situation_of(text) if not named else None
    return named or (store.find_trials(situation) if situation else [])


@lru_cache(maxsize=64)
def situations_of(text: str) -> tuple[str, ...]:
    """Every situation the words describe, as trial aliases. One message is asked this several
    times (which trial, the other trial, a correction, two groups compared), and the patterns
    cost up to a quarter of a second on a 2,000-character message built to be slow: once."""
    found = tuple(phrase for phrase, words in SITUATIONS.items() if words.search(text))
    if not found and RECENTLY_DIAGNOSED.search(text):
        return (NEW_TO_TREATMENT,)
    return found


def situation_of(text: str) -> str | None:
    """The person's situation, as a trial alias, when their words say it and say only one."""
    found = situations_of(text)
    return found[0] if len(found) == 1 else None


def remembered_trials(store: KnowledgeStore, tracker: Tracker) -> list[Trial]:
    keys = tracker.get_slot(SLOT)
    keys = [key for key in keys if isinstance(key, str)] if isinstance(keys, list) else []
    return [trial for trial in store.trials() if trial.key in keys]
