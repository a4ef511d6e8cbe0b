"""Write the Rasa server's credentials: the base file, plus each chat app whose settings are in
the environment. Tokens come from the environment only and are never written into the repo.

Usage: python -m connectors.credentials [--terminal] OUTPUT_FILE

`--terminal` also opens a chat in the terminal, as `rasa shell` does: the terminal channel takes
the place of REST (it serves the same POST /webhooks/rest/webhook), so one Rasa server answers
the terminal, the website widget and programs.

| variable | needed for |
|---|---|
| SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET | Slack (optional: SLACK_API_BASE_URL, e.g. GovSlack's) |
| TELEGRAM_TOKEN, TELEGRAM_BOT_NAME, TELEGRAM_WEBHOOK_URL | Telegram (optional: TELEGRAM_API_BASE_URL) |
| TELEGRAM_SECRET_TOKEN | optional: the Telegram webhook's secret (default: derived from the token) |
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Mapping

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BASE_CREDENTIALS = PROJECT_ROOT / "credentials.yml"
SLACK = "connectors.slack.SlackInput"
TELEGRAM = "connectors.telegram.TelegramInput"
SOCKETIO = "connectors.socketio.SocketIOInput"
REST = "connectors.rest.RestInput"
TERMINAL = "connectors.rest.TerminalInput"
CHANNEL_NAMES = {REST: "REST", TERMINAL: "terminal chat + REST", SOCKETIO: "website widget (socket.io)",
                 SLACK: "Slack", TELEGRAM: "Telegram"}  # fmt: skip


def credentials(environment: Mapping[str, str], terminal: bool = False) -> dict[str, Any]:
    """The base channels, and Slack and Telegram when the environment has their settings."""
    found: dict[str, Any] = yaml.safe_load(BASE_CREDENTIALS.read_text()) or {}
    if terminal:
        found = {(TERMINAL if name == REST else name): settings for name, settings in found.items()}
    if environment.get("SLACK_BOT_TOKEN") and environment.get("SLACK_SIGNING_SECRET"):
        found[SLACK] = {
            "slack_token": environment["SLACK_BOT_TOKEN"],
            "slack_signing_secret": environment["SLACK_SIGNING_SECRET"],
            "api_base_url": environment.get("SLACK_API_BASE_URL") or None,
        }
    telegram = ("TELEGRAM_TOKEN", "TELEGRAM_BOT_NAME", "TELEGRAM_WEBHOOK_URL")
    if all(environment.get(name) for name in telegram):
        found[TELEGRAM] = {
            "access_token": environment["TELEGRAM_TOKEN"],
            "verify": environment["TELEGRAM_BOT_NAME"],
            "webhook_url": environment["TELEGRAM_WEBHOOK_URL"],
            "api_base_url": environment.get("TELEGRAM_API_BASE_URL") or None,
            "secret_token": environment.get("TELEGRAM_SECRET_TOKEN") or None,
        }
    return found


def write_private_yaml(output: Path, settings: Mapping[str, Any]) -> None:
    """Write settings that may hold tokens or passwords: readable by the owner alone, from the
    moment the file exists."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(yaml.safe_dump(dict(settings), sort_keys=False))


def main(argv: list[str]) -> int:
    terminal = "--terminal" in argv
    paths = [argument for argument in argv if argument != "--terminal"]
    if len(paths) != 1 or any(path.startswith("-") for path in paths):
        print(__doc__, file=sys.stderr)
        return 2
    output = Path(paths[0])
    channels = credentials(os.environ, terminal)
    write_private_yaml(output, channels)
    names = ", ".join(CHANNEL_NAMES.get(name, name) for name in channels)
    print(f"Channels: {names} (settings in {output})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
