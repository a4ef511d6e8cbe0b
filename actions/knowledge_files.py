"""Read and check the human-readable knowledge files.

The files are the source of truth; the database is built from them. Everything is checked
before the database is touched, and every problem names its file and entry, so a clinician
editing a file can find and fix it. See `knowledge/README.md` for the format.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import yaml
from sqlalchemy import inspect

from actions.models import (
    Arm,
    Cited,
    Comparison,
    ContentReview,
    Endpoint,
    FollowUp,
    FollowUpMeasure,
    FollowUpResult,
    GlossaryTerm,
    Guidance,
    OtherTrial,
    Result,
    SafetyFinding,
    Source,
    Treatment,
    Trial,
)
from actions.reviews import Overdue, read_review, relative_path
from safety.red_flags import RedFlagChecker, RedFlagFileError

REVIEW = "review"

UNITS = ("percent", "per person per year", "points")
FOLLOW_UP_UNITS = ("percent", "per person per year")
ESTIMATES = ("crude proportion", "Kaplan-Meier estimate", "annualised rate", "mean change")
RATIO_MEASURES = ("hazard ratio", "rate ratio", "risk ratio", "odds ratio")
ARM_ROLES = ("experimental", "comparator", "exploratory")
CATEGORIES = ("efficacy", "safety")
DIRECTIONS = ("lower", "higher")
P_VALUE_PATTERN = re.compile(r"^\s*(<)?\s*(\d*\.?\d+(?:[eE]-?\d+)?)\s*$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in one entry of one knowledge file."""

    file: Path
    entry: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.entry}: {self.message}"


class KnowledgeError(Exception):
    """The knowledge files have problems; nothing was loaded."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key written twice in one mapping (YAML would keep the last)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict:
    seen: set = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the field {key!r} is written twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass
class Knowledge:
    """Everything read from the knowledge files, as unsaved rows."""

    reviews: list[ContentReview] = field(default_factory=list)
    sources: dict[str, Source] = field(default_factory=dict)
    treatments: dict[str, Treatment] = field(default_factory=dict)
    guidance: list[Guidance] = field(default_factory=list)
    glossary: list[GlossaryTerm] = field(default_factory=list)
    trials: list[Trial] = field(default_factory=list)
    other_trials: list[OtherTrial] = field(default_factory=list)

    def rows(self) -> list[Any]:
        return [
            *self.reviews,
            *self.sources.values(),
            *self.treatments.values(),
            *self.guidance,
            *self.glossary,
            *self.trials,
            *self.other_trials,
        ]


class _Entry:
    """Reads the fields of one entry, noting problems instead of stopping at the first."""

    def __init__(
        self,
        problems: list[Problem],
        file: Path,
        label: str,
        data: Any,
        fields: Iterable[str],
    ):
        self.problems, self.file, self.label = problems, file, label
        self.data: dict = data if isinstance(data, dict) else {}
        if not isinstance(data, dict):
            self.problem("should be a set of `field: value` lines")
        unknown = sorted(set(self.data) - set(fields))
        for name in unknown:
            self.problem(f"unknown field {name!r} (expected: {', '.join(fields)})")

    def problem(self, message: str) -> None:
        self.problems.append(Problem(self.file, self.label, message))

    def text(self, name: str, required: bool = True) -> str | None:
        value = self.data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problem(f"missing {name!r}")
            return None
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.problem(f"{name!r} should be text")
            return None
        return " ".join(str(value).split())

    def number(self, name: str, required: bool = False) -> float | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.problem(f"missing {name!r}")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            self.problem(f"{name!r} should be a number, not {value!r}")
            return None
        return float(value)

    def whole_number(self, name: str) -> int | None:
        value = self.number(name)
        if value is None:
            return None
        if value < 0 or value != int(value):
            self.problem(f"{name!r} should be a whole number of people, not {value:g}")
            return None
        return int(value)

    def flag(self, name: str) -> bool:
        value = self.data.get(name, False)
        if not isinstance(value, bool):
            self.problem(f"{name!r} should be true or false")
            return False
        return value

    def choice(self, name: str, options: tuple[str, ...], required: bool = True) -> str | None:
        value = self.text(name, required)
        if value is not None and value not in options:
            self.problem(f"{name!r} is {value!r}; it should be one of: {', '.join(options)}")
            return None
        return value

    def words(self, name: str) -> list[str]:
        value = self.data.get(name) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(f"{name!r} should be a list of words")
            return []
        return [v.strip() for v in value if v.strip()]

    def entries(self, name: str, required: bool = True) -> list[Any]:
        value = self.data.get(name)
        if value is None:
            if required:
                self.problem(f"missing {name!r}")
            return []
        if not isinstance(value, list):
            self.problem(f"{name!r} should be a list of entries")
            return []
        return value

    def sources(self, known: dict[str, Source]) -> list[Source]:
        keys = self.words("sources")
        if not keys:
            self.problem("missing 'sources': every fact must say where it comes from")
        found = []
        for key in keys:
            if key in known:
                found.append(known[key])
            else:
                self.problem(f"unknown source {key!r} (known: {', '.join(sorted(known))})")
        return found


def _each_entry(
    problems: list[Problem],
    path: Path,
    items: list,
    what: str,
    fields: tuple[str, ...],
    name_field: str = "key",
) -> Iterator[tuple[int, _Entry]]:
    """Each entry of a list, numbered from 1 and labelled by its key for messages."""
    for number, data in enumerate(items, start=1):
        yield number, _Entry(problems, path, f"{what} {_name(data, name_field, number)}", data, fields)


def read_knowledge(directory: Path, today: date | None = None, overdue: Overdue | None = None) -> Knowledge:
    """Read and check every knowledge file in `directory`; raise `KnowledgeError` on problems.

    Each file's `review:` block is read too (see `actions.reviews`): a file past its next review
    date on `today` is a problem, unless `overdue` gives the reason to load it anyway.
    """
    today = today or date.today()
    problems: list[Problem] = []
    knowledge = Knowledge()

    def reviewed(path: Path, data: Any) -> None:
        """Read a file's `review:` block, and link the rows just read from it to that review."""
        review, said = read_review(data, relative_path(path, directory), today, overdue)
        problems.extend(Problem(path, REVIEW, message) for message in said)
        if review is not None:
            knowledge.reviews.append(review)
            _link_to_review(knowledge.rows(), review)

    readers: list[tuple[Path, str, Callable[..., None]]] = [
        (directory / "sources.yml", "sources", _read_sources),
        (directory / "treatments.yml", "treatments", _read_treatments),
        (directory / "guidance.yml", "guidance", _read_guidance),
        (directory / "glossary.yml", "glossary", _read_glossary),
        (directory / "other_trials.yml", "other_trials", _read_other_trials),
    ]
    for path, section, reader in readers:
        document = _load_yaml(path, problems)
        if document is not None:
            review = document.pop(REVIEW, None) if isinstance(document, dict) else None
            top = _Entry(problems, path, "file", document, (section,))
            reader(knowledge, problems, path, top.entries(section))
            reviewed(path, review)

    trial_files = sorted((directory / "trials").glob("*.yml"))
    if not trial_files:
        problems.append(Problem(directory / "trials", "folder", "no trial files (*.yml)"))
    for path in trial_files:
        document = _load_yaml(path, problems)
        if document is not None:
            review = document.pop(REVIEW, None) if isinstance(document, dict) else None
            _read_trial(knowledge, problems, path, document)
            reviewed(path, review)

    for path in sorted((directory / "follow_ups").glob("*.yml")):
        document = _load_yaml(path, problems)
        if document is not None:
            review = document.pop(REVIEW, None) if isinstance(document, dict) else None
            _read_follow_up(knowledge, problems, path, document)
            reviewed(path, review)

    red_flags = directory / "red_flags.yml"
    try:
        RedFlagChecker.from_file(red_flags)
    except RedFlagFileError as error:
        problems.append(Problem(red_flags, "red flags", str(error)))
    else:
        document = _load_yaml(red_flags, problems)
        reviewed(red_flags, document.get(REVIEW) if isinstance(document, dict) else None)

    defaults = [trial for trial in knowledge.trials if trial.is_default]
    if len(defaults) > 1:
        names = ", ".join(trial.key for trial in defaults)
        problems.append(
            Problem(directory / "trials", "default", f"only one trial can be the default: {names}")
        )
    if problems:
        raise KnowledgeError(problems)
    return knowledge


def _link_to_review(rows: Iterable[Any], review: ContentReview) -> None:
    """Link each row stating a fact that has no review yet, and the rows under it, to `review`.

    Called after each file is read, so the rows it added (and only those) get its review: a
    trial's results hang under its endpoints, a follow-up's under its trial.
    """
    waiting, seen = list(rows), set()
    while waiting:
        row = waiting.pop()
        if id(row) in seen:
            continue
        seen.add(id(row))
        if isinstance(row, Cited) and row.review is None:
            row.review = review
        for relationship in inspect(type(row)).relationships:
            if relationship.direction.name == "ONETOMANY":
                waiting.extend(getattr(row, relationship.key))


def _load_yaml(path: Path, problems: list[Problem]) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problems.append(Problem(path, "file", f"cannot be read: {error}"))
        return None
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "file"
        reason = getattr(error, "problem", None) or str(error)
        problems.append(Problem(path, where, f"is not valid YAML: {reason}"))
        return None
    if document is None:
        problems.append(Problem(path, "file", "is empty"))
    return document


def _unique(entry: _Entry, key: str | None, seen: set[str], what: str) -> None:
    if key is None:
        return
    if key.casefold() in seen:
        entry.problem(f"duplicate {what} {key!r}")
    seen.add(key.casefold())


def _read_sources(knowledge: Knowledge, problems, path: Path, items: list) -> None:
    for _, entry in _each_entry(
        problems,
        path,
        items,
        "source",
        ("key", "citation", "short_citation", "link", "published"),
    ):
        key = entry.text("key")
        link = entry.text("link", required=False)
        if link and not link.startswith(("https://", "http://")):
            entry.problem(f"'link' should be a web address, not {link!r}")
        source = Source(
            key=key,
            citation=entry.text("citation"),
            short_citation=entry.text("short_citation"),
            link=link,
            published=entry.text("published"),
        )
        if key is not None:
            if key in knowledge.sources:
                entry.problem(f"duplicate source {key!r}")
            knowledge.sources[key] = source


def _read_treatments(knowledge: Knowledge, problems, path: Path, items: list) -> None:
    for _, entry in _each_entry(
        problems,
        path,
        items,
        "treatment",
        ("key", "name", "aliases", "what_it_is", "how_it_works", "sources"),
    ):
        key = entry.text("key")
        treatment = Treatment(
            key=key,
            name=entry.text("name"),
            aliases=entry.words("aliases"),
            what_it_is=entry.text("what_it_is", required=False),
            how_it_works=entry.text("how_it_works", required=False),
            sources=entry.sources(knowledge.sources),
        )
        if key is not None:
            if key in knowledge.treatments:
                entry.problem(f"duplicate treatment {key!r}")
            knowledge.treatments[key] = treatment


def _read_guidance(knowledge: Knowledge, problems, path: Path, items: list) -> None:
    seen: set[str] = set()
    for number, entry in _each_entry(
        problems,
        path,
        items,
        "guidance",
        ("key", "treatment", "topic", "text", "in_caveat", "short_note", "sources"),
    ):
        key = entry.text("key")
        _unique(entry, key, seen, "guidance")
        treatment = _lookup(entry, "treatment", knowledge.treatments, "treatment")
        knowledge.guidance.append(
            Guidance(
                key=key,
                treatment=treatment,
                topic=entry.text("topic"),
                text=entry.text("text"),
                in_caveat=entry.flag("in_caveat"),
                short_note=_short_note(entry),
                position=number,
                sources=entry.sources(knowledge.sources),
            )
        )


def _short_note(entry: _Entry) -> str | None:
    """The words a row says in the short safety note: only a row in the caveat has a place there."""
    note = entry.text("short_note", required=False)
    if note is not None and not entry.flag("in_caveat"):
        entry.problem("'short_note' is only said in the safety note: add 'in_caveat: true' or remove it")
    return note


def _read_glossary(knowledge: Knowledge, problems, path: Path, items: list) -> None:
    seen: set[str] = set()
    for _, entry in _each_entry(
        problems,
        path,
        items,
        "term",
        ("term", "aliases", "meaning", "sources"),
        name_field="term",
    ):
        term = entry.text("term")
        aliases = entry.words("aliases")
        for word in [term, *aliases]:
            _unique(entry, word, seen, "glossary word")
        knowledge.glossary.append(
            GlossaryTerm(
                term=term,
                aliases=aliases,
                meaning=entry.text("meaning"),
                sources=entry.sources(knowledge.sources),
            )
        )


def _read_other_trials(knowledge: Knowledge, problems, path: Path, items: list) -> None:
    seen: set[str] = set()
    for _, entry in _each_entry(problems, path, items, "other trial", ("name", "aliases"), name_field="name"):
        name = entry.text("name")
        _unique(entry, name, seen, "other trial")
        known = {trial.name.casefold() for trial in knowledge.trials}
        if name is not None and name.casefold() in known:
            entry.problem(f"{name!r} is a trial with results here, not another trial")
        knowledge.other_trials.append(OtherTrial(name=name, aliases=entry.words("aliases")))


def _read_trial(knowledge: Knowledge, problems, path: Path, document: Any) -> None:
    top = _Entry(problems, path, "file", document, ("trial", "arms", "endpoints", "safety_findings"))
    entry = _Entry(
        problems,
        path,
        "trial",
        top.data.get("trial"),
        (
            "key",
            "name",
            "default",
            "aliases",
            "title",
            "registration",
            "design",
            "population",
            "people_randomised",
            "allocation",
            "conclusion",
            "sources",
        ),
    )
    key = entry.text("key")
    if key is not None and any(trial.key == key for trial in knowledge.trials):
        entry.problem(f"duplicate trial {key!r}: another file already has it")
    trial = Trial(
        key=key,
        name=entry.text("name"),
        is_default=entry.flag("default"),
        aliases=entry.words("aliases"),
        title=entry.text("title"),
        registration=entry.text("registration", required=False),
        design=entry.text("design"),
        population=entry.text("population"),
        people_randomised=entry.whole_number("people_randomised"),
        allocation=entry.text("allocation"),
        conclusion=entry.text("conclusion"),
        sources=entry.sources(knowledge.sources),
    )
    arms = _read_arms(knowledge, problems, path, top.entries("arms"))
    trial.arms = list(arms.values())
    trial.endpoints = _read_endpoints(knowledge, problems, path, top.entries("endpoints"), arms)
    trial.safety_findings = _read_safety_findings(
        knowledge, problems, path, top.entries("safety_findings", required=False), arms
    )
    knowledge.trials.append(trial)


def _read_arms(knowledge: Knowledge, problems, path: Path, items: list) -> dict[str, Arm]:
    arms: dict[str, Arm] = {}
    for number, entry in _each_entry(
        problems,
        path,
        items,
        "arm",
        ("key", "treatment", "name", "role", "dose", "schedule", "people_analysed", "note", "sources"),
    ):
        key = entry.text("key")
        arm = Arm(
            key=key,
            treatment=_lookup(entry, "treatment", knowledge.treatments, "treatment"),
            name=entry.text("name"),
            role=entry.choice("role", ARM_ROLES),
            dose=entry.text("dose", required=False),
            schedule=entry.text("schedule", required=False),
            people_analysed=entry.whole_number("people_analysed"),
            note=entry.text("note", required=False),
            position=number,
            sources=entry.sources(knowledge.sources),
        )
        if key is not None:
            if key in arms:
                entry.problem(f"duplicate arm {key!r}")
            arms[key] = arm
    return arms


def _read_endpoints(
    knowledge: Knowledge, problems, path: Path, items: list, arms: dict[str, Arm]
) -> list[Endpoint]:
    endpoints: list[Endpoint] = []
    seen: set[str] = set()
    for number, entry in _each_entry(
        problems,
        path,
        items,
        "endpoint",
        (
            "key",
            "topic",
            "name",
            "plain_name",
            "outcome_phrase",
            "definition",
            "primary",
            "category",
            "in_caveat",
            "better_when",
            "results",
            "comparisons",
        ),
    ):
        label = entry.label
        key = entry.text("key")
        _unique(entry, key, seen, "endpoint")
        results = [
            _read_result(knowledge, problems, path, f"{label} result {index}", item, arms)
            for index, item in enumerate(entry.entries("results"), start=1)
        ]
        _check_one_result_per_arm_and_estimate(entry, results)
        comparisons = [
            _read_comparison(knowledge, problems, path, f"{label} comparison {index}", item, arms)
            for index, item in enumerate(entry.entries("comparisons", required=False), start=1)
        ]
        endpoints.append(
            Endpoint(
                key=key,
                topic=entry.text("topic"),
                name=entry.text("name"),
                plain_name=entry.text("plain_name", required=False) or entry.text("name"),
                outcome_phrase=entry.text("outcome_phrase"),
                definition=entry.text("definition"),
                is_primary=entry.flag("primary"),
                category=entry.choice("category", CATEGORIES),
                in_caveat=entry.flag("in_caveat"),
                better_when=entry.choice("better_when", DIRECTIONS),
                position=number,
                results=results,
                comparisons=comparisons,
            )
        )
    return endpoints


def _read_result(
    knowledge: Knowledge, problems, path: Path, label: str, data: Any, arms: dict[str, Arm]
) -> Result:
    entry = _Entry(
        problems,
        path,
        label,
        data,
        (
            "arm",
            "value",
            "unit",
            "count",
            "denominator",
            "timepoint",
            "estimate",
            "not_applicable",
            "sources",
        ),
    )
    arm = _lookup(entry, "arm", arms, "arm")
    sources = entry.sources(knowledge.sources)
    not_applicable = entry.text("not_applicable", required=False)
    if not_applicable is not None:
        stray = sorted({"value", "unit", "count", "denominator", "estimate"} & set(entry.data))
        if stray:
            entry.problem(f"a result that does not apply cannot have {', '.join(stray)}")
        return Result(arm=arm, not_applicable=not_applicable, sources=sources)

    value = entry.number("value", required=True)
    unit = entry.choice("unit", UNITS)
    count = entry.whole_number("count")
    denominator = entry.whole_number("denominator")
    if value is not None and unit == "percent" and not 0 <= value <= 100:
        entry.problem(f"value {value:g} is not a percentage between 0 and 100")
    if (count is None) != (denominator is None):
        entry.problem("'count' and 'denominator' go together: give both or neither")
    elif count is not None and denominator is not None:
        if denominator == 0:
            entry.problem("'denominator' cannot be 0")
        elif count > denominator:
            entry.problem(f"count {count} is larger than its denominator {denominator}")
        elif value is not None and unit == "percent":
            _check_percentage_matches_count(entry, value, count, denominator)
    return Result(
        arm=arm,
        value=value,
        unit=unit,
        count=count,
        denominator=denominator,
        timepoint=entry.text("timepoint", required=False),
        # Optional: where the source does not say how a figure was counted, it is not guessed.
        estimate=entry.choice("estimate", ESTIMATES, required=False),
        sources=sources,
    )


def _check_percentage_matches_count(entry: _Entry, value: float, count: int, denominator: int) -> None:
    """A published percentage must be its count over its denominator, rounded as published."""
    decimals = len(f"{value:g}".partition(".")[2])
    computed = 100 * count / denominator
    if abs(computed - value) > 0.5 * 10**-decimals + 1e-9:
        entry.problem(f"value {value:g}% does not match {count} of {denominator} ({computed:.1f}%)")


def _check_one_result_per_arm_and_estimate(entry: _Entry, results: list[Result]) -> None:
    seen: set[tuple] = set()
    for result in results:
        if result.arm is None:
            continue
        pair = (result.arm.key, result.estimate)
        if pair in seen:
            entry.problem(f"two results for arm {result.arm.key!r} with the same estimate")
        seen.add(pair)


def _read_comparison(
    knowledge: Knowledge, problems, path: Path, label: str, data: Any, arms: dict[str, Arm]
) -> Comparison:
    entry = _Entry(
        problems,
        path,
        label,
        data,
        (
            "experimental",
            "comparator",
            "measure",
            "value",
            "ci_lower",
            "ci_upper",
            "ci_level",
            "relative_change",
            "p_value",
            "sources",
        ),
    )
    experimental = _lookup(entry, "experimental", arms, "arm")
    comparator = _lookup(entry, "comparator", arms, "arm")
    if experimental is not None and experimental is comparator:
        entry.problem("an arm cannot be compared with itself")
    measure = entry.text("measure", required=False)
    if measure is not None and measure not in RATIO_MEASURES:
        entry.problem(f"'measure' is {measure!r}; it should be one of: {', '.join(RATIO_MEASURES)}")
    value = entry.number("value")
    ci_lower, ci_upper = entry.number("ci_lower"), entry.number("ci_upper")
    ci_level = entry.number("ci_level")
    relative_change = entry.number("relative_change")
    p_value, p_is_bound = _p_value(entry)

    if (measure is None) != (value is None):
        entry.problem("'measure' and 'value' go together: give both or neither")
    if value is not None and value <= 0:
        entry.problem(f"a ratio must be above 0, not {value:g}")
    has_interval = ci_lower is not None or ci_upper is not None
    if has_interval:
        if None in (ci_lower, ci_upper, ci_level, value):
            entry.problem("a confidence interval needs 'value', 'ci_lower', 'ci_upper' and 'ci_level'")
        elif not ci_lower <= value <= ci_upper:
            entry.problem(f"value {value:g} is not inside its interval {ci_lower:g} to {ci_upper:g}")
        elif not 0 < ci_level < 100:
            entry.problem(f"'ci_level' should be a percentage such as 95, not {ci_level:g}")
    if value is None and p_value is None:
        entry.problem("a comparison needs a ratio ('measure' and 'value') or a 'p_value'")
    if relative_change is not None and value is not None:
        if abs((1 - value) * 100 - abs(relative_change)) > 1:
            entry.problem(f"'relative_change' {relative_change:g}% does not match the ratio {value:g}")
    if has_interval and p_value is not None and None not in (ci_lower, ci_upper, ci_level):
        alpha = 1 - ci_level / 100
        interval_says = ci_upper < 1 or ci_lower > 1
        p_says = p_value <= alpha if p_is_bound else p_value < alpha
        if interval_says != p_says:
            entry.problem("the confidence interval and the p-value disagree about significance")
    return Comparison(
        experimental_arm=experimental,
        comparator_arm=comparator,
        measure=measure,
        value=value,
        ci_lower=ci_lower,
        ci_upper=ci_upper,
        ci_level=ci_level,
        relative_change=relative_change,
        p_value=p_value,
        p_value_is_upper_bound=p_is_bound,
        sources=entry.sources(knowledge.sources),
    )


def _p_value(entry: _Entry) -> tuple[float | None, bool]:
    """A p-value is written as a number or as text such as "<0.001"."""
    raw = entry.data.get("p_value")
    if raw is None:
        return None, False
    match = P_VALUE_PATTERN.match(str(raw))
    if not match or not 0 < float(match.group(2)) <= 1:
        entry.problem(f"'p_value' should be a number between 0 and 1, or like \"<0.001\", not {raw!r}")
        return None, False
    return float(match.group(2)), match.group(1) == "<"


def _read_safety_findings(
    knowledge: Knowledge, problems, path: Path, items: list, arms: dict[str, Arm]
) -> list[SafetyFinding]:
    findings: list[SafetyFinding] = []
    seen: set[str] = set()
    for number, entry in _each_entry(
        problems,
        path,
        items,
        "safety finding",
        ("key", "topic", "arm", "in_caveat", "short_note", "statement", "sources"),
    ):
        key = entry.text("key")
        _unique(entry, key, seen, "safety finding")
        arm = _lookup(entry, "arm", arms, "arm") if "arm" in entry.data else None
        findings.append(
            SafetyFinding(
                key=key,
                topic=entry.text("topic"),
                arm=arm,
                in_caveat=entry.flag("in_caveat"),
                short_note=_short_note(entry),
                statement=entry.text("statement"),
                position=number,
                sources=entry.sources(knowledge.sources),
            )
        )
    return findings


NO_COMPARISON_GROUP = "a follow-up study has no comparison group, so it cannot have comparisons"


def _read_follow_up(knowledge: Knowledge, problems, path: Path, document: Any) -> None:
    """A follow-up of one trial's group (an extension study): one group, no comparisons.

    It is attached to the trial it follows on from, which must be a trial with results here.
    """
    top = _Entry(problems, path, "file", document, ("follow_up", "arms", "measures", "comparisons"))
    if "comparisons" in top.data:
        top.problem(NO_COMPARISON_GROUP)
    entry = _Entry(
        problems,
        path,
        "follow-up",
        top.data.get("follow_up"),
        ("key", "trial", "name", "registration", "design", "who_is_counted", "extra_treatment", "sources"),
    )
    key = entry.text("key")
    follow_ups = [f for trial in knowledge.trials for f in trial.follow_ups]
    if key is not None and any(f.key == key for f in follow_ups):
        entry.problem(f"duplicate follow-up {key!r}: another file already has it")
    trials = {trial.key: trial for trial in knowledge.trials if trial.key}
    trial = _lookup(entry, "trial", trials, "trial")
    follow_up = FollowUp(
        key=key,
        name=entry.text("name"),
        registration=entry.text("registration", required=False),
        design=entry.text("design"),
        who_is_counted=entry.text("who_is_counted"),
        extra_treatment=entry.text("extra_treatment", required=False),
        sources=entry.sources(knowledge.sources),
    )
    follow_up.arm = _read_follow_up_arm(knowledge, problems, path, top.entries("arms"), trial)
    follow_up.measures = _read_follow_up_measures(knowledge, problems, path, top.entries("measures"))
    if trial is not None:
        trial.follow_ups.append(follow_up)


def _read_follow_up_arm(
    knowledge: Knowledge, problems, path: Path, items: list, trial: Trial | None
) -> Arm | None:
    """The one group followed: an arm of the trial, named by its key."""
    if len(items) != 1:
        named = ", ".join(_name(item, "arm", number) for number, item in enumerate(items, start=1))
        problems.append(
            Problem(
                path,
                "arms",
                f"a follow-up study follows one group and has no comparison group; "
                f"it lists {len(items)}: {named or 'none'}",
            )
        )
    arm: Arm | None = None
    for _, entry in _each_entry(problems, path, items[:1], "arm", ("arm", "sources"), name_field="arm"):
        entry.sources(knowledge.sources)
        if trial is not None:
            arm = _lookup(entry, "arm", {arm.key: arm for arm in trial.arms}, "arm of the trial")
    return arm


def _read_follow_up_measures(
    knowledge: Knowledge, problems, path: Path, items: list
) -> list[FollowUpMeasure]:
    measures: list[FollowUpMeasure] = []
    seen: set[str] = set()
    for number, entry in _each_entry(
        problems,
        path,
        items,
        "measure",
        ("key", "topic", "name", "outcome_phrase", "definition", "results", "comparisons"),
    ):
        key = entry.text("key")
        _unique(entry, key, seen, "measure")
        if "comparisons" in entry.data:
            entry.problem(NO_COMPARISON_GROUP)
        results = [
            _read_follow_up_result(knowledge, problems, path, f"{entry.label} result {index}", item)
            for index, item in enumerate(entry.entries("results"), start=1)
        ]
        measures.append(
            FollowUpMeasure(
                key=key,
                topic=entry.text("topic"),
                name=entry.text("name"),
                outcome_phrase=entry.text("outcome_phrase"),
                definition=entry.text("definition", required=False),
                position=number,
                results=results,
            )
        )
    return measures


def _read_follow_up_result(
    knowledge: Knowledge, problems, path: Path, label: str, data: Any
) -> FollowUpResult:
    entry = _Entry(problems, path, label, data, ("value", "unit", "period", "sources"))
    value = entry.number("value", required=True)
    unit = entry.choice("unit", FOLLOW_UP_UNITS)
    if value is not None and unit == "percent" and not 0 <= value <= 100:
        entry.problem(f"value {value:g} is not a percentage between 0 and 100")
    return FollowUpResult(
        value=value,
        unit=unit,
        period=entry.text("period"),
        sources=entry.sources(knowledge.sources),
    )


def _lookup(entry: _Entry, name: str, known: dict[str, Any], what: str) -> Any:
    key = entry.text(name)
    if key is None:
        return None
    if key not in known:
        entry.problem(f"unknown {what} {key!r} (known: {', '.join(sorted(known)) or 'none'})")
        return None
    return known[key]


def _name(data: Any, field_name: str, number: int) -> str:
    """How an entry is named in messages: its key if it has one, else its position."""
    if isinstance(data, dict) and isinstance(data.get(field_name), (str, int)):
        return repr(str(data[field_name]))
    return f"#{number}"
