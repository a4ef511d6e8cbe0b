"""Turn rows from the knowledge store into plain words.

Every number said here comes from a row; this module holds only the wording around it.
Percentages are also said as natural frequencies ("about 30 in 100 people"), which
people understand better than percentages, and relative figures are always paired with the
absolute ones they came from.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Sequence

from actions.models import Comparison, ContentReview, Endpoint, Result, Source
from actions.reviews import CLINICAL_REVIEW

PER = 100  # natural frequencies are said "in 100 people"
IN_BRIEF = ("percent", "per person per year")  # the units a short answer says in its own words
CHANCE_THRESHOLD = 0.05  # the usual line for "unlikely to be due to chance"
CLEAR_DIFFERENCE = "The difference is unlikely to be due to chance."
# The words a patient may have read, said after the plain verdict (the detailed answer only).
SIGNIFICANT = "So it was statistically significant."
NOT_SIGNIFICANT = "So it was not statistically significant."

ESTIMATE_MEANINGS = {
    "crude proportion": "It is simply the people it happened to, out of everyone in the group.",
    "Kaplan-Meier estimate": "It allows for people who left the trial early.",
    "annualised rate": "It is the average for one person over one year.",
    "mean change": "It is the average change for one person.",
}
RATIO_SUBJECTS = {
    "hazard ratio": "the chance of {name}",
    "risk ratio": "the chance of {name}",
    "odds ratio": "the odds of {name}",
    "rate ratio": "the {name}",
}


def number(value: float) -> str:
    """A stored number as written in the source: 5.0 -> "5", 0.0042 -> "0.0042"."""
    text = f"{abs(value):.10f}".rstrip("0").rstrip(".")
    return f"-{text}" if value < 0 else text


def in_every_hundred(value: float) -> int:
    """A percentage (or a rate per person) as whole people in 100, rounding halves up."""
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def ratio(value: float) -> str:
    """A ratio or its interval as papers print them, to 2 decimal places: 0.6 -> "0.60"."""
    return f"{value:.2f}"


def listing(names: Sequence[str], last: str = "and") -> str:
    """ "A", "A and B", "A, B and C" (or "A, B or C")."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" {last} {names[-1]}"


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def sentence(text: str) -> str:
    """Capitalise the first letter and end with a full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


def people_in_every_hundred(result: Result) -> str:
    """A percentage as a natural frequency: 29.6% -> "about 30 in 100 people"."""
    return f"about {in_every_hundred(result.value)} in {PER} people"


def percent_detail(result: Result) -> str:
    """The exact figure behind a natural frequency: "30%, or 60 of 200 people"."""
    detail = f"{number(result.value)}%"
    if result.count is not None and result.denominator is not None:
        detail += f", or {result.count} of {result.denominator} people"
    return detail


def describe_result(endpoint: Endpoint, result: Result, first: bool = True) -> str:
    """One arm's figure in short sentences. The `first` arm said gets the full wording; the
    next ones say only their figure ("On B, it was ...")."""
    arm = result.arm.name
    if result.value is None:
        return f"This does not apply to {arm}. {sentence(result.not_applicable)}"
    if result.unit == "percent":
        if first:
            said = f"{capitalised(people_in_every_hundred(result))} on {arm} {endpoint.outcome_phrase}."
        else:
            said = f"On {arm}, it was {people_in_every_hundred(result)}."
        return f"{said} That is {percent_detail(result)}."
    if result.unit == "per person per year":
        per_hundred = in_every_hundred(result.value * PER)
        return (
            f"On {arm}, people had {number(result.value)} {endpoint.outcome_phrase} on average. "
            f"That is about {per_hundred} {endpoint.outcome_phrase} in a group of {PER} people."
        )
    went, verdict = _points_direction(endpoint, result.value)
    return (
        f"On {arm}, the {endpoint.outcome_phrase} {went} by {number(abs(result.value))} points "
        f"on average.{verdict}"
    )


def brief_figures(endpoint: Endpoint, results: Sequence[Result], say_what: bool = True) -> list[str]:
    """Each group's figure in the same short sentence, the first group first, so they compare at
    a glance: "On A, about N in 100 (N%). On B, ..." after a sentence naming what
    was counted (unless not `say_what`: the sentence before said it). Figures of another kind are
    said as `describe_result` says them."""
    if not results or any(r.value is None or r.unit not in IN_BRIEF for r in results):
        return [describe_result(endpoint, result, first=index == 0) for index, result in enumerate(results)]
    if results[0].unit == "percent":
        return [
            f"Here is how many people {endpoint.outcome_phrase}." if say_what else "",
            *(
                f"On {r.arm.name}, about {in_every_hundred(r.value)} in {PER} ({number(r.value)}%)."
                for r in results
            ),
        ]
    first, *others = results
    return [
        f"People on {first.arm.name} had {number(first.value)} {endpoint.outcome_phrase} on average.",
        *(f"On {r.arm.name}, it was {number(r.value)}." for r in others),
    ]


def brief_verdict(comparison: Comparison) -> str:
    """Whether a difference could be due to chance, in one short sentence (no figures)."""
    significant = is_significant(comparison)
    if significant is True:
        return CLEAR_DIFFERENCE
    if significant is False:
        return "The difference could be due to chance."
    return ""


def _points_direction(endpoint: Endpoint, value: float) -> tuple[str, str]:
    if value == 0:
        return "did not change", ""
    better = (value < 0) == (endpoint.better_when == "lower")
    return ("went up" if value > 0 else "went down"), (" That is better." if better else " That is worse.")


def describe_other_estimate(endpoint: Endpoint, estimate: str, results: Sequence[Result]) -> str:
    """The same endpoint counted another way, e.g. a Kaplan-Meier estimate beside a crude count."""
    figures = " and ".join(f"{number(r.value)}% on {r.arm.name}" for r in results)
    meaning = ESTIMATE_MEANINGS.get(estimate, "")
    return (
        f"There is another way to count this. It is called a {estimate}. {meaning} "
        f"Counted this way, it was {figures}."
    )


def is_significant(comparison: Comparison) -> bool | None:
    """Whether a difference is unlikely to be due to chance, from the stored p-value or interval.

    None when the store holds neither, so nothing is claimed.
    """
    if comparison.p_value is not None:
        if comparison.p_value_is_upper_bound:
            return comparison.p_value <= CHANCE_THRESHOLD
        return comparison.p_value < CHANCE_THRESHOLD
    if comparison.ci_lower is not None and comparison.ci_upper is not None:
        return comparison.ci_upper < 1 or comparison.ci_lower > 1
    return None


def p_value_text(comparison: Comparison) -> str:
    sign = "<" if comparison.p_value_is_upper_bound else "="
    return f"p{sign}{number(comparison.p_value)}"


def confidence_interval(comparison: Comparison) -> str:
    """ "95% confidence interval 0.50 to 1.50", or "" when the store holds no interval."""
    if comparison.ci_lower is None or comparison.ci_upper is None:
        return ""
    return (
        f"{number(comparison.ci_level)}% confidence interval "
        f"{ratio(comparison.ci_lower)} to {ratio(comparison.ci_upper)}"
    )


def no_clear_difference(endpoint: Endpoint) -> str:
    """The verdict that leads an answer whose difference could be due to chance (the groups are
    named in the figures that follow)."""
    return f"there was no clear difference between the groups in {endpoint.plain_name}"


def describe_comparison(endpoint: Endpoint, comparison: Comparison, headline: Sequence[Result]) -> list[str]:
    """What a between-arm comparison means, in words: size, absolute figures, and chance.

    A difference that could be due to chance gets no direction ("lower") and is never called
    an improvement: the answer leads with `no_clear_difference` instead.
    """
    experimental = comparison.experimental_arm.name
    comparator = comparison.comparator_arm.name
    significant = is_significant(comparison)
    sentences: list[str] = []

    if comparison.measure is not None and comparison.value is not None:
        subject = RATIO_SUBJECTS[comparison.measure].format(name=endpoint.plain_name)
        verb = "lower" if comparison.value < 1 else "higher"
        change = comparison.relative_change
        if significant is not False:
            size = f"{number(abs(change))}% {verb}" if change is not None else verb
            sentences.append(sentence(f"{subject} was {size} on {experimental} than on {comparator}"))
        interval = confidence_interval(comparison)
        numbers = f"In numbers: {comparison.measure} {ratio(comparison.value)}"
        sentences.append(f"{numbers}, {interval}." if interval else f"{numbers}.")
        if interval and comparison.ci_lower < 1 < comparison.ci_upper:
            sentences.append(
                "The confidence interval is the range the real result most likely lies in. This one "
                f"goes from lower to higher. So on {experimental}, {subject} could really be lower. "
                f"Or it could be about the same, or higher than on {comparator}."
            )
        absolute = _absolute_terms(endpoint, headline)
        if absolute and change is not None:
            favourable = (comparison.value < 1) == (endpoint.better_when == "lower")
            name = "improvement" if favourable and significant else "difference"
            sentences.append(f"This {number(abs(change))}% {name} is a relative figure. {absolute}")

    if significant is True:
        detail = f" ({p_value_text(comparison)})" if comparison.p_value is not None else ""
        sentences.append(f"A difference this big is unlikely to be due to chance{detail}.")
        sentences.append(SIGNIFICANT)
    elif significant is False:
        detail = f" ({p_value_text(comparison)})" if comparison.p_value is not None else ""
        sentences.append(
            f"A difference this small could be due to chance{detail}. So the trial did not show that "
            f"{experimental} was better or worse than {comparator} on this."
        )
        sentences.append(NOT_SIGNIFICANT)
    return sentences


def verdict(comparison: Comparison) -> str:
    """A comparison in one line, for trials put side by side: its figures, then chance."""
    figures = []
    if comparison.measure is not None and comparison.value is not None:
        figures.append(f"{comparison.measure} {ratio(comparison.value)}")
        figures.append(confidence_interval(comparison))
    figures = [figure for figure in figures if figure]
    if comparison.p_value is not None:
        figures.append(p_value_text(comparison))
    said = f" ({', '.join(figures)})" if figures else ""
    significant = is_significant(comparison)
    if significant is True:
        return f"A difference this big is unlikely to be due to chance{said}."
    if significant is False:
        return f"No clear difference: it could be due to chance{said}."
    return ""


def figures_side_by_side(endpoint: Endpoint, results: Sequence[Result]) -> str:
    """Each arm's figure in a short sentence of the same shape: "On A, about 12 in 100 (12%).
    On B, ..."."""
    said = []
    for result in [r for r in results if r.value is not None]:
        arm = result.arm.name
        if result.unit == "percent":
            said.append(
                f"On {arm}, about {in_every_hundred(result.value)} in {PER} ({number(result.value)}%)."
            )
        elif result.unit == "per person per year":
            said.append(f"On {arm}, {number(result.value)} {endpoint.outcome_phrase} on average.")
        else:
            went, _ = _points_direction(endpoint, result.value)
            said.append(f"On {arm}, it {went} by {number(abs(result.value))} points.")
    said.extend(f"It does not apply to {r.arm.name}." for r in results if r.value is None)
    return " ".join(said)


def _absolute_terms(endpoint: Endpoint, headline: Sequence[Result]) -> str:
    """ "In plain numbers: about 10 in 100 people on A <outcome>. On B, it was about 30." """
    percents = [r for r in headline if r.value is not None and r.unit == "percent"]
    if len(percents) < 2:
        return ""
    first, *others = percents
    said = (
        f"In plain numbers, {people_in_every_hundred(first)} on {first.arm.name} {endpoint.outcome_phrase}."
    )
    for other in others:
        said += f" On {other.arm.name}, it was {people_in_every_hundred(other)}."
    return said


def arms_in_order(results: Iterable[Result], treatment_id: int | None = None) -> list[Result]:
    """The asked-about treatment's results first, then the others in the file's order."""
    return sorted(results, key=lambda r: (r.arm.treatment_id != treatment_id, r.arm.position))


def source_line(sources: Iterable[Source]) -> str:
    """ "Source: A." or "Sources: A. B." with each source once, in first-used order."""
    seen: dict[str, Source] = {}
    for source in sources:
        seen.setdefault(source.key, source)
    if not seen:
        return ""
    said = [sentence(source.short_citation) for source in seen.values()]
    return ("Source: " if len(said) == 1 else "Sources: ") + " ".join(said)


def review_line(reviews: Iterable[ContentReview], today: date | None = None) -> str:
    """When the facts of an answer were last checked, from the reviews of the files they came from.

    It follows the source line, so "Checked" reads as checked against those sources. Several
    files: the oldest check is said. A check against the sources is never said as a clinician's
    review. A file past its review date says so: loaded on purpose after it, or loaded before
    it and still served.
    """
    today = today or date.today()
    reviews = list({review.file: review for review in reviews if review is not None}.values())
    if not reviews:
        return ""
    oldest = min(reviews, key=lambda review: review.reviewed_on)
    month = f"{oldest.reviewed_on:%B %Y}"
    if any(review.kind != CLINICAL_REVIEW for review in reviews):
        said = f"Checked {month}. No doctor has reviewed it yet."
    else:
        said = f"Reviewed by our {oldest.reviewed_by} in {month}."
    late = [review for review in reviews if review.override_reason or review.next_review_due < today]
    if late:
        due = min(review.next_review_due for review in late)
        said += f" It was due for review in {due:%B %Y}, so it may be out of date."
    return said


def source_listing(source: Source) -> str:
    """One source for the "where do the figures come from?" answer: plain name, date, link."""
    text = f"{sentence(source.short_citation)} Published {source.published}."
    return f"{text} {source.link}" if source.link else text
