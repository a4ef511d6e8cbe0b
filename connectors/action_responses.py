"""Check the action server's answers with a schema validator built once, not once per answer.

Rasa 3.6 checks every response from the action server against its JSON schema with
`jsonschema.validate`, which first checks the schema itself against the JSON Schema meta-schema
and builds a new validator, on every call. Profiled under load, that was 35% of the Rasa
server's busy time. Here the check is the same (the same schema, validator class, best-match
error and message), with the schema checked and the validator built once per process.

Installed when the `connectors` package is imported, which every Rasa server started with the
project's credentials does (the website widget's channel lives here).
"""

from __future__ import annotations

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


def validate_action_result(_action: RemoteAction, result: dict[str, Any]) -> bool:
    """`RemoteAction._validate_action_result`, with the validator built once."""
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
