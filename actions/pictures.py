"""Pictures of a result, as data the channel draws: every number comes from a store row.

Two kinds, after the research on showing trial results to patients:
- an icon array: 100 people for each group, those it happened to filled in, groups side by side
  (one for each result counted in people, under the answer on that result);
- a facts box: what happened to every 100 people in each group, benefits and harms in rows, side
  by side (under an answer on a trial's main results, or trials side by side).

Each picture carries its text alternative (`alt`, the figures in words, said to screen readers)
and a plain text table (`table`, for the terminal and Telegram), both written here so the
grounding and reading-level checks see them. A difference that could be due to chance is
marked so, and the widget draws it without the colours that set the groups apart.
"""

from __future__ import annotations

from typing import Any, Sequence

from actions import phrasing
from actions.answers import (
    SUMMARY_TOPICS,
    brief_endpoints,
    experimental_treatment,
    has_answer,
    headline_results,
    safety_figures_from,
    scope_refusal,
)
from actions.models import Endpoint, Result, Treatment, Trial
from actions.phrasing import PER, capitalised, in_every_hundred
from actions.store import KnowledgeStore
from actions.topics import SAME_IN_EVERY_TRIAL

PICTURE = "picture"  # the key of the custom payload that carries one
ICON_ARRAY = "icon_array"
FACTS_BOX = "facts_box"
PEOPLE_PER_CELL = 5  # a bar in the text table has a cell for every 5 people in 100
CLEAR = phrasing.CLEAR_DIFFERENCE
UNCLEAR = "No clear difference: it could be due to chance."
NOT_TESTED = "My sources give no test of chance for this."
DOES_NOT_APPLY = "does not apply"
# The same verdicts in a facts box's narrow "Could it be chance?" column.
IN_A_WORD = {True: "Unlikely to be chance", False: "Could be chance", None: "Not tested"}
PerGroup = dict[str, Any]


def pictures_for(
    store: KnowledgeStore,
    topic: str,
    treatment: Treatment | None = None,
    text: str = "",
    trials: Sequence[Trial] = (),
) -> list[dict[str, Any]]:
    """The pictures under the answer `compose_answer` gives to the same question (none when it
    refuses, or has no result counted per group)."""
    if topic in SAME_IN_EVERY_TRIAL or scope_refusal(store, treatment, text, trials) is not None:
        return []
    asked = list(trials) or [store.trial()]
    if topic in SUMMARY_TOPICS:
        return [box for trial in asked if (box := facts_box(store, trial, treatment)) is not None]
    pictures = []
    for trial in asked:
        if not has_answer(store, trial, topic):
            continue
        endpoints = store.endpoints_on(trial, topic)
        if any(endpoint.category == "efficacy" for endpoint in endpoints):
            endpoints = brief_endpoints(endpoints, text)
        pictures.extend(
            picture
            for endpoint in endpoints
            if (picture := icon_array(trial, endpoint, treatment)) is not None
        )
    return pictures


def icon_array(trial: Trial, endpoint: Endpoint, treatment: Treatment | None = None) -> dict[str, Any] | None:
    """100 people for each group with a figure in percent; None when no group has one."""
    lead = treatment or experimental_treatment(trial)
    results = phrasing.arms_in_order(headline_results(endpoint), lead.id if lead else None)
    counted = [r for r in results if r.value is not None and r.unit == "percent"]
    if not counted:
        return None
    groups = [_group(result) for result in counted]
    verdict, clear = _chance(endpoint) if len(counted) > 1 else ("", None)
    figures = " ".join(
        f"On {g['name']}, {g['people']} in {PER} {endpoint.outcome_phrase} ({g['percent']}%)." for g in groups
    )
    left_out = [r.arm.name for r in results if r.value is None]
    no_figure = f" It does not apply to {phrasing.listing(left_out)}." if left_out else ""
    alt = f"A picture from the {trial.name} trial. It shows {PER} people in each group. "
    alt += f"{figures}{no_figure} {verdict}"
    table = "\n".join(
        [
            f"{trial.name}: how many people in {PER} {endpoint.outcome_phrase}.",
            *(f"{_bar(g['people'])} {g['people']} on {g['name']}." for g in groups),
            *(f"It {DOES_NOT_APPLY} to {name}." for name in left_out),
            verdict,
        ]
    )
    return {
        "kind": ICON_ARRAY,
        "trial": trial.name,
        "title": capitalised(endpoint.outcome_phrase),
        "per": PER,
        "groups": groups,
        "happened": endpoint.outcome_phrase,
        "clear_difference": clear,
        "verdict": verdict,
        "alt": " ".join(alt.split()),
        "table": table.strip(),
    }


def facts_box(
    store: KnowledgeStore, trial: Trial, treatment: Treatment | None = None
) -> dict[str, Any] | None:
    """A trial's main results and its harms, for every 100 people in each group."""
    lead = treatment or experimental_treatment(trial)
    arms = phrasing.arms_in_order(
        [r for e in trial.endpoints for r in e.results if r.arm.role != "exploratory"],
        lead.id if lead else None,
    )
    names = list(dict.fromkeys(result.arm.name for result in arms))
    rows = [
        row
        for endpoint in trial.endpoints
        if endpoint.category == "efficacy" and (row := _row("Benefits", endpoint, names)) is not None
    ]
    measured = safety_figures_from(store, trial)
    harms = [
        row
        for endpoint in store.caveat_endpoints(measured)
        if (row := _row("Harms", endpoint, names)) is not None
    ]
    if not rows:
        return None
    borrowed = f"The harms are from the {measured.name} trial." if harms and measured is not trial else ""
    rows.extend(harms)
    lines = []
    for index, row in enumerate(rows):
        if index == 0 or row["section"] != rows[index - 1]["section"]:
            lines.append(f"{row['section']}:")
        lines.append(_row_in_words(row, names))
    title = f"{trial.name}: what happened to every {PER} people in each group"
    return {
        "kind": FACTS_BOX,
        "trial": trial.name,
        "title": title,
        "per": PER,
        "groups": names,
        "rows": rows,
        "note": borrowed,
        "alt": " ".join(
            [
                f"A table from the {trial.name} trial.",
                f"It shows what happened to every {PER} people in each group.",
            ]
            + [line.replace(":", ".") if line.endswith(":") else line for line in lines]
            + ([borrowed] if borrowed else [])
        ),
        "table": "\n".join(
            [f"{title}.", *(line if line.endswith(":") else f"- {line}" for line in lines), borrowed]
        ).strip(),
    }


def _row(section: str, endpoint: Endpoint, names: list[str]) -> dict[str, Any] | None:
    """One row of a facts box: the endpoint's figure for each group, per 100 people; None for a
    result not counted in people (a change in a score) or with no figure in any group."""
    by_arm: dict[str, Result] = {r.arm.name: r for r in headline_results(endpoint)}
    units = {r.unit for r in by_arm.values() if r.value is not None}
    if not units or not units <= set(phrasing.IN_BRIEF) or len(units) > 1:
        return None
    (unit,) = units
    rate = unit == "per person per year"  # said as events for every 100 people
    values = []
    for name in names:
        result = by_arm.get(name)
        if result is None or result.value is None:
            values.append(None)
        else:
            values.append(in_every_hundred(result.value * (PER if rate else 1)))
    verdict, clear = _chance(endpoint) if sum(v is not None for v in values) > 1 else ("", None)
    label = capitalised(endpoint.outcome_phrase) + (f", for every {PER} people" if rate else "")
    return {
        "section": section,
        "label": label,
        "counts": "events" if rate else "people",
        "values": values,
        "clear_difference": clear,
        "verdict": verdict,
        "chance": IN_A_WORD[clear] if verdict else "",
    }


def _row_in_words(row: dict[str, Any], names: list[str]) -> str:
    """ "Had at least one relapse over the 2 years: N on A. M on B. <verdict>" (a sentence a
    group: the reading level of a table said aloud)"""
    said = ". ".join(
        f"{value} on {name}" if value is not None else f"{DOES_NOT_APPLY} to {name}"
        for name, value in zip(names, row["values"], strict=True)
    )
    return f"{row['label']}: {said}." + (f" {row['verdict']}" if row["verdict"] else "")


def _group(result: Result) -> PerGroup:
    return {
        "name": result.arm.name,
        "people": in_every_hundred(result.value),
        "percent": phrasing.number(result.value),
    }


def _chance(endpoint: Endpoint) -> tuple[str, bool | None]:
    """What the picture says of the difference between the groups, and whether it is clear."""
    verdicts = [phrasing.is_significant(comparison) for comparison in endpoint.comparisons]
    if False in verdicts:
        return UNCLEAR, False
    if True in verdicts:
        return CLEAR, True
    return NOT_TESTED, None


def _bar(people: int) -> str:
    """ "●●●●●●●○○○...": a filled cell for every 5 people it happened to, in 100."""
    cells = PER // PEOPLE_PER_CELL
    filled = round(people / PEOPLE_PER_CELL)
    return "●" * filled + "○" * (cells - filled)


def in_words(pictures: list[dict[str, Any]]) -> str:
    """Pictures as the text tables the terminal shows."""
    return "\n\n".join(picture["table"] for picture in pictures)
