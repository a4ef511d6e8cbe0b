"""The loader: valid files load; every kind of bad file is refused with a message naming the
file and the entry, and leaves the existing database exactly as it was."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from sqlalchemy.exc import IntegrityError

from actions import loader
from actions.database import DB_URL_VARIABLE
from actions.knowledge_files import Knowledge, KnowledgeError, read_knowledge
from actions.loader import load_knowledge, main
from actions.models import Source

TRIAL_FILE = Path("trials") / "care-ms-ii.yml"


def edit_yaml(directory: Path, relative: Path, change: Callable[[Any], None]) -> None:
    path = directory / relative
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def endpoint(document: dict, key: str) -> dict:
    return next(e for e in document["endpoints"] if e["key"] == key)


def first_result(document: dict) -> dict:
    return endpoint(document, "relapsed")["results"][0]


def database_dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return list(connection.iterdump())


def test_the_project_knowledge_files_load(tmp_path: Path) -> None:
    counts = load_knowledge(loader.DEFAULT_KNOWLEDGE_DIR, f"sqlite:///{tmp_path / 'k.db'}")
    assert counts["trials"] >= 1
    assert counts["results"] >= 10
    assert counts["sources"] >= 2


BAD_TRIAL_FILES: list[tuple[str, Callable[[dict], None], str]] = [
    (
        "unknown arm",
        lambda d: first_result(d).update(arm="placebo"),
        "endpoint 'relapsed' result 1: unknown arm 'placebo'",
    ),
    (
        "percentage over 100",
        lambda d: first_result(d).update(value=135, count=None, denominator=None),
        "endpoint 'relapsed' result 1: value 135 is not a percentage between 0 and 100",
    ),
    (
        "count larger than its denominator",
        lambda d: first_result(d).update(count=250),
        "endpoint 'relapsed' result 1: count 250 is larger than its denominator 202",
    ),
    (
        "percentage that does not match its count",
        lambda d: first_result(d).update(value=53),
        "endpoint 'relapsed' result 1: value 53% does not match 104 of 202 (51.5%)",
    ),
    (
        "missing source",
        lambda d: first_result(d).pop("sources"),
        "endpoint 'relapsed' result 1: missing 'sources'",
    ),
    (
        "unknown source",
        lambda d: first_result(d).update(sources=["A-BLOG"]),
        "endpoint 'relapsed' result 1: unknown source 'A-BLOG'",
    ),
    (
        "duplicate endpoint",
        lambda d: d["endpoints"].append(dict(endpoint(d, "relapsed"))),
        "endpoint 'relapsed': duplicate endpoint 'relapsed'",
    ),
    (
        "misspelt field",
        lambda d: first_result(d).update(vaule=1),
        "endpoint 'relapsed' result 1: unknown field 'vaule'",
    ),
    (
        "value outside its confidence interval",
        lambda d: endpoint(d, "annualised-relapse-rate")["comparisons"][0].update(value=0.9),
        "endpoint 'annualised-relapse-rate' comparison 1: value 0.9 is not inside its interval 0.39 to 0.65",
    ),
    (
        "interval and p-value that disagree",
        lambda d: endpoint(d, "annualised-relapse-rate")["comparisons"][0].update(p_value=0.3),
        "endpoint 'annualised-relapse-rate' comparison 1: the confidence interval and the p-value disagree about significance",
    ),
    (
        "relative change that does not match its ratio",
        lambda d: endpoint(d, "annualised-relapse-rate")["comparisons"][0].update(relative_change=20),
        "endpoint 'annualised-relapse-rate' comparison 1: 'relative_change' 20% does not match the ratio 0.51",
    ),
    (
        "unknown treatment",
        lambda d: d["arms"][0].update(treatment="no-such-medicine"),
        "arm 'interferon': unknown treatment 'no-such-medicine'",
    ),
]


@pytest.mark.parametrize(
    "change, expected", [(c, e) for _, c, e in BAD_TRIAL_FILES], ids=[n for n, _, _ in BAD_TRIAL_FILES]
)
def test_a_bad_trial_file_is_refused_naming_file_and_entry(
    knowledge_copy: Path, change: Callable[[dict], None], expected: str
) -> None:
    edit_yaml(knowledge_copy, TRIAL_FILE, change)
    with pytest.raises(KnowledgeError) as refused:
        read_knowledge(knowledge_copy)
    assert f"{knowledge_copy / TRIAL_FILE}: {expected}" in str(refused.value)


def test_malformed_yaml_is_refused_with_its_line(knowledge_copy: Path) -> None:
    (knowledge_copy / TRIAL_FILE).write_text("trial:\n  key: broken\n  name: [unclosed\n")
    with pytest.raises(KnowledgeError) as refused:
        read_knowledge(knowledge_copy)
    assert f"{knowledge_copy / TRIAL_FILE}: line " in str(refused.value)
    assert "is not valid YAML" in str(refused.value)


def test_a_field_written_twice_is_refused(knowledge_copy: Path) -> None:
    path = knowledge_copy / TRIAL_FILE
    path.write_text(
        path.read_text().replace("        value: 51\n", "        value: 51\n        value: 15\n", 1)
    )
    with pytest.raises(KnowledgeError, match="the field 'value' is written twice"):
        read_knowledge(knowledge_copy)


def test_a_red_flag_pattern_that_does_not_compile_is_refused(knowledge_copy: Path) -> None:
    path = knowledge_copy / "red_flags.yml"
    path.write_text(path.read_text().replace("petechia", "petechia(", 1))
    with pytest.raises(KnowledgeError, match=r"red flag 'bleeding': pattern 'petechia\(' does not compile"):
        read_knowledge(knowledge_copy)


def test_a_second_default_trial_is_refused(knowledge_copy: Path) -> None:
    copy = (knowledge_copy / TRIAL_FILE).read_text().replace("key: care-ms-ii", "key: copy-trial")
    (knowledge_copy / "trials" / "copy-trial.yml").write_text(copy)
    with pytest.raises(KnowledgeError, match="only one trial can be the default"):
        read_knowledge(knowledge_copy)


def test_a_glossary_word_explained_twice_is_refused(knowledge_copy: Path) -> None:
    edit_yaml(
        knowledge_copy,
        Path("glossary.yml"),
        lambda d: d["glossary"].append({"term": "CD52", "meaning": "again", "sources": ["GLOSSARY"]}),
    )
    with pytest.raises(KnowledgeError, match="term 'CD52': duplicate glossary word 'CD52'"):
        read_knowledge(knowledge_copy)


def test_every_problem_is_reported_not_just_the_first(knowledge_copy: Path) -> None:
    def two_problems(document: dict) -> None:
        first_result(document).update(arm="placebo")
        endpoint(document, "infections")["results"][0].update(value=101)

    edit_yaml(knowledge_copy, TRIAL_FILE, two_problems)
    with pytest.raises(KnowledgeError) as refused:
        read_knowledge(knowledge_copy)
    assert len(refused.value.problems) == 2


def test_a_failed_load_leaves_the_database_exactly_as_it_was(knowledge_copy: Path, tmp_path: Path) -> None:
    database = tmp_path / "knowledge.db"
    load_knowledge(knowledge_copy, f"sqlite:///{database}")
    before = database_dump(database)

    edit_yaml(knowledge_copy, TRIAL_FILE, lambda d: first_result(d).update(count=999))
    (knowledge_copy / "treatments.yml").write_text("treatments: [")
    with pytest.raises(KnowledgeError):
        load_knowledge(knowledge_copy, f"sqlite:///{database}")

    assert database_dump(database) == before


def test_a_failure_while_writing_rolls_back_to_the_old_contents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "knowledge.db"
    load_knowledge(loader.DEFAULT_KNOWLEDGE_DIR, f"sqlite:///{database}")
    before = database_dump(database)

    original_rows = Knowledge.rows
    broken_source = Source(key=None, citation="x", short_citation="x", published="x")
    monkeypatch.setattr(Knowledge, "rows", lambda self: [*original_rows(self), broken_source])
    with pytest.raises(IntegrityError):
        load_knowledge(loader.DEFAULT_KNOWLEDGE_DIR, f"sqlite:///{database}")

    assert database_dump(database) == before


def test_an_embedded_store_with_an_older_schema_is_rebuilt(tmp_path: Path) -> None:
    database = tmp_path / "var" / "knowledge.db"
    database.parent.mkdir()
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE treatments (id INTEGER PRIMARY KEY, key TEXT NOT NULL)")
    counts = load_knowledge(loader.DEFAULT_KNOWLEDGE_DIR, f"sqlite:///{database}")
    assert counts["treatments"] >= 2
    assert not (tmp_path / "var" / "knowledge.db.new").exists()


def test_the_command_line_explains_itself() -> None:
    with pytest.raises(SystemExit) as finished:
        main(["--help"])
    assert finished.value.code == 0


def test_the_command_line_reports_problems_and_exits_1(
    knowledge_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    edit_yaml(knowledge_copy, TRIAL_FILE, lambda d: first_result(d).update(arm="placebo"))
    database = tmp_path / "never-created.db"
    status = main(["--knowledge-dir", str(knowledge_copy), "--db-url", f"sqlite:///{database}"])
    error = capsys.readouterr().err
    assert status == 1
    assert "nothing was loaded" in error
    assert f"{knowledge_copy / TRIAL_FILE}: endpoint 'relapsed' result 1: unknown arm 'placebo'" in error
    assert not database.exists()


def test_the_command_line_takes_the_database_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    database = tmp_path / "from-env.db"
    monkeypatch.setenv(DB_URL_VARIABLE, f"sqlite:///{database}")
    assert main([]) == 0
    assert database.exists()
    assert "Loaded into" in capsys.readouterr().out


def test_check_only_does_not_touch_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "untouched.db"
    monkeypatch.setenv(DB_URL_VARIABLE, f"sqlite:///{database}")
    assert main(["--check"]) == 0
    assert not database.exists()


FOLLOW_UP_FILE = Path("follow_ups") / "care-ms-ii-5-years.yml"
BAD_FOLLOW_UP_FILES: list[tuple[str, Callable[[dict], None], str]] = [
    (
        "a comparison in a measure",
        lambda d: d["measures"][0].update(
            comparisons=[{"experimental": "alemtuzumab-12mg", "comparator": "interferon", "p_value": 0.01}]
        ),
        "measure 'joined-follow-up': a follow-up study has no comparison group, so it cannot have comparisons",
    ),
    (
        "comparisons for the whole study",
        lambda d: d.update(comparisons=[{"measure": "rate ratio", "value": 0.5}]),
        "file: a follow-up study has no comparison group, so it cannot have comparisons",
    ),
    (
        "a second arm",
        lambda d: d["arms"].append({"arm": "interferon", "sources": ["NEURO-II-5Y"]}),
        "arms: a follow-up study follows one group and has no comparison group; "
        "it lists 2: 'alemtuzumab-12mg', 'interferon'",
    ),
    (
        "an unknown parent trial",
        lambda d: d["follow_up"].update(trial="care-ms-iii"),
        "follow-up: unknown trial 'care-ms-iii' (known: care-ms-i, care-ms-ii)",
    ),
    (
        "a group that was not in the trial",
        lambda d: d["arms"][0].update(arm="alemtuzumab-24mg-in-care-ms-i"),
        "arm 'alemtuzumab-24mg-in-care-ms-i': unknown arm of the trial 'alemtuzumab-24mg-in-care-ms-i'",
    ),
    (
        "a percentage over 100",
        lambda d: d["measures"][0]["results"][0].update(value=192.9),
        "measure 'joined-follow-up' result 1: value 192.9 is not a percentage between 0 and 100",
    ),
    (
        "a figure with no source",
        lambda d: d["measures"][2]["results"][0].pop("sources"),
        "measure 'annualised-relapse-rate' result 1: missing 'sources': every fact must say where it comes from",
    ),
]


@pytest.mark.parametrize(
    "change, expected",
    [(c, e) for _, c, e in BAD_FOLLOW_UP_FILES],
    ids=[n for n, _, _ in BAD_FOLLOW_UP_FILES],
)
def test_a_bad_follow_up_file_is_refused_naming_file_and_entry(
    knowledge_copy: Path, change: Callable[[dict], None], expected: str
) -> None:
    edit_yaml(knowledge_copy, FOLLOW_UP_FILE, change)
    with pytest.raises(KnowledgeError) as refused:
        read_knowledge(knowledge_copy)
    assert f"{knowledge_copy / FOLLOW_UP_FILE}: {expected}" in str(refused.value)


def test_a_follow_up_is_loaded_beside_its_trial_with_one_group_and_no_comparison(tmp_path: Path) -> None:
    knowledge = read_knowledge(loader.DEFAULT_KNOWLEDGE_DIR)
    for trial in knowledge.trials:
        (follow_up,) = trial.follow_ups
        assert follow_up.arm in trial.arms and follow_up.arm.role == "experimental"
        assert follow_up.measures and all(m.results for m in follow_up.measures)
        assert all(r.sources for m in follow_up.measures for r in m.results)
    counts = load_knowledge(loader.DEFAULT_KNOWLEDGE_DIR, f"sqlite:///{tmp_path / 'k.db'}")
    assert counts["follow_ups"] == 2 and counts["follow_up_results"] >= 10
