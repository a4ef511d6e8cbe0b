"""Run the real assistant (action server + Rasa server) for tests, and talk to it over REST."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from actions.database import DB_URL_VARIABLE
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
    """The REST channel of a running assistant."""

    def __init__(self, port: int):
        self.base_url = f"http://127.0.0.1:{port}"
        self.url = f"{self.base_url}/webhooks/rest/webhook"

    def say(self, sender: str, text: str) -> list[dict]:
        request = urllib.request.Request(
            self.url,
            data=json.dumps({"sender": sender, "message": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())


@contextmanager
def running_bot(knowledge_url: str, workdir: Path, credentials: Path | None = None) -> Iterator[LiveBot]:
    if not MODEL.exists():
        raise RuntimeError(f"No trained model at {MODEL}: run `make train` (make test does it).")
    actions_port, rasa_port = free_port(), free_port()
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{actions_port}/webhook"\n')
    environment = rasa_environment(**{DB_URL_VARIABLE: knowledge_url})
    logs = {name: workdir / f"{name}.log" for name in ("actions", "rasa")}
    commands = {
        "actions": [str(BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(actions_port)],
        "rasa": [
            str(BIN / "rasa"), "run", "--model", str(MODEL), "--endpoints", str(endpoints),
            "--credentials", str(credentials or PROJECT_ROOT / "credentials.yml"), "--port", str(rasa_port),
            "--interface", "127.0.0.1",
        ],
    }  # fmt: skip
    processes: list[subprocess.Popen] = []
    try:
        for name, command in commands.items():
            with logs[name].open("w") as log:
                processes.append(
                    subprocess.Popen(
                        command, cwd=PROJECT_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
                    )
                )
        wait_until_up(f"http://127.0.0.1:{actions_port}/health", processes[0], logs["actions"])
        wait_until_up(f"http://127.0.0.1:{rasa_port}/", processes[1], logs["rasa"])
        yield LiveBot(rasa_port)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
