"""Write the Rasa server's credentials: the base file, plus each chat app whose settings are in
the environment. Tokens come from the environment only and are never written into the repo.

Usage: python -m connectors.credentials OUTPUT_FILE

| variable | needed for |
|---|---|
| SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET | Slack (optional: SLACK_API_BASE_URL, e.g. GovSlack's) |
| TELEGRAM_TOKEN, TELEGRAM_BOT_NAME, TELEGRAM_WEBHOOK_URL | Telegram (optional: TELEGRAM_API_BASE_URL) |
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


def credentials(environment: Mapping[str, str]) -> dict[str, Any]:
    """The base channels, and Slack and Telegram when the environment has their settings."""
    found: dict[str, Any] = yaml.safe_load(BASE_CREDENTIALS.read_text()) or {}
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
        }
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    output = Path(argv[0])
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(yaml.safe_dump(credentials(os.environ), sort_keys=False))
    output.chmod(0o600)  # it may hold tokens
    enabled = [name.split(".")[1] for name in (SLACK, TELEGRAM) if name in credentials(os.environ)]
    print(f"Channels: REST{''.join(', ' + name for name in enabled)} (credentials in {output})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
