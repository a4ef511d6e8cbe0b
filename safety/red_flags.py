"""Spot messages that describe a possible emergency, by fixed rules rather than a learned model.

The rules live in `knowledge/red_flags.yml`, where a clinician can read and change them. A
match escalates unless its sentence only asks about the trial or the medicine in general
("how common were headaches?"); a sentence that says it is happening to the writer, or
someone with them, always escalates.

The rules are matched on the message in plain form (`safety.normalise`), so fullwidth or bold
letters, curly apostrophes and invisible characters inside words hide nothing; each alarm still
points at the words as they were typed. A message can raise several flags, and every one is
answered: `check_all` finds them all, and `urgent_reply_kind` says which wording of the urgent
reply (`utter_urgent_help`) fits them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from safety.normalise import normalise

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RED_FLAGS_FILE = PROJECT_ROOT / "knowledge" / "red_flags.yml"
RED_FLAGS_FILE_VARIABLE = "RED_FLAGS_FILE"
CUE_KINDS = ("general_question_cues", "personal_cues", "not_now_cues", "happening_now_cues")
# A sentence ends at a full stop, "!", "?", ";" or a new line; a point between digits ("a
# temperature of 39.8") does not end it.
SENTENCE = re.compile(r"(?:[^.!?;\n]|(?<=\d)\.(?=\d))+")
CLAUSE_BREAK = re.compile(r",|\b(and|but|also|btw|so|though)\b")
SELF_HARM = "self_harm"  # the key of the one red flag whose reply needs other words
# The `red_flag` slot value, and so the wording of `utter_urgent_help`, for a message raising
# thoughts of self-harm and a physical emergency together (see `urgent_reply_kind`).
SELF_HARM_AND_PHYSICAL = "self_harm_and_physical"


class RedFlagFileError(ValueError):
    """The red-flag file is missing, malformed, or has a pattern that does not compile."""


@dataclass(frozen=True)
class RedFlag:
    key: str
    name: str
    patterns: tuple[re.Pattern, ...]
    always: bool = False


@dataclass(frozen=True)
class Alarm:
    """A red flag found in a message: which one, and where the words that raised it are."""

    flag: RedFlag
    start: int
    end: int


def _compile(path: Path, where: str, pattern: Any) -> re.Pattern:
    try:
        return re.compile(str(pattern))
    except re.error as error:
        raise RedFlagFileError(f"{path}: {where}: pattern {pattern!r} does not compile: {error}") from error


class RedFlagChecker:
    """Checks one message against every red flag."""

    def __init__(
        self,
        flags: list[RedFlag],
        cues: dict[str, list[re.Pattern]],
        emergency_contact: str,
    ):
        self.flags = flags
        self.cues = cues
        self.emergency_contact = emergency_contact

    @classmethod
    def from_file(cls, path: Path = RED_FLAGS_FILE) -> RedFlagChecker:
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise RedFlagFileError(f"{path}: cannot be read: {error}") from error
        if not isinstance(document, dict) or not document.get("red_flags"):
            raise RedFlagFileError(f"{path}: needs a 'red_flags' list")
        flags = []
        for number, entry in enumerate(document["red_flags"], start=1):
            where = (
                f"red flag {entry.get('key', f'#{number}')!r}"
                if isinstance(entry, dict)
                else f"red flag #{number}"
            )
            if not isinstance(entry, dict) or not entry.get("key") or not entry.get("patterns"):
                raise RedFlagFileError(f"{path}: {where}: needs a 'key' and 'patterns'")
            flags.append(
                RedFlag(
                    key=str(entry["key"]),
                    name=str(entry.get("name") or entry["key"]),
                    patterns=tuple(_compile(path, where, p) for p in entry["patterns"]),
                    always=bool(entry.get("always", False)),
                )
            )
        cues = {name: [_compile(path, name, p) for p in document.get(name) or []] for name in CUE_KINDS}
        if SELF_HARM not in {flag.key for flag in flags}:
            raise RedFlagFileError(f"{path}: needs the red flag {SELF_HARM!r}: its reply has its own words")
        contact = str(document.get("emergency_contact") or "").strip()
        if not contact:
            raise RedFlagFileError(f"{path}: needs an 'emergency_contact'")
        return cls(flags, cues, contact)

    def check_all(self, text: str) -> list[Alarm]:
        """Every red flag the message raises, once each: self-harm first, then in the order they
        appear. Self-harm leads because a person who says it must hear first that they matter,
        even when they also describe chest pain."""
        plain = normalise(text)
        found: dict[str, Alarm] = {}
        for sentence in SENTENCE.finditer(plain.text):
            for flag in self.flags:
                if flag.key in found:
                    continue
                # Every match counts, not only the first: in "I'm peeing blood and I coughed up
                # blood too, I had the drip last year" the first match's clause is over, the
                # other's is happening now.
                matches = (m for pattern in flag.patterns for m in pattern.finditer(sentence.group()))
                match = next((m for m in matches if flag.always or not self._calm(sentence.group(), m)), None)
                if match:
                    start, end = sentence.start() + match.start(), sentence.start() + match.end()
                    while end < len(plain.text) and plain.text[end].isalnum():  # finish the word: "swell|ing"
                        end += 1
                    found[flag.key] = Alarm(flag, *plain.original_span(start, end))
        return sorted(found.values(), key=lambda alarm: (alarm.flag.key != SELF_HARM, alarm.start))

    def check(self, text: str) -> Alarm | None:
        """The red flag the reply must answer first, or None: the first of `check_all`."""
        alarms = self.check_all(text)
        return alarms[0] if alarms else None

    def _calm(self, sentence: str, match: re.Match) -> bool:
        """Whether a red-flag match only asks in general, about what to watch for, or about
        something that is over; never when its clause says it is happening now.

        "Now", "over" and personal words count only in the match's own clause, so that "her face
        has gone droopy, she had her drip last month" still escalates and "the leaflet mentions
        suicidal thoughts and I wanted to understand" does not. A general question counts in
        the whole sentence.
        """

        def says(kind: str, text: str) -> bool:
            return any(cue.search(text) for cue in self.cues[kind])

        clause = _clause_around(sentence, match)
        if says("happening_now_cues", clause):
            return False
        if says("not_now_cues", clause):
            return True
        return says("general_question_cues", sentence) and not says("personal_cues", clause)


def _clause_around(sentence: str, match: re.Match) -> str:
    """The part of a sentence, between commas or joining words, that holds the match."""
    start, end = 0, len(sentence)
    for cut in CLAUSE_BREAK.finditer(sentence):
        if cut.end() <= match.start():
            start = cut.end()
        elif cut.start() >= match.end():
            end = cut.start()
            break
    return sentence[start:end]


def urgent_reply_kind(alarms: Sequence[Alarm]) -> str | None:
    """The value of the `red_flag` slot that picks the wording of `utter_urgent_help` for these
    alarms (as `check_all` returns them): `SELF_HARM_AND_PHYSICAL` when thoughts of self-harm
    come with a physical emergency, so one reply answers both, self-harm first; otherwise the
    first flag's key ("self_harm" has its own wording, every physical flag the default one).
    None when nothing was raised: there is no urgent reply to give.

    The one place this is decided: the NLU component and the gate that answers emergencies
    when Rasa is down both call it."""
    keys = [alarm.flag.key for alarm in alarms]
    if not keys:
        return None
    if SELF_HARM in keys and len(keys) > 1:
        return SELF_HARM_AND_PHYSICAL
    return keys[0]


def red_flags_file(environment: Mapping[str, str] = os.environ) -> Path:
    """The rules this process checks with: `$RED_FLAGS_FILE`, else the project's file."""
    return Path(environment.get(RED_FLAGS_FILE_VARIABLE) or RED_FLAGS_FILE)


@lru_cache(maxsize=1)
def red_flag_checker() -> RedFlagChecker:
    """The rules, read once per process: the NLU component, the gate that answers emergencies
    before Rasa runs, and the emergency number in every reply all use the same file."""
    return RedFlagChecker.from_file(red_flags_file())
