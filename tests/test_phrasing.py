"""How comparisons are put into words, on rows built in memory: a difference that could be
down to chance is never called an improvement, and a relative figure always comes with the
absolute figures it is relative to. The rule comes from the stored interval and p-value."""

from __future__ import annotations

from actions.models import Arm, Comparison, Endpoint, Result
from actions.phrasing import describe_comparison, is_significant

NEW = Arm(key="new", name="new medicine", role="experimental", position=1, treatment_id=1)
OLD = Arm(key="old", name="old medicine", role="comparator", position=2, treatment_id=2)
WORSE_DISABILITY = Endpoint(
    name="disability getting worse",
    plain_name="disability getting worse",
    outcome_phrase="had disability that got worse",
    better_when="lower",
)
HEADLINE = [
    Result(arm=NEW, value=8.0, unit="percent", estimate="crude proportion"),
    Result(arm=OLD, value=11.1, unit="percent", estimate="crude proportion"),
]


def comparison(**figures) -> Comparison:
    return Comparison(
        experimental_arm=NEW, comparator_arm=OLD, measure="hazard ratio", ci_level=95, **figures
    )


def test_a_difference_that_could_be_chance_is_said_so_and_never_called_an_improvement() -> None:
    unclear = comparison(value=0.70, ci_lower=0.40, ci_upper=1.23, relative_change=30, p_value=0.22)
    said = " ".join(describe_comparison(WORSE_DISABILITY, unclear, HEADLINE))
    assert is_significant(unclear) is False
    assert "could be due to chance (p=0.22)" in said
    assert "did not show that new medicine was better or worse" in said
    assert "improvement" not in said
    assert "This 30% difference is a relative figure." in said


def test_a_clear_difference_is_an_improvement_with_its_absolute_figures() -> None:
    clear = comparison(value=0.58, ci_lower=0.38, ci_upper=0.87, relative_change=42, p_value=0.0084)
    said = " ".join(describe_comparison(WORSE_DISABILITY, clear, HEADLINE))
    assert "This 42% improvement is a relative figure." in said
    assert "In plain numbers, about 8 in 100 people on new medicine had disability that got worse." in said
    assert "On old medicine, it was about 11 in 100 people." in said


def test_without_a_p_value_the_interval_decides() -> None:
    assert is_significant(comparison(value=0.7, ci_lower=0.4, ci_upper=1.23)) is False
    assert is_significant(comparison(value=0.5, ci_lower=0.3, ci_upper=0.8)) is True
    assert is_significant(Comparison(experimental_arm=NEW, comparator_arm=OLD)) is None
