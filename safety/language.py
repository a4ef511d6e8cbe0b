"""Tell whether a message is written in English, by a fixed rule rather than a model.

The assistant understands English only, and a person writing in another language must at least
be told so, in a reply that also says how to get urgent help. The rule and its word lists are
in `knowledge/languages.yml`, where anyone can read them; nothing is downloaded and no model is
needed, so the gate that answers emergencies when Rasa is down can use it too
(`looks_english`). It asks for clear evidence, so that English with a borrowed word, a drug's
name or a person's name, and English typed in a hurry, stays English.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from safety.normalise import normalise, strip_accents

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LANGUAGES_FILE = PROJECT_ROOT / "knowledge" / "languages.yml"
LEAST_SCRIPT_LETTERS = 2  # one stray letter (a "µ" in "5 µg" becomes Greek) is no evidence


class LanguageFileError(ValueError):
    """The languages file is missing or malformed."""


@dataclass(frozen=True)
class LanguageCheck:
    """The rule of `knowledge/languages.yml`, with its words folded to plain lower case without
    accents. A word in two lists, English and another, is in neither here; a name word is in
    none of the other languages."""

    enough_words: int
    other_scripts: frozenset[str]
    english: frozenset[str]
    languages: dict[str, frozenset[str]]

    @classmethod
    def from_file(cls, path: Path = LANGUAGES_FILE) -> LanguageCheck:
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise LanguageFileError(f"{path}: cannot be read: {error}") from error
        if not isinstance(document, dict):
            raise LanguageFileError(f"{path}: needs enough_words, other_scripts, english and languages")
        enough = document.get("enough_words")
        if not isinstance(enough, int) or enough < 2:
            raise LanguageFileError(f"{path}: enough_words must be a whole number, 2 or more")
        english = _words(path, "english", document.get("english"))
        names = _words(path, "name_words", document.get("name_words"))
        languages = document.get("languages")
        if not isinstance(languages, dict) or not languages:
            raise LanguageFileError(f"{path}: needs 'languages', each with a list of words")
        listed = {str(name): _words(path, f"languages: {name}", words) for name, words in languages.items()}
        scripts = _words(path, "other_scripts", document.get("other_scripts"))
        return cls(
            enough_words=enough,
            other_scripts=frozenset(script.upper() for script in scripts),
            english=english.difference(*listed.values()),  # "was" is German too: neither
            languages={name: words - english - names for name, words in listed.items()},
        )

    def other_language(self, text: str) -> str | None:
        """The language (or script) a message looks written in, if it clearly is not English;
        None for English, or when there is too little to tell."""
        folded = normalise(text, keep_accents=True).text
        words = list(_words_of(folded))
        english = sum(plain in self.english for plain, had_accents in words if not had_accents)
        script_letters = [s for s in map(_script, folded) if s in self.other_scripts]
        if len(script_letters) >= LEAST_SCRIPT_LETTERS:
            in_scripts = sum(any(_script(c) in self.other_scripts for c in plain) for plain, _ in words)
            if in_scripts > english:
                return f"{max(set(script_letters), key=script_letters.count)} script"
        counts = {
            name: sum(plain in vocabulary for plain, _ in words)
            for name, vocabulary in self.languages.items()
        }
        language, most = max(counts.items(), key=lambda item: item[1])
        if most >= self.enough_words and most > english:
            return language
        return None

    def looks_english(self, text: str) -> bool:
        """Whether the message is in English, or too short to tell."""
        return self.other_language(text) is None


@lru_cache(maxsize=1)
def default_check() -> LanguageCheck:
    """The rule of the project's `knowledge/languages.yml`, read once."""
    return LanguageCheck.from_file()


def looks_english(text: str) -> bool:
    """Whether a message is in English (or too short to tell), by the project's rule in
    `knowledge/languages.yml`."""
    return default_check().looks_english(text)


def _words(path: Path, where: str, words: Any) -> frozenset[str]:
    """A list of the file, folded as messages are; refused unless every word is text (YAML
    reads an unquoted no, on or yes as true or false)."""
    if not isinstance(words, list) or not words:
        raise LanguageFileError(f"{path}: {where}: needs a list of words")
    not_text = [word for word in words if not isinstance(word, str)]
    if not_text:
        raise LanguageFileError(f"{path}: {where}: {not_text[0]!r} is not a word: put it in quotes")
    return frozenset(strip_accents(normalise(word).text).strip() for word in words)


def _words_of(folded: str) -> Iterator[tuple[str, bool]]:
    """Each word of a normalised message (letters and accents, with apostrophes inside), without
    its accents, and whether it had any."""
    word: list[str] = []
    for position, character in enumerate(folded + " "):
        inside = character == "'" and bool(word) and folded[position + 1 : position + 2].isalpha()
        if character.isalpha() or unicodedata.category(character).startswith("M") or inside:
            word.append(character)
        elif word:
            typed = "".join(word)
            plain = strip_accents(typed)
            yield plain, plain != typed
            word = []


def _script(character: str) -> str:
    """The script of a letter, as the first word of its Unicode name ("CYRILLIC"); "" for
    anything else."""
    if not character.isalpha():
        return ""
    return unicodedata.name(character, "").split(" ")[0].split("-")[0]
