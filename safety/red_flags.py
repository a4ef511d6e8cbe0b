"""Spot messages that describe a possible emergency, by fixed rules rather than a learned model.

The rules live in `knowledge/red_flags.yml`, where a clinician can read and change them. A
match escalates unless its sentence only asks about the trial or the medicine in general
("how common were headaches?"); a sentence that says it is happening to the writer, or
someone with them, always escalates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RED_FLAGS_FILE = PROJECT_ROOT / "knowledge" / "red_flags.yml"
CUE_KINDS = ("general_question_cues", "personal_cues", "not_now_cues", "happening_now_cues")
SENTENCE = re.compile(r"[^.!?;\n]+")
CLAUSE_BREAK = re.compile(r",|\b(and|but|also|btw|so|though)\b")


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
        contact = str(document.get("emergency_contact") or "").strip()
        if not contact:
            raise RedFlagFileError(f"{path}: needs an 'emergency_contact'")
        return cls(flags, cues, contact)

    def check(self, text: str) -> Alarm | None:
        """The first red flag the message raises, or None."""
        lowered = text.lower().replace("\u2019", "'")  # lower() keeps offsets into `text`
        for sentence in SENTENCE.finditer(lowered):
            for flag in self.flags:
                match = next((m for p in flag.patterns if (m := p.search(sentence.group()))), None)
                if match and (flag.always or not self._calm(sentence.group(), match)):
                    start, end = sentence.start() + match.start(), sentence.start() + match.end()
                    while end < len(text) and text[end].isalnum():  # finish the word: "swell|ing"
                        end += 1
                    return Alarm(flag, start, end)
        return None

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
