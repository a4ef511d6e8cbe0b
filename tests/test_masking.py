"""What the content team may read of a patient's words (reports/masking.py).

The report lists the questions the assistant could not answer. Before any is shown, the obvious
personal details in it are replaced by their kind: names said as names, email addresses, phone
numbers in UK and international styles, NHS-style numbers and dates (of birth or any other). The
question itself, and any trial figure in it, stays readable: a report of "[phone]" alone would
tell the team nothing.
"""

from __future__ import annotations

import pytest

from reports.masking import mask


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("email me at jo.bloggs+ms@example.org please", "email me at [email] please"),
        ("JO_BLOGGS@NHS.NET", "[email]"),
    ],
)
def test_an_email_address_is_masked(typed: str, shown: str) -> None:
    assert mask(typed) == shown


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("ring me on 07700 900123", "ring me on [phone]"),
        ("ring me on 07700900123.", "ring me on [phone]."),
        ("my landline is (020) 7946 0958", "my landline is [phone]"),
        ("my landline is 020-7946-0958", "my landline is [phone]"),
        ("call +44 7700 900123 after 5", "call [phone] after 5"),
        ("call +44 (0)20 7946 0958", "call [phone]"),
        ("in the US: +1 415-555-0100", "in the US: [phone]"),
        ("en France 0033 1 23 45 67 89", "en France [phone]"),
        ("+33 1 23 45 67 89", "[phone]"),
    ],
)
def test_a_phone_number_is_masked_in_uk_and_international_styles(typed: str, shown: str) -> None:
    assert mask(typed) == shown


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("my NHS number is 943 476 5919", "my NHS number is [NHS number]"),
        ("nhs no 943-476-5919, can you check?", "nhs no [NHS number], can you check?"),
        ("9434765919", "[NHS number]"),
    ],
)
def test_an_nhs_style_number_is_masked_with_or_without_spaces(typed: str, shown: str) -> None:
    assert mask(typed) == shown


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("born 12/03/1980, is it safe?", "born [date], is it safe?"),
        ("dob 12-03-80", "dob [date]"),
        ("since 1980-03-12", "since [date]"),
        ("I was born on 12th of March 1980", "I was born on [date]"),
        ("my infusion is on 3 may", "my infusion is on 3 may"),  # "may" the verb, not the month
        ("my infusion is on 3 May", "my infusion is on [date]"),
        ("diagnosed March 12th, 2019", "diagnosed [date]"),
        ("diagnosed in sept 2019", "diagnosed in [date]"),
        ("I was born in 1980", "I was born in [date]"),
        ("DOB: 1980", "DOB: [date]"),
    ],
)
def test_a_date_of_birth_or_any_other_date_is_masked(typed: str, shown: str) -> None:
    assert mask(typed) == shown


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("my name is Jo Bloggs and I relapsed", "my name is [name] and I relapsed"),
        ("my name is jo bloggs", "my name is [name]"),
        ("my name is jo and I relapsed", "my name is [name] and I relapsed"),
        ("My name's Jo.", "My name's [name]."),
        ("I'm called Sam, hi", "I'm called [name], hi"),
        ("I am called sam", "I am called [name]"),
        ("Hi I am Jo Bloggs, will it work for me", "Hi I am [name], will it work for me"),
        ("I’m Priya and newly diagnosed", "I’m [name] and newly diagnosed"),
        ("hello, I'm Dr O'Neil", "hello, I'm [name]"),
    ],
)
def test_a_name_said_as_a_name_is_masked(typed: str, shown: str) -> None:
    assert mask(typed) == shown


def test_a_uk_postcode_is_masked() -> None:
    assert (
        mask("is there a clinic near SW1A 1AA or ls6 2ab?")
        == "is there a clinic near [postcode] or [postcode]?"
    )


@pytest.mark.parametrize(
    "question",
    [
        "how many relapsed on alemtuzumab 12 mg and 24 mg?",
        "is 0.18 relapses a year better than 0.39?",
        "35 in 100 vs 51 in 100, is that a lot?",
        "what happened in CARE-MS II between 2007 and 2009?",
        "I am worried about infections",
        "I am on Lemtrada and I'm scared of the drip",
        "what does EDSS mean?",
        "after 5 years how many needed a 3rd course?",
        "what about ocrelizumab in MS?",
        "the rates 0.18 0.39 and 0.26 0.52 confuse me",
        "what happened from 2007-2009 and 2009-2011?",
    ],
)
def test_a_question_without_personal_details_is_shown_as_typed(question: str) -> None:
    """Trial figures, doses, years and medicine names are what the content team needs to see."""
    assert mask(question) == question


def test_a_question_with_every_kind_of_detail_keeps_its_question() -> None:
    typed = (
        "My name is Jo Bloggs, NHS number 943 476 5919, born 12/03/1980. Email jo@example.org or "
        "ring 07700 900123: does ocrelizumab work better?"
    )
    assert mask(typed) == (
        "My name is [name], NHS number [NHS number], born [date]. Email [email] or "
        "ring [phone]: does ocrelizumab work better?"
    )
