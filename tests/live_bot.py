"""Run the real assistant (action server + Rasa server) for tests, and talk to it over REST."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from actions.database import DB_URL_VARIABLE
from connectors.credentials import write_private_yaml
from connectors.endpoints import endpoints
from tests.helpers import PROJECT_ROOT

BIN = Path(sys.executable).parent
MODEL = PROJECT_ROOT / "models" / "assistant.tar.gz"
START_TIMEOUT_SECONDS = 240


def rasa_environment(**extra: str) -> dict[str, str]:
    return {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} stopped while starting:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not start in {START_TIMEOUT_SECONDS} s:\n{log.read_text()[-3000:]}")


class LiveBot:
    """The REST channel of a running assistant, and where its servers write their logs."""

    def __init__(self, port: int):
        self.base_url = f"http://127.0.0.1:{port}"
        self.url = f"{self.base_url}/webhooks/rest/webhook"
        self.logs: list[Path] = []

    def say(self, sender: str, text: str) -> list[dict]:
        request = urllib.request.Request(
            self.url,
            data=json.dumps({"sender": sender, "message": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())


class ServerProcess:
    """One server the tests start, wait for, and stop; its output goes to `<workdir>/<name>.log`."""

    def __init__(
        self, name: str, command: list[str], workdir: Path, environment: dict[str, str], health: str
    ):
        self.name, self.command, self.environment, self.health = name, command, environment, health
        self.log = workdir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> ServerProcess:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                self.command, cwd=PROJECT_ROOT, env=self.environment, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def wait(self) -> ServerProcess:
        assert self.process is not None, f"{self.name} was never started"
        wait_until_up(self.health, self.process, self.log)
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


# The token the tests' action servers require, and their Rasa servers send, as in production.
ACTION_SERVER_TOKEN = secrets.token_hex(16)


def action_server(
    knowledge_url: str, workdir: Path, name: str = "actions", environment: dict[str, str] | None = None
) -> tuple[ServerProcess, str]:
    """The action server answering from `knowledge_url`, and its webhook's URL."""
    port = free_port()
    command = [str(BIN / "python"), "-m", "actions.server", "--actions", "actions", "--port", str(port)]
    environment = rasa_environment(
        **{DB_URL_VARIABLE: knowledge_url, "ACTION_SERVER_TOKEN": ACTION_SERVER_TOKEN, **(environment or {})}
    )
    server = ServerProcess(name, command, workdir, environment, f"http://127.0.0.1:{port}/health")
    return server, f"http://127.0.0.1:{port}/webhook"


def rasa_server(
    workdir: Path,
    action_url: str,
    name: str = "rasa",
    credentials: Path | None = None,
    stores: dict[str, str] | None = None,
    model: Path = MODEL,
    extra_arguments: tuple[str, ...] = (),
    environment: dict[str, str] | None = None,
) -> tuple[ServerProcess, LiveBot]:
    """A Rasa server with the trained model; `stores` holds TRACKER_STORE_URL and the like, which
    become its endpoints exactly as they do in production (`python -m connectors.endpoints`)."""
    if not model.exists():
        raise RuntimeError(f"No trained model at {model}: run `make train` (make test does it).")
    port = free_port()
    endpoints_file = workdir / f"{name}-endpoints.yml"
    settings = {**(stores or {}), "ACTION_SERVER_URL": action_url, "ACTION_SERVER_TOKEN": ACTION_SERVER_TOKEN}
    write_private_yaml(endpoints_file, endpoints(settings))
    command = [
        str(BIN / "python"), "-m", "connectors.server", "--model", str(model), "--endpoints", str(endpoints_file),
        "--credentials", str(credentials or PROJECT_ROOT / "credentials.yml"), "--port", str(port),
        "--interface", "127.0.0.1", *extra_arguments,
    ]  # fmt: skip
    server = ServerProcess(
        name, command, workdir, rasa_environment(**(environment or {})), f"http://127.0.0.1:{port}/"
    )
    return server, LiveBot(port)


@contextmanager
def all_running(*servers: ServerProcess) -> Iterator[None]:
    """The servers started together (each loads while the others do), each waited for, and all
    stopped in reverse order however the block ends."""
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait()
        yield
    finally:
        for server in reversed(servers):
            server.stop()


@contextmanager
def running_bot(
    knowledge_url: str,
    workdir: Path,
    credentials: Path | None = None,
    environment: dict[str, str] | None = None,
    action_environment: dict[str, str] | None = None,
) -> Iterator[LiveBot]:
    """An action server and one Rasa server, conversations kept in memory."""
    actions, action_url = action_server(knowledge_url, workdir, environment=action_environment)
    rasa, bot = rasa_server(workdir, action_url, credentials=credentials, environment=environment)
    with all_running(actions, rasa):
        bot.logs = [actions.log, rasa.log]
        yield bot
