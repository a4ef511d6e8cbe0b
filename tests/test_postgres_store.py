"""The knowledge store on PostgreSQL, as in production: built by the Alembic migrations and the
loader, it gives the patient word for word what the embedded SQLite store gives, and a load that
fails leaves it exactly as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import IntegrityError

from actions import loader
from actions.actions import ActionAnswerQuestion
from actions.database import DB_URL_VARIABLE
from actions.knowledge_files import Knowledge
from actions.loader import load_knowledge, main
from actions.models import Base, Source
from actions.schema import alembic_config, latest_revision, schema_revision
from tests.helpers import every_answer, run_action, source_line, texts, tracker_from
from tests.services import scratch_database
from tests.test_loader import TRIAL_FILE, edit_yaml, first_result

KNOWLEDGE_TABLES = sorted(table.name for table in Base.metadata.sorted_tables)


@pytest.fixture
def empty_database(postgres_url: str):
    with scratch_database(postgres_url, "empty") as url:
        yield url


def contents(url: str) -> dict[str, list[tuple]]:
    """Every row of every knowledge table, in a stable order, plus the schema's revision."""
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            found = {"alembic_version": [(schema_revision(connection),)]}
            present = set(inspect(connection).get_table_names())
            for table in Base.metadata.sorted_tables:
                if table.name in present:
                    rows = connection.execute(select(table)).all()
                    found[table.name] = sorted(tuple(map(repr, row)) for row in rows)
            return found
    finally:
        engine.dispose()


def test_the_loader_migrates_an_empty_postgresql_database_and_loads_it(
    empty_database: str, knowledge_url: str, capsys: pytest.CaptureFixture
) -> None:
    assert main(["--db-url", empty_database]) == 0
    assert "Loaded into postgresql://" in capsys.readouterr().out

    loaded = contents(empty_database)
    assert loaded["alembic_version"] == [(latest_revision(),)]
    assert {name: len(rows) for name, rows in loaded.items()} == {
        name: len(rows) for name, rows in contents(knowledge_url).items()
    }
    assert len(loaded["results"]) >= 10


def test_loading_again_changes_nothing_the_patient_sees(postgres_knowledge_url: str) -> None:
    before = every_answer(postgres_knowledge_url)
    load_knowledge(loader.DEFAULT_KNOWLEDGE_DIR, postgres_knowledge_url)
    assert every_answer(postgres_knowledge_url) == before


def test_every_message_from_postgresql_is_word_for_word_the_one_from_sqlite(
    postgres_knowledge_url: str, knowledge_url: str
) -> None:
    from_postgres = every_answer(postgres_knowledge_url)
    assert len(from_postgres) > 100
    assert from_postgres == every_answer(knowledge_url)


def test_a_patient_question_is_answered_from_postgresql(
    postgres_knowledge_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DB_URL_VARIABLE, postgres_knowledge_url)
    alemtuzumab = {"entity": "treatment", "value": "alemtuzumab"}
    tracker = tracker_from("ask_relapse", "how many people relapsed on alemtuzumab?", [alemtuzumab])
    messages, _ = run_action(ActionAnswerQuestion(), tracker)
    said = texts(messages)
    assert "35%" in said[0] and "51%" in said[0]
    assert source_line(said)


def test_a_bad_knowledge_file_leaves_postgresql_exactly_as_it_was(
    postgres_url: str, knowledge_copy: Path
) -> None:
    with scratch_database(postgres_url, "bad_file") as url:
        load_knowledge(knowledge_copy, url)
        before = contents(url)
        edit_yaml(knowledge_copy, TRIAL_FILE, lambda d: first_result(d).update(count=999))
        assert main(["--knowledge-dir", str(knowledge_copy), "--db-url", url]) == 1
        assert contents(url) == before


def test_a_failure_while_writing_rolls_back_the_contents(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with scratch_database(postgres_url, "write_failure") as url:
        load_knowledge(loader.DEFAULT_KNOWLEDGE_DIR, url)
        before = contents(url)
        break_the_next_load(monkeypatch)
        with pytest.raises(IntegrityError):
            load_knowledge(loader.DEFAULT_KNOWLEDGE_DIR, url)
        assert contents(url) == before


def test_a_failed_first_load_rolls_back_the_migration_too(
    empty_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL changes its schema inside the transaction: no half-built store is left behind."""
    break_the_next_load(monkeypatch)
    with pytest.raises(IntegrityError):
        load_knowledge(loader.DEFAULT_KNOWLEDGE_DIR, empty_database)
    engine = create_engine(empty_database, future=True)
    with engine.connect() as connection:
        assert inspect(connection).get_table_names() == []
    engine.dispose()


def break_the_next_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the loader write a row the database refuses, after the others are written."""
    original_rows = Knowledge.rows
    broken_source = Source(key=None, citation="x", short_citation="x", published="x")
    monkeypatch.setattr(Knowledge, "rows", lambda self: [*original_rows(self), broken_source])


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_the_migrations_build_exactly_the_tables_the_models_describe(
    backend: str, postgres_knowledge_url: str, knowledge_url: str
) -> None:
    url = postgres_knowledge_url if backend == "postgresql" else knowledge_url
    engine = create_engine(url, future=True)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_the_migrations_go_down_and_up_again(empty_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DB_URL_VARIABLE, empty_database)
    command.upgrade(alembic_config(), "head")
    engine = create_engine(empty_database, future=True)
    with engine.connect() as connection:
        assert set(KNOWLEDGE_TABLES) <= set(inspect(connection).get_table_names())

    command.downgrade(alembic_config(), "base")
    with engine.connect() as connection:
        assert inspect(connection).get_table_names() == ["alembic_version"]
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 0

    command.upgrade(alembic_config(), "head")
    engine.dispose()
    assert main(["--db-url", empty_database]) == 0


def test_an_unreachable_database_is_reported_without_its_password(capsys: pytest.CaptureFixture) -> None:
    status = main(["--db-url", "postgresql://reader:s3cret@127.0.0.1:1/knowledge"])
    error = capsys.readouterr().err
    assert status == 2
    assert "Could not write the knowledge store at postgresql://reader:***@127.0.0.1:1/knowledge" in error
    assert "s3cret" not in error


def test_a_store_from_before_the_follow_ups_is_migrated_in_place_and_loaded(
    empty_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A production store at the first schema gains the follow-up tables, with their contents."""
    monkeypatch.setenv(DB_URL_VARIABLE, empty_database)
    command.upgrade(alembic_config(), "0001")
    engine = create_engine(empty_database, future=True)
    with engine.connect() as connection:
        assert "follow_ups" not in inspect(connection).get_table_names()

    assert main(["--db-url", empty_database]) == 0
    with engine.connect() as connection:
        assert schema_revision(connection) == latest_revision() != "0001"
        assert connection.execute(text("SELECT count(*) FROM follow_ups")).scalar_one() == 2
        assert connection.execute(text("SELECT count(*) FROM follow_up_results_sources")).scalar_one() >= 10
    engine.dispose()


def test_the_action_server_keeps_what_it_read_until_postgresql_is_loaded_again(
    postgres_knowledge_url: str,
) -> None:
    from actions.database import engine_for
    from tests.test_store import relapse_meaning, statements_sent

    engine = engine_for(postgres_knowledge_url)
    relapse_meaning(postgres_knowledge_url)
    assert statements_sent(engine, lambda: relapse_meaning(postgres_knowledge_url)) == 1
    load_knowledge(loader.DEFAULT_KNOWLEDGE_DIR, postgres_knowledge_url)
    assert statements_sent(engine, lambda: relapse_meaning(postgres_knowledge_url)) > 1


def test_a_postgresql_store_loaded_before_versions_were_recorded_still_answers(empty_database: str) -> None:
    from tests.test_store import relapse_meaning

    load_knowledge(loader.DEFAULT_KNOWLEDGE_DIR, empty_database)
    engine = create_engine(empty_database, future=True)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE knowledge_version"))
    engine.dispose()
    assert relapse_meaning(empty_database).startswith("A relapse is also called")
