"""Mask the obvious personal details in what a patient typed, before the content team reads it.

The report shows the questions the assistant could not answer, because they say what content is
missing. People put their own details in them ("my name is Jo, call me on 07700 900123"), and the
report is read by people who must not see those. So every text is passed through `mask` first:
each detail is replaced by what kind it was, in square brackets, and the question stays readable.

What is masked, in this order (each kind's marker in brackets):

- email addresses: `[email]`;
- NHS-style numbers, 3-3-4 digits with spaces, hyphens or nothing between: `[NHS number]`;
- dates, written with digits ("12/03/1980", "1980-03-12") or with a month's name ("12 March
  1980", "March 12th", "March 1980"), and a year of birth ("born in 1980"): `[date]`;
- phone numbers, UK ("07700 900123", "(020) 7946 0958") and international ("+44 7700 900123",
  "+1 415 555 0100", "0033 1 23 45 67 89"): a run of digits and separators holding at least 9
  digits, or at least 8 after "+" or "00": `[phone]`;
- UK postcodes ("SW1A 1AA"): `[postcode]`;
- names after "my name is", "my name's", "name:", "I'm called" and "I am called", and a
  capitalised name after "I am" or "I'm" ("I am Jo Bloggs"): `[name]`.

It is a net for the obvious, not a guarantee: a name written with no such lead-in ("Jo here")
is not found. Figures from the trials ("24 mg", "0.18 relapses a year", "35 in 100", "in 2012")
are left alone: no rule takes fewer than 8 digits in a row or a date without a day or month.
"""

from __future__ import annotations

import re

EMAIL = "[email]"
NHS_NUMBER = "[NHS number]"
DATE = "[date]"
PHONE = "[phone]"
POSTCODE = "[postcode]"
NAME = "[name]"
MARKERS = (EMAIL, NHS_NUMBER, DATE, PHONE, POSTCODE, NAME)

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# 3-3-4 digits, the same separator (a space, a hyphen or none) both times.
_NHS_NUMBER = re.compile(r"(?<![\d+])\b\d{3}([ -]?)\d{3}\1\d{4}\b(?![ -]?\d)")

_MONTHS = (
    r"(?:(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)|May)"  # "may" is a verb
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_DATES = [
    re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}\b"),  # 1980-03-12
    re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b"),  # 12/03/1980, 12.3.80, 12-03-1980
    re.compile(rf"\b{_DAY}(?:\s+of)?\s+{_MONTHS}\b\.?(?:,?\s+\d{{4}}\b)?"),  # 12th of March 1980
    re.compile(rf"\b{_MONTHS}\.?\s+{_DAY}\b(?:,?\s+\d{{4}}\b)?"),  # March 12th, 1980
    re.compile(rf"\b{_MONTHS}\.?\s+\d{{4}}\b"),  # March 1980
    # A year of birth ("born in 1980"); "born on" or "date of birth" with a date is caught above.
    re.compile(r"(?P<lead>(?i:\b(?:born|d\.?o\.?b\.?|date of birth)(?:\s+in)?:?\s+))\d{4}\b"),
]

# Digits with spaces, dots, hyphens or brackets between, led by "+" or "00" or not; how many
# digits it holds decides (`_phone`), so that a few figures in a row are not taken for one.
_PHONE = re.compile(r"(?<![\w+])(?:\+|\b00)?\(?\d[\d\s().-]{5,}\d\b(?![\d])")
_INTERNATIONAL_PHONE = re.compile(r"(?<![\w+])(?:\+|\b00)\(?\d[\d\s().-]{5,}\d\b(?![\d])")
PHONE_DIGITS = 9
INTERNATIONAL_PHONE_DIGITS = 8

_POSTCODE = re.compile(r"(?i:\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b)")

# A name: "Jo", "O'Neil", "Smith-Jones" ("MS" is no name). After a lead-in that says a name
# follows, one or two words whatever their case (a second only if it is not an everyday word);
# after "I am" or "I'm", only capitalised words, since "I am worried" names no one.
_NAME_WORD = r"[A-Za-z][A-Za-z'-]*"
_CAPITALISED = r"[A-Z](?:[a-z]|'[A-Z])[A-Za-z'-]*"
_APOSTROPHE = "['’]?"  # "I'm", "I’m" (phones type the curly one) or "Im"
_SAID_NAME = re.compile(
    rf"(?i:\b(?:my\s+name\s+is|my\s+name{_APOSTROPHE}s|name\s*:|i{_APOSTROPHE}m\s+called"
    rf"|i\s+am\s+called))\s+({_NAME_WORD})(\s+{_NAME_WORD})?"
)
_I_AM_NAME = re.compile(rf"(?i:\b(?:i\s+am|i{_APOSTROPHE}m))\s+({_CAPITALISED}(?:\s+{_CAPITALISED}){{0,2}})")
EVERYDAY_WORDS = frozenset(
    """a an and or but so i im i'm my me is was am are have has had do did not no yes from in on
    at to of for with by about and the this that it its it's just here there now then please
    thanks thank hi hello what how why when where who which can could would should will
    """.split()
)


def mask(text: str) -> str:
    """`text` with its obvious personal details replaced by their kind, e.g. "[email]"."""
    text = _EMAIL.sub(EMAIL, text)
    # An international number first: "+1 415-555-0100" ends like an NHS number.
    text = _INTERNATIONAL_PHONE.sub(_phone, text)
    text = _NHS_NUMBER.sub(NHS_NUMBER, text)
    for pattern in _DATES:
        text = pattern.sub(_date, text)
    text = _PHONE.sub(_phone, text)
    text = _POSTCODE.sub(POSTCODE, text)
    text = _SAID_NAME.sub(_said_name, text)
    return _I_AM_NAME.sub(_name_after_i_am, text)


def _date(match: re.Match[str]) -> str:
    return f"{match.groupdict().get('lead') or ''}{DATE}"


def _phone(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = sum(character.isdigit() for character in found)
    international = found.startswith(("+", "00"))
    enough = INTERNATIONAL_PHONE_DIGITS if international else PHONE_DIGITS
    return PHONE if digits >= enough else found


def _said_name(match: re.Match[str]) -> str:
    lead = match.group(0)[: match.start(1) - match.start(0)]
    second = match.group(2)
    if second is not None and second.strip().lower() in EVERYDAY_WORDS:
        return f"{lead}{NAME}{second}"
    return f"{lead}{NAME}"


def _name_after_i_am(match: re.Match[str]) -> str:
    lead = match.group(0)[: match.start(1) - match.start(0)]
    return f"{lead}{NAME}"
