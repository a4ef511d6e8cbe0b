"""Fold the many ways a message can be encoded into one plain form, remembering where each
character came from.

Phones, word processors and "fancy text" sites send letters that look alike but are different
characters: fullwidth letters ("ｍｙ ｃｈｅｓｔ"), mathematical bold, curly apostrophes,
non-breaking spaces, accents typed as separate marks, and invisible characters inside words
(zero-width spaces and joiners, the word joiner, a byte-order mark, soft hyphens). A rule written
for "chest" must still see "chest" in all of them, and the place it reports (the `red_flag`
entity's offsets) must be in the text as it was typed.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Typed for an apostrophe: curly quotes, the modifier letter, prime, acute and grave accents, and
# the fullwidth apostrophe. Mapped before decomposing, which would split the acute accent in two.
APOSTROPHES = frozenset("\u2018\u2019\u201b\u02bc\u02b9\u2032\u00b4`\uff07")
DASHES = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d")
LINE_BREAKS = frozenset("\n\r\u2028\u2029\x85")
# Not changed by casefolding or decomposition, but read as "i" by anyone who is not Turkish.
OTHER_LETTERS = {"\u0131": "i"}


@dataclass(frozen=True)
class NormalisedText:
    """A message in plain form (`text`), with the position in the original message of the
    character each of its characters came from (`origins`)."""

    original: str
    text: str
    origins: tuple[int, ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original message that `text[start:end]` came from: from the first
        character's origin to the end of the last one's, with any accent typed after it."""
        if not start < end <= len(self.text):
            raise ValueError(f"not a span of the normalised text: {start}:{end}")
        first, last = self.origins[start], self.origins[end - 1] + 1
        while last < len(self.original) and unicodedata.category(self.original[last]).startswith("M"):
            last += 1
        return first, last


def normalise(text: str, keep_accents: bool = False) -> NormalisedText:
    """`text` folded to plain lower case: compatibility forms replaced by the letters they stand
    for (NFKD), case folded, invisible format characters removed, every apostrophe, dash and
    space made the plain one, and accents removed unless `keep_accents` (then left as separate
    marks after their letter).

    Character by character, so that each output character knows where it came from."""
    folded: list[str] = []
    origins: list[int] = []
    for position, character in enumerate(text):
        for plain in _fold(character, keep_accents):
            folded.append(plain)
            origins.append(position)
    return NormalisedText(text, "".join(folded), tuple(origins))


def strip_accents(text: str) -> str:
    """`text` without its combining marks (accents), after decomposing."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not _is_accent(c))


def _fold(character: str, keep_accents: bool) -> str:
    if character in APOSTROPHES:
        return "'"
    if character in DASHES:
        return "-"
    if character in LINE_BREAKS:
        return "\n"
    if character.isspace():
        return " "
    if unicodedata.category(character) == "Cf":  # zero-width space and joiners, BOM, soft hyphen
        return ""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", character).casefold())
    kept = (c for c in decomposed if keep_accents or not _is_accent(c))
    return "".join(OTHER_LETTERS.get(c, c) for c in kept)


def _is_accent(character: str) -> bool:
    """A combining mark that sits on a letter (Mn, Me), not one that is a letter's vowel sign
    in scripts such as Devanagari (Mc)."""
    return unicodedata.category(character) in ("Mn", "Me")
