"""Check the action server's answers with a schema validator built once, not once per answer.

Rasa 3.6 checks every response from the action server against its JSON schema with
`jsonschema.validate`, which first checks the schema itself against the JSON Schema meta-schema
and builds a new validator, on every call. Profiled under load, that was 35% of the Rasa
server's busy time. Here the check is the same (the same schema, validator class, best-match
error and message), with the schema checked and the validator built once per process.

An answer is first checked event by event: each event only against the schema for its own kind
("slot", "bot", ...), where Rasa's schema tries it against every kind (`oneOf`), which was most of
the remaining cost. The verdict is the same: every kind but the event's own fails on its name.
Only an answer that fails is checked again in full, for Rasa's own error message. If a later Rasa
changes the schema's shape, every answer is checked in full.

Installed by `connectors.server.install`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

# Rasa's own check, kept for comparison in the tests.
RASA_VALIDATION = RemoteAction._validate_action_result


@lru_cache(maxsize=1)
def response_validator() -> Any:
    """Rasa's response schema, checked once, and its validator."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


@dataclass(frozen=True)
class EventChecks:
    """The answer's outline (its events unchecked), and a check of one event of each kind."""

    outline: Any
    by_kind: dict[str, Any] = field(default_factory=dict)


@lru_cache(maxsize=1)
def event_checks() -> EventChecks | None:
    """The checks, built once from Rasa's schema; None if its shape is not the one known here."""
    schema = copy.deepcopy(RemoteAction.action_response_format_spec())
    try:
        events = schema["properties"]["events"]
        kinds = events["items"].pop("oneOf")
        names = [kind["properties"]["event"]["const"] for kind in kinds]
    except (KeyError, TypeError):
        return None
    if not all(isinstance(name, str) for name in names) or len(set(names)) != len(names):
        return None
    one_event = events.pop("items")
    validator_class = validator_for(schema)
    by_kind = {}
    for name, kind in zip(names, kinds, strict=True):
        kind_schema = {**one_event, "allOf": [kind]}
        validator_class.check_schema(kind_schema)
        by_kind[name] = validator_class(kind_schema)
    validator_class.check_schema(schema)
    return EventChecks(outline=validator_class(schema), by_kind=by_kind)


def passes(result: Any) -> bool:
    """Whether the answer is valid, checked event by event: the same verdict as the full check."""
    checks = event_checks()
    if checks is None:
        return bool(response_validator().is_valid(result))
    if not checks.outline.is_valid(result):
        return False
    for event in result.get("events") or []:
        kind = event.get("event") if isinstance(event, dict) else None
        check = checks.by_kind.get(kind) if isinstance(kind, str) else None
        if check is None or not check.is_valid(event):
            return False
    return True


def validate_action_result(_action: RemoteAction, result: dict[str, Any]) -> bool:
    """`RemoteAction._validate_action_result`, with the validators built once."""
    if passes(result):
        return True
    error = best_match(response_validator().iter_errors(result))
    if error is None:
        return True
    assert isinstance(error, ValidationError)
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
