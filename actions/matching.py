"""Find which known name a person meant, allowing for typos and other words for the same thing."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Mapping, TypeVar

T = TypeVar("T")

FUZZY_CUTOFF = 0.84
SHORTEST_FUZZY_NAME = 5  # short names ("IFN", "CI") must be written exactly
LONGEST_PHRASE = 4
NEGATING_WORD = re.compile(r"^(un|non)\w\w\w+|^(without|never|none)$")
FUZZY_SCAN_WORDS = 200  # misspellings are looked for in the first words of a message only


def normalise(text: str) -> str:
    """Lower case, punctuation as spaces: "Interferon-beta-1a?" -> "interferon beta 1a"."""
    return " ".join(re.sub(r"[^\w%]+", " ", text.casefold()).split())


def find_mention(text: str, names: Mapping[str, T], cutoff: float = FUZZY_CUTOFF) -> T | None:
    """The thing whose name (or alias) `text` is, or mentions; None when nothing is close.

    An exact name wins, then the longest name found inside the text, then the closest spelling
    of a short run of words near the start of the text (bounded, so a huge message stays cheap),
    at least `cutoff` alike; a near spelling keeps the name's short words exactly as they are.
    """
    wanted = normalise(text)
    vocabulary, known = _vocabulary(names)
    if not wanted or not vocabulary:
        return None
    if wanted in vocabulary:
        return vocabulary[wanted]
    padded = f" {wanted} "
    for name in known.longest_first:
        if f" {name} " in padded:
            return vocabulary[name]
    closest = _closest_spelling(wanted.split()[:FUZZY_SCAN_WORDS], known, cutoff)
    return vocabulary[closest] if closest is not None else None


@dataclass(frozen=True)
class _Spelling:
    """A name as its near spellings are judged: its letters counted, its short words kept."""

    name: str
    letters: Counter[str]
    short_words: frozenset[str]


@dataclass(frozen=True)
class _Names:
    """What matching needs of a set of names, worked out once per set (they come from the store
    and change only when it is rebuilt)."""

    normalised: tuple[str, ...]  # each given name, normalised, in the order given
    longest_first: tuple[str, ...]  # the distinct normalised names, longest first
    spellable: tuple[_Spelling, ...]  # the names long enough to be found by near spelling
    _in_reach: dict[tuple[int, float], tuple[_Spelling, ...]] = field(default_factory=dict, compare=False)

    def in_reach(self, length: int, cutoff: float) -> tuple[_Spelling, ...]:
        """The spellable names, in order, that a phrase this long could be close enough to: by
        length alone (difflib's first bound), ratio = 2 * shorter / (both) at best."""
        if (length, cutoff) not in self._in_reach:
            self._in_reach[(length, cutoff)] = tuple(
                spelling
                for spelling in self.spellable
                if 2.0 * min(length, len(spelling.name)) / (length + len(spelling.name)) >= cutoff
            )
        return self._in_reach[(length, cutoff)]


def _closest_spelling(words: list[str], known: _Names, cutoff: float = FUZZY_CUTOFF) -> str | None:
    """The name closest in spelling to a run of up to `LONGEST_PHRASE` words, if close enough.

    Exactly what comparing every pair with difflib's ratio would give, first best kept. Two
    cheap upper bounds of that ratio (difflib's own: from the lengths, then from the letters in
    common) rule most pairs out; only a pair that could beat both the cutoff and the best so far
    is compared in full.
    """
    best_score, best = 0.0, None
    for size in range(1, LONGEST_PHRASE + 1):
        for start in range(len(words) - size + 1):
            phrase_words = words[start : start + size]
            phrase = " ".join(phrase_words)
            letters: Counter[str] | None = None
            for spelling in known.in_reach(len(phrase), cutoff):
                total = len(phrase) + len(spelling.name)
                if not _could_beat(2.0 * min(len(phrase), len(spelling.name)) / total, best_score, cutoff):
                    continue
                if not spelling.short_words.issubset(phrase_words):
                    continue
                letters = letters or Counter(phrase)
                shared = sum(min(count, letters[letter]) for letter, count in spelling.letters.items())
                if not _could_beat(2.0 * shared / total, best_score, cutoff):
                    continue
                score = SequenceMatcher(None, phrase, spelling.name, autojunk=False).ratio()
                if score > best_score:
                    best_score, best = score, spelling.name
    return best if best_score >= cutoff else None


def _vocabulary(names: Mapping[str, T]) -> tuple[dict[str, T], _Names]:
    """Each name normalised, with the thing it names (names that normalise to nothing dropped),
    and what matching needs of those names."""
    known = _prepared(tuple(names))
    vocabulary = {name: thing for name, thing in zip(known.normalised, names.values(), strict=True) if name}
    return vocabulary, known


@lru_cache(maxsize=64)
def _prepared(names: tuple[str, ...]) -> _Names:
    normalised = tuple(normalise(name) for name in names)
    distinct = tuple(dict.fromkeys(name for name in normalised if name))
    return _Names(
        normalised=normalised,
        longest_first=tuple(sorted(distinct, key=len, reverse=True)),
        spellable=tuple(
            _Spelling(name, Counter(name), _short_words(name))
            for name in distinct
            if len(name) >= SHORTEST_FUZZY_NAME
        ),
    )


def _short_words(name: str) -> frozenset[str]:
    """A name's short words, and its words that negate, which a near spelling must still contain
    exactly: "no treatment" is not "on treatment", nor "untreated people" "newly treated people",
    though the letters are nearly the same."""
    return frozenset(
        word for word in name.split() if len(word) < SHORTEST_FUZZY_NAME or NEGATING_WORD.match(word)
    )


def _could_beat(upper_bound: float, best_score: float, cutoff: float) -> bool:
    return upper_bound >= cutoff and upper_bound > best_score


def find_all_mentions(text: str, names: Mapping[str, T]) -> list[T]:
    """Every thing whose name `text` contains, exactly (after `normalise`), in the order written.

    Longer names are found first and their words are then taken, so a shorter name inside a
    longer one ("treated before" inside "not been treated before") is not found as well.
    """
    wanted = f" {normalise(text)} "
    vocabulary, known = _vocabulary(names)
    taken = [False] * len(wanted)
    found: list[tuple[int, T]] = []
    for name in known.longest_first:
        needle = f" {name} "
        start = wanted.find(needle)
        while start != -1:
            span = range(start + 1, start + len(needle) - 1)
            if not any(taken[i] for i in span):
                for i in span:
                    taken[i] = True
                found.append((start, vocabulary[name]))
            start = wanted.find(needle, start + 1)
    found.sort(key=lambda pair: pair[0])
    unique: list[T] = []
    for _, thing in found:
        if thing not in unique:
            unique.append(thing)
    return unique
