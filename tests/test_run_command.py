"""The README's run command (`make run`, which is `scripts/run.sh shell`), as a user runs it: a
chat in the terminal, and at the same time the website widget on localhost, whose address it
prints, answering from the same assistant."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import time
import urllib.request
from typing import Iterator

import pytest

from actions.database import DB_URL_VARIABLE
from tests.helpers import PROJECT_ROOT
from tests.live_bot import free_port, rasa_environment

START_SECONDS = 240


class Terminal:
    """The run script in a pseudo-terminal, as if typed into by a person."""

    def __init__(self, environment: dict[str, str], ports: dict[str, int]):
        self.ports = ports
        self.control, attached = pty.openpty()
        self.process = subprocess.Popen(
            ["scripts/run.sh", "shell"], cwd=PROJECT_ROOT, env=environment,
            stdin=attached, stdout=attached, stderr=attached, start_new_session=True,
        )  # fmt: skip
        os.close(attached)
        self.output = ""

    def read_until(self, pattern: str, seconds: float) -> re.Match:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = re.search(pattern, self.output)
            if found:
                return found
            ready, _, _ = select.select([self.control], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(self.control, 65536).decode(errors="replace")
                except OSError:  # the script ended
                    break
                # The prompt asks where the cursor is; answer as a terminal would.
                if "\x1b[6n" in chunk:
                    os.write(self.control, b"\x1b[1;1R")
                self.output += re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", chunk)
        raise AssertionError(f"{pattern!r} never appeared; the terminal showed:\n{self.output[-3000:]}")

    def type(self, text: str) -> None:
        os.write(self.control, text.encode() + b"\r")

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        os.close(self.control)


@pytest.fixture(scope="module")
def terminal(knowledge_url: str) -> Iterator[Terminal]:
    ports = {"RASA_PORT": free_port(), "ACTIONS_PORT": free_port(), "WEB_PORT": free_port()}
    environment = rasa_environment(
        **{name: str(port) for name, port in ports.items()}, **{DB_URL_VARIABLE: knowledge_url}, TERM="xterm"
    )
    running = Terminal(environment, ports)
    try:
        yield running
    finally:
        running.close()


def test_the_run_command_prints_the_widget_address_and_serves_it(terminal: Terminal) -> None:
    address = terminal.read_until(r"Website chat:\s+(http://localhost:\d+/)", START_SECONDS).group(1)
    assert address == f"http://localhost:{terminal.ports['WEB_PORT']}/"
    with urllib.request.urlopen(address, timeout=10) as page:
        assert "MS trial results assistant" in page.read().decode()
    with urllib.request.urlopen(f"{address}config.js", timeout=10) as config:
        assert f"http://localhost:{terminal.ports['RASA_PORT']}" in config.read().decode()


def test_the_terminal_chat_answers_with_figures_and_no_button_menu(terminal: Terminal) -> None:
    terminal.read_until(r"Your input ->", START_SECONDS)
    terminal.type("hello")
    greeting = terminal.read_until(r"What would you like to know\?[^\n]*\n?[^\n]*", 60).group(0)
    assert "You could ask about: What the trial found" in greeting
    terminal.read_until(r"Your input ->", 30)
    # Typed straight after the greeting: with a button menu, Enter would pick a topic instead.
    terminal.type("how many people had infections?")
    terminal.read_until(r"infection", 60)
    assert "? Hello" not in terminal.output  # questionary's menu marker


def test_programs_use_rest_on_the_same_server_while_the_terminal_chat_runs(terminal: Terminal) -> None:
    address = terminal.read_until(r"Programs:\s+POST (http://localhost:\d+/webhooks/rest/webhook)", 10).group(
        1
    )
    terminal.read_until(r"Your input ->", START_SECONDS)
    request = urllib.request.Request(
        address,
        data=json.dumps(
            {"sender": "a-program", "message": "how many people relapsed on alemtuzumab?"}
        ).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        assert any("35%" in message.get("text", "") for message in json.loads(answer.read()))
