"""Shared fixtures: a knowledge store built from the project's files."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Iterator

import pytest

from actions.database import DB_URL_VARIABLE
from actions.loader import DEFAULT_KNOWLEDGE_DIR, load_knowledge
from actions.store import KnowledgeStore

SLACK_SIGNING_SECRET = "test-signing-secret"  # the fake Slack app's, for signing test events
HELPLINE = {
    "HELPLINE_NAME": "the MS nurse line",
    "HELPLINE_PHONE": "0100 000 0000",
    "HELPLINE_HOURS": "weekdays, 9am to 5pm",
    "HELPLINE_URL": "https://nurses.example/ms",
}


@pytest.fixture(scope="session", autouse=True)
def feedback_store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Where every action and server this run starts keeps answers and feedback
    (`FEEDBACK_STORE_URL`, which the servers inherit): a file of this run, never var/feedback.db."""
    url = f"sqlite:///{tmp_path_factory.mktemp('feedback') / 'feedback.db'}"
    os.environ["FEEDBACK_STORE_URL"] = url
    return url


@pytest.fixture(scope="session")
def knowledge_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite knowledge store built from the real knowledge files, once per test run."""
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'knowledge.db'}"
    load_knowledge(DEFAULT_KNOWLEDGE_DIR, url)
    return url


@pytest.fixture(scope="session")
def every_answer_from_sqlite(knowledge_url: str) -> list[tuple[str, str]]:
    """Every message the actions can send from that store (tests.helpers.every_answer), built
    once: the grounding, content, readability and follow-up tests all read it."""
    from tests.helpers import every_answer

    return every_answer(knowledge_url)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The real PostgreSQL server (see tests/services.py); the test fails loudly without it."""
    from tests.services import require_postgres

    return require_postgres()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The real Redis server (see tests/services.py); the test fails loudly without it."""
    from tests.services import require_redis

    return require_redis()


@pytest.fixture(scope="session")
def postgres_knowledge_url(postgres_url: str) -> Iterator[str]:
    """The knowledge store loaded into a new PostgreSQL database by the loader, once per run."""
    from tests.services import scratch_database

    with scratch_database(postgres_url, "knowledge") as url:
        load_knowledge(DEFAULT_KNOWLEDGE_DIR, url)
        yield url


@pytest.fixture
def store(knowledge_url: str):
    with KnowledgeStore.open(knowledge_url) as opened:
        yield opened


@pytest.fixture
def use_store(knowledge_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the actions at the test store, as `KNOWLEDGE_DB_URL` does in production."""
    monkeypatch.setenv(DB_URL_VARIABLE, knowledge_url)
    return knowledge_url


@pytest.fixture
def knowledge_copy(tmp_path: Path) -> Path:
    """A copy of the knowledge files that a test may break."""
    target = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE_DIR, target)
    return target


@pytest.fixture(scope="session")
def fake_chat_apis():
    from tests.fake_chat_apis import FakeChatApis

    apis = FakeChatApis()
    yield apis
    apis.close()


@pytest.fixture(scope="session")
def widget_port() -> int:
    """Where the tests serve the website widget: the assistant accepts its page as an origin."""
    from tests.live_bot import free_port

    return free_port()


@pytest.fixture(scope="session")
def live_bot(knowledge_url: str, tmp_path_factory: pytest.TempPathFactory, fake_chat_apis, widget_port: int):
    """The real assistant, trained model and action server, answering over REST, and over Slack
    and Telegram connected to the fake APIs, switched on by environment settings as in production.
    The website widget's page, served on `widget_port`, may open its socket."""
    import yaml

    from connectors.credentials import credentials
    from tests.fake_chat_apis import TELEGRAM_BOT_NAME
    from tests.live_bot import running_bot

    workdir = tmp_path_factory.mktemp("live-bot")
    environment = {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
        "SLACK_API_BASE_URL": fake_chat_apis.slack_api,
        "TELEGRAM_TOKEN": "123456:test-token",
        "TELEGRAM_BOT_NAME": TELEGRAM_BOT_NAME,
        "TELEGRAM_WEBHOOK_URL": "https://example.invalid/webhooks/telegram/webhook",
        "TELEGRAM_API_BASE_URL": fake_chat_apis.telegram_api,
    }
    settings = workdir / "credentials.yml"
    settings.write_text(yaml.safe_dump(credentials(environment)))
    server_settings = {
        "WIDGET_ORIGINS": f"http://127.0.0.1:{widget_port},http://localhost:{widget_port}",
        # The suite sends hundreds of messages a minute from one address, many on one
        # conversation; the limits are tested on their own (test_gate.py, test_failures.py).
        "RATE_LIMITS": "off",
        # A person to turn to, as a deployment sets one (tests/test_helpline.py).
        **HELPLINE,
    }
    with running_bot(knowledge_url, workdir, settings, environment=server_settings) as bot:
        yield bot


@pytest.fixture(scope="session")
def bench_smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`python -m bench --smoke` once per test run (quality on a slice of the held-out set, speed
    on a few messages, and the report), with its output folder and what it printed."""
    import subprocess
    import sys

    from tests.helpers import PROJECT_ROOT
    from tests.live_bot import MODEL, rasa_environment

    if not MODEL.exists():
        pytest.fail(f"No trained model at {MODEL}: run `make train` (make test does it).")
    out = tmp_path_factory.mktemp("bench")
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out)],
        cwd=PROJECT_ROOT,
        env=rasa_environment(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    return out, run.stdout


def pytest_sessionstart(session) -> None:
    session.config.started_at = time.time()


def pytest_terminal_summary(terminalreporter, config) -> None:
    """Print the red-flag rates measured in this run, before pytest's summary line."""
    import json

    from tests.test_red_flags import RATES_FILE

    if not RATES_FILE.exists() or RATES_FILE.stat().st_mtime < config.started_at:
        return
    for name, rate in json.loads(RATES_FILE.read_text()).items():
        terminalreporter.write_line(
            f"red flags ({name}): emergencies escalated {rate['emergencies_escalated']}/{rate['emergencies']}, "
            f"harmless questions escalated {rate['harmless_escalated']}/{rate['harmless']}"
        )


@pytest.fixture(scope="session")
def observed(knowledge_url: str, tmp_path_factory: pytest.TempPathFactory):
    """The real assistant as the compose stack runs it for operators: both servers serving their
    metrics on ports of their own and logging JSON lines. Yields (bot, Rasa's metrics port, the
    action server's metrics port); the bot's `logs` are both servers' output."""
    from tests.live_bot import ACTION_SERVER_TOKEN, free_port, running_bot

    rasa_port, actions_port = free_port(), free_port()
    with running_bot(
        knowledge_url,
        tmp_path_factory.mktemp("observed-bot"),
        # The token in the environment too, as compose gives it: it keys the hashed ids.
        environment={
            "METRICS_PORT": str(rasa_port),
            "LOG_FORMAT": "json",
            "ACTION_SERVER_TOKEN": ACTION_SERVER_TOKEN,
        },
        action_environment={"METRICS_PORT": str(actions_port), "LOG_FORMAT": "json"},
    ) as bot:
        yield bot, rasa_port, actions_port
