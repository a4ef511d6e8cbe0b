"""Find which known name a person meant, allowing for typos and other words for the same thing."""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import Mapping, TypeVar

T = TypeVar("T")

FUZZY_CUTOFF = 0.84
SHORTEST_FUZZY_NAME = 5  # short names ("IFN", "CI") must be written exactly
LONGEST_PHRASE = 4
FUZZY_SCAN_WORDS = 200  # misspellings are looked for in the first words of a message only


def normalise(text: str) -> str:
    """Lower case, punctuation as spaces: "Interferon-beta-1a?" -> "interferon beta 1a"."""
    return " ".join(re.sub(r"[^\w%]+", " ", text.casefold()).split())


def find_mention(text: str, names: Mapping[str, T]) -> T | None:
    """The thing whose name (or alias) `text` is, or mentions; None when nothing is close.

    An exact name wins, then the longest name found inside the text, then the closest spelling
    of a short run of words near the start of the text (bounded, so a huge message stays cheap);
    a near spelling keeps the name's short words exactly as they are.
    """
    wanted = normalise(text)
    vocabulary = _vocabulary(names)
    if not wanted or not vocabulary:
        return None
    if wanted in vocabulary:
        return vocabulary[wanted]
    padded = f" {wanted} "
    for name in sorted(vocabulary, key=len, reverse=True):
        if f" {name} " in padded:
            return vocabulary[name]

    words = wanted.split()[:FUZZY_SCAN_WORDS]
    # One matcher per name, prepared once; difflib's cheap upper bounds rule most pairs out before
    # the full comparison. Only a pair that could beat both the cutoff and the best so far is
    # compared in full, so the result is exactly what comparing every pair would give.
    matchers = [
        (SequenceMatcher(None, b=name, autojunk=False), _short_words(name), thing)
        for name, thing in vocabulary.items()
        if len(name) >= SHORTEST_FUZZY_NAME
    ]
    best_score, best = 0.0, None
    for size in range(1, LONGEST_PHRASE + 1):
        for start in range(len(words) - size + 1):
            phrase_words = words[start : start + size]
            phrase = " ".join(phrase_words)
            for matcher, short_words, thing in matchers:
                if not short_words.issubset(phrase_words):
                    continue
                matcher.set_seq1(phrase)
                if not _could_beat(matcher.real_quick_ratio(), best_score) or not _could_beat(
                    matcher.quick_ratio(), best_score
                ):
                    continue
                score = matcher.ratio()
                if score > best_score:
                    best_score, best = score, thing
    return best if best_score >= FUZZY_CUTOFF else None


def _vocabulary(names: Mapping[str, T]) -> dict[str, T]:
    """Each name normalised, with the thing it names; names that normalise to nothing dropped."""
    normalised = ((normalise(name), thing) for name, thing in names.items())
    return {name: thing for name, thing in normalised if name}


def _short_words(name: str) -> frozenset[str]:
    """A name's short words, which a near spelling must still contain exactly: "no treatment" is
    not "on treatment", though the letters are nearly the same."""
    return frozenset(word for word in name.split() if len(word) < SHORTEST_FUZZY_NAME)


def _could_beat(upper_bound: float, best_score: float) -> bool:
    return upper_bound >= FUZZY_CUTOFF and upper_bound > best_score


def find_all_mentions(text: str, names: Mapping[str, T]) -> list[T]:
    """Every thing whose name `text` contains, exactly (after `normalise`), in the order written.

    Longer names are found first and their words are then taken, so a shorter name inside a
    longer one ("treated before" inside "not been treated before") is not found as well.
    """
    wanted = f" {normalise(text)} "
    vocabulary = _vocabulary(names)
    taken = [False] * len(wanted)
    found: list[tuple[int, T]] = []
    for name in sorted(vocabulary, key=len, reverse=True):
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
