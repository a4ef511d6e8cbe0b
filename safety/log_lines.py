"""Log lines an operator can ship, from either server: with `LOG_FORMAT=json`, every line is one
JSON object (time, level, service, logger, event, the conversation's hashed id, timings) and
never what a patient typed. Without it, the servers log as they always have.

What text a line may carry:

- the project's own loggers (`OWN_LOGGERS`): their messages, which by the project's rule name
  actions, exception types and counts, never a patient's words;
- anyone else's (Rasa, Sanic, SQLAlchemy): only the constant %-template their code wrote. A
  message built before it was logged (an f-string, Rasa's habit) can hold a patient's words, so
  only its logger and level are shipped;
- an exception: its type and where it was raised, never its text, which may quote a message.

A conversation id is a patient's handle: lines carry an HMAC-SHA-256 of it, keyed from
ACTION_SERVER_TOKEN, which both servers hold, so one conversation's lines match across servers
and nobody without the token can tell whose they are (without it, a random key per process).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import sys
import traceback
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping

FORMAT_VARIABLE = "LOG_FORMAT"
KEY_VARIABLE = "ACTION_SERVER_TOKEN"
OWN_LOGGERS = ("connectors", "actions", "safety", "nlu")
# Fields a project logger may add with `extra=`: timings and counts, never text.
TIMINGS = ("seconds", "action")
HASH_DIGITS = 16

_conversation: ContextVar[str | None] = ContextVar("log_conversation", default=None)


def json_wanted(environment: Mapping[str, str] = os.environ) -> bool:
    value = environment.get(FORMAT_VARIABLE, "").strip().lower()
    if value not in ("", "plain", "json"):
        raise SystemExit(f"{FORMAT_VARIABLE} must be json or plain, not {value!r}.")
    return value == "json"


def _key(environment: Mapping[str, str] = os.environ) -> bytes:
    token = environment.get(KEY_VARIABLE, "").strip()
    if not token:
        return secrets.token_bytes(32)
    return hashlib.sha256(b"log lines: conversation ids\0" + token.encode()).digest()


_KEY = _key()


def hashed(conversation_id: str, key: bytes | None = None) -> str:
    """A conversation id as log lines carry it."""
    digest = hmac.new(key or _KEY, conversation_id.encode(errors="replace"), hashlib.sha256).hexdigest()
    return digest[:HASH_DIGITS]


@contextmanager
def conversation(conversation_id: str | None) -> Iterator[None]:
    """Lines logged inside carry this conversation's hashed id."""
    token = _conversation.set(hashed(conversation_id) if conversation_id else None)
    try:
        yield
    finally:
        _conversation.reset(token)


def enter_conversation(conversation_id: str | None) -> None:
    """The same, for the rest of the current task (a web request's handler)."""
    _conversation.set(hashed(conversation_id) if conversation_id else None)


def _own(name: str) -> bool:
    return any(name == own or name.startswith(own + ".") for own in OWN_LOGGERS)


def event(record: logging.LogRecord) -> str:
    """The text a record may ship, as the module's docstring says."""
    if record.name == "py.warnings":
        return "python warning"  # a library's deprecation, mostly: only where it came from
    if _own(record.name):
        return record.getMessage()
    if record.args and isinstance(record.msg, str):
        return record.msg
    return ""


def where_raised(error: BaseException | None) -> str:
    frames = traceback.extract_tb(error.__traceback__) if error is not None else []
    if not frames:
        return "unknown place"
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name}"


class JsonLines(logging.Formatter):
    """One JSON object a line, holding nothing a patient typed."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "event": event(record),
        }
        conversation_id = _conversation.get()
        if conversation_id:
            line["conversation"] = conversation_id
        for name in TIMINGS:
            if _own(record.name) and name in record.__dict__:
                line[name] = record.__dict__[name]
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            line["error"] = type(error).__name__
            line["raised_at"] = where_raised(error)
        return json.dumps(line, default=str)


def log_as_json(service: str, level: int | str = logging.INFO) -> None:
    """Every logger's lines as JSON on standard output, and the project's own `turn` events on."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonLines(service))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    adopt_loggers()


def from_the_start(service: str, environment: Mapping[str, str] = os.environ) -> None:
    """JSON lines from the first import on, when wanted: importing Rasa or rasa_sdk already warns."""
    if json_wanted(environment):
        log_as_json(service)


def adopt_loggers() -> None:
    """Loggers that configured handlers of their own (Sanic's) write through the JSON one."""
    for logger in list(logging.root.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and logger.handlers:
            for old in list(logger.handlers):
                logger.removeHandler(old)
            logger.propagate = True


def timing(logger: logging.Logger, name: str, seconds: float, **fields: str) -> None:
    """An event with its time, logged only in JSON (the plain log stays as it was)."""
    if any(isinstance(handler.formatter, JsonLines) for handler in logging.getLogger().handlers):
        logger.info(name, extra={"seconds": round(seconds, 4), **fields})
