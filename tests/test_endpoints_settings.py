"""The Rasa server's endpoints come from the environment: conversations in memory with nothing set,
a shared SQL tracker store and a Redis lock store (both fail-open) when their URLs are given, the
action server's token when there is one, and always the project's response generator. Rasa itself
reads the file we write and connects to the real PostgreSQL and Redis with it."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest
import yaml
from rasa.core.lock_store import LockStore
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

from connectors.endpoints import BASE_ENDPOINTS, EndpointSettingError, describe, endpoints, main
from connectors.lock_store import SharedRedisLockStore
from connectors.tracker_store import MemoryTrackerStore, SharedTrackerStore
from tests.helpers import PROJECT_ROOT
from tests.services import scratch_database


def write_endpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **environment: str) -> Path:
    for name in (
        "ACTION_SERVER_URL",
        "ACTION_SERVER_TOKEN",
        "TRACKER_STORE_URL",
        "LOCK_STORE_URL",
        "LOCK_STORE_KEY_PREFIX",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    output = tmp_path / "endpoints.yml"
    assert main([str(output)]) == 0
    return output


def test_with_nothing_set_conversations_and_locks_stay_in_the_server_s_memory() -> None:
    assert endpoints({}) == {
        **yaml.safe_load(BASE_ENDPOINTS.read_text()),
        "tracker_store": {"type": "connectors.tracker_store.MemoryTrackerStore"},
        "nlg": {"type": "connectors.responses.ServerResponses"},
    }
    assert "lock_store" not in endpoints({})


def test_the_action_server_address_comes_from_the_environment() -> None:
    found = endpoints({"ACTION_SERVER_URL": "http://action-server:5055/webhook"})
    assert found["action_endpoint"] == {"url": "http://action-server:5055/webhook"}


def test_the_action_server_token_is_sent_as_the_bearer_header_the_action_server_checks() -> None:
    found = endpoints({"ACTION_SERVER_URL": "http://actions:5055/webhook", "ACTION_SERVER_TOKEN": "t0ken"})
    assert found["action_endpoint"] == {
        "url": "http://actions:5055/webhook",
        "headers": {"Authorization": "Bearer t0ken"},
    }


def test_the_responses_come_from_the_project_s_generator_whatever_else_is_set() -> None:
    for environment in ({}, {"TRACKER_STORE_URL": "sqlite:///x.db", "LOCK_STORE_URL": "redis://cache"}):
        assert endpoints(environment)["nlg"] == {"type": "connectors.responses.ServerResponses"}


def test_a_postgresql_url_becomes_the_shared_tracker_store_that_gives_up_connecting_after_3_seconds() -> None:
    found = endpoints({"TRACKER_STORE_URL": "postgresql://rasa:p%40ss%2Fword@db.internal:5433/conversations"})
    assert found["tracker_store"] == {
        "type": "connectors.tracker_store.SharedTrackerStore",
        "dialect": "postgresql",
        "db": "conversations",
        "url": "db.internal",
        "port": 5433,
        "username": "rasa",
        "password": "p@ss/word",
        "query": {"connect_timeout": "3"},
    }


def test_a_connect_timeout_given_in_the_url_is_kept_and_sqlite_gets_none() -> None:
    given = endpoints({"TRACKER_STORE_URL": "postgresql+psycopg2://db/rasa?connect_timeout=10"})
    assert given["tracker_store"]["query"] == {"connect_timeout": "10"}
    assert "query" not in endpoints({"TRACKER_STORE_URL": "sqlite:////tmp/conversations.db"})["tracker_store"]


def test_a_redis_url_becomes_the_shared_lock_store_that_gives_up_on_redis_after_a_second() -> None:
    found = endpoints({"LOCK_STORE_URL": "rediss://:secret@cache:6380/3", "LOCK_STORE_KEY_PREFIX": "trials"})
    assert found["lock_store"] == {
        "type": "connectors.lock_store.SharedRedisLockStore",
        "url": "cache",
        "port": 6380,
        "db": 3,
        "use_ssl": True,
        "socket_timeout": 1,
        "password": "secret",
        "key_prefix": "trials",
    }


@pytest.mark.parametrize(
    ("environment", "complaint"),
    [
        ({"TRACKER_STORE_URL": "not a url"}, "TRACKER_STORE_URL is not a database URL"),
        ({"TRACKER_STORE_URL": "postgresql://db:5432"}, "TRACKER_STORE_URL names no database"),
        ({"LOCK_STORE_URL": "http://cache:6379"}, "LOCK_STORE_URL must look like redis://"),
        ({"LOCK_STORE_URL": "redis://cache/locks"}, "database must be a number"),
        ({"LOCK_STORE_URL": "redis://cache", "LOCK_STORE_KEY_PREFIX": "my-bot"}, "letters and digits only"),
    ],
)
def test_a_setting_that_cannot_work_is_refused_before_the_server_starts(
    environment: dict[str, str], complaint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    with pytest.raises(EndpointSettingError, match=complaint):
        endpoints(environment)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    output = tmp_path / "endpoints.yml"
    assert main([str(output)]) == 2
    assert complaint in capsys.readouterr().err
    assert not output.exists()


def test_the_file_is_private_and_the_summary_shows_no_password_or_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    output = write_endpoints(
        tmp_path,
        monkeypatch,
        TRACKER_STORE_URL="postgresql://rasa:hunter2@db/rasa",
        LOCK_STORE_URL="redis://:hunter3@cache:6379/0",
        ACTION_SERVER_TOKEN="hunter4",
    )
    summary = capsys.readouterr().out
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    assert "postgresql database 'rasa' on db" in summary and "Redis on cache:6379" in summary
    assert "(with its token)" in summary
    assert "hunter2" not in summary and "hunter3" not in summary and "hunter4" not in summary


def test_the_summary_says_when_conversations_are_only_in_memory() -> None:
    assert "conversations kept in memory (lost when the server stops)" in describe(endpoints({}))


def test_the_run_command_writes_its_endpoints_with_this_module() -> None:
    assert "-m connectors.endpoints var/endpoints.yml" in (PROJECT_ROOT / "scripts" / "run.sh").read_text()


def test_rasa_keeps_a_conversation_in_postgresql_from_the_written_file(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with scratch_database(postgres_url, "tracker") as url:
        output = write_endpoints(tmp_path, monkeypatch, TRACKER_STORE_URL=url)
        store = TrackerStore.create(read_endpoint_config(str(output), "tracker_store"), Domain.empty())
        assert type(store) is SharedTrackerStore and isinstance(store, SQLTrackerStore)

        tracker = DialogueStateTracker.from_events("patient-1", [UserUttered("how many relapsed?")])
        asyncio.run(store.save(tracker))
        again = TrackerStore.create(read_endpoint_config(str(output), "tracker_store"), Domain.empty())
        kept = asyncio.run(again.retrieve("patient-1"))
        assert kept is not None and kept.latest_message.text == "how many relapsed?"
        store.close()
        again.close()


def test_rasa_keeps_conversations_in_the_memory_store_from_the_written_file_with_nothing_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = write_endpoints(tmp_path, monkeypatch)
    store = TrackerStore.create(read_endpoint_config(str(output), "tracker_store"), Domain.empty())
    assert type(store) is MemoryTrackerStore


def test_rasa_locks_conversations_in_redis_from_the_written_file(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    output = write_endpoints(
        tmp_path, monkeypatch, LOCK_STORE_URL=redis_url, LOCK_STORE_KEY_PREFIX="endpointtest"
    )
    lock_store = LockStore.create(read_endpoint_config(str(output), "lock_store"))
    assert isinstance(lock_store, SharedRedisLockStore)

    async def hold_a_lock() -> list[bytes]:
        async with lock_store.lock("patient-2"):
            return redis.Redis.from_url(redis_url).keys("endpointtest:*patient-2*")

    assert asyncio.run(hold_a_lock()) != []
    assert redis.Redis.from_url(redis_url).keys("endpointtest:*patient-2*") == []


@pytest.mark.parametrize("module", ["connectors.endpoints", "connectors.credentials"])
def test_the_settings_writers_run_without_loading_rasa(module: str) -> None:
    """They run before every start of the assistant: with Rasa (and so TensorFlow) imported, each
    took 4.4 s and 500 MB, most of a newcomer's wait between the widget and the chat."""
    import subprocess
    import sys

    probe = f"import sys, {module}; print(sorted(m for m in ('rasa', 'tensorflow') if m in sys.modules))"
    run = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "[]"
