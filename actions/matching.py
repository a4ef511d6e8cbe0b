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
    of a short run of words near the start of the text (bounded, so a huge message stays cheap).
    """
    wanted = normalise(text)
    vocabulary = {normalise(name): thing for name, thing in names.items() if normalise(name)}
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
        (SequenceMatcher(None, b=name, autojunk=False), thing)
        for name, thing in vocabulary.items()
        if len(name) >= SHORTEST_FUZZY_NAME
    ]
    best_score, best = 0.0, None
    for size in range(1, LONGEST_PHRASE + 1):
        for start in range(len(words) - size + 1):
            phrase = " ".join(words[start : start + size])
            for matcher, thing in matchers:
                matcher.set_seq1(phrase)
                if not _could_beat(matcher.real_quick_ratio(), best_score) or not _could_beat(
                    matcher.quick_ratio(), best_score
                ):
                    continue
                score = matcher.ratio()
                if score > best_score:
                    best_score, best = score, thing
    return best if best_score >= FUZZY_CUTOFF else None


def _could_beat(upper_bound: float, best_score: float) -> bool:
    return upper_bound >= FUZZY_CUTOFF and upper_bound > best_score
