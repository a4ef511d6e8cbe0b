"""The domain's responses, with the server's own fixed replies, filled in with what only the Rasa
server knows.

The fixed replies (`knowledge/fixed_replies.yml`: the opening notice, and the gate's "too long",
"slow down", "I can't look that up right now"...) are said by the server itself, not by a rule,
so they live beside the domain rather than in it: `rasa data validate` counts a domain response
no rule or story uses as a warning. They join the domain's responses here, once per process.

Rasa fills a response's `{placeholders}` from the conversation's slots. Two of ours are not about
the conversation but about the deployment, and must be right even when the action server, which
used to set them, is down:

- `{emergency_contact}`: how to get urgent help here (`EMERGENCY_CONTACT`, else the default in
  the red-flag rules file), in every urgent reply and every "if you need urgent help" line;
- `{helpline}`: where to turn to talk to a person (`HELPLINE_NAME` and `HELPLINE_PHONE`, with
  `HELPLINE_HOURS` and `HELPLINE_URL` if set: an MS charity's helpline, say, or the clinic's MS
  nurse line), else the person's own MS team; said when someone asks for a person, after the
  second message not understood, and under every refusal of personal advice;
- `{what_is_kept}`: what is kept of the conversation, where and for how long, and how to delete it,
  in the opening notice: `utter_kept_in_memory` or `utter_kept_in_database`, whichever is true of
  this server's conversation store, with `{retention_days}` filled in, plus, on Slack and
  Telegram, `utter_platform_keeps_a_copy`.

It is Rasa's response generator (a `TemplatedNaturalLanguageGenerator`), named in the endpoints
file as `nlg: type: connectors.responses.ServerResponses`; `connectors.endpoints` writes that.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping

import yaml
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

from connectors.conversations import retention_days
from safety.red_flags import red_flag_checker

FIXED_REPLIES_FILE = Path(__file__).resolve().parent.parent / "knowledge" / "fixed_replies.yml"
# The replies the server gives by itself (the urgent reply is the domain's; the others are fixed).
URGENT_HELP = "utter_urgent_help"
OPENING_NOTICE = "utter_opening_notice"
CANNOT_LOOK_UP = "utter_cannot_look_up"
TOO_LONG = "utter_message_too_long"
SLOW_DOWN = "utter_slow_down"
DELETED = "utter_conversation_deleted"
EMERGENCY_CONTACT_VARIABLE = "EMERGENCY_CONTACT"
KEPT_IN_MEMORY = "utter_kept_in_memory"
KEPT_IN_DATABASE = "utter_kept_in_database"
PLATFORM_KEEPS_A_COPY = "utter_platform_keeps_a_copy"
HELPLINE = "utter_helpline"
NO_HELPLINE = "utter_no_helpline"
HELPLINE_VARIABLES = {
    "helpline_name": "HELPLINE_NAME",
    "helpline_phone": "HELPLINE_PHONE",
    "helpline_hours": "HELPLINE_HOURS",
    "helpline_url": "HELPLINE_URL",
}
# The channels whose platform keeps its own copy of every message.
PLATFORMS = {"slack": "Slack", "telegram": "Telegram"}


Responses = Dict[str, List[Dict[str, Any]]]


@lru_cache(maxsize=1)
def fixed_replies(path: Path = FIXED_REPLIES_FILE) -> Responses:
    """The server's own replies, read once. A missing or malformed file stops the server from
    starting: without it, it could not say "I can't look that up", or open a conversation."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    replies = document.get("responses") if isinstance(document, dict) else None
    if not isinstance(replies, dict) or not replies:
        raise ValueError(f"{path}: needs a 'responses' mapping, as in domain.yml")
    return replies


def emergency_contact(environment: Mapping[str, str] = os.environ) -> str:
    """How to get urgent help in this deployment, as the end of "Please ... now"."""
    return environment.get(EMERGENCY_CONTACT_VARIABLE, "").strip() or red_flag_checker().emergency_contact


def helpline_settings(environment: Mapping[str, str] = os.environ) -> Dict[str, str]:
    """The helpline this deployment offers, as the placeholders of `utter_helpline`; empty when
    it has no name and phone number (then the person's MS team is named instead). The hours and
    web address are optional, and said in brackets or as a second sentence."""
    found = {key: environment.get(variable, "").strip() for key, variable in HELPLINE_VARIABLES.items()}
    if not (found["helpline_name"] and found["helpline_phone"]):
        return {}
    hours, url = found["helpline_hours"], found["helpline_url"]
    return {
        **found,
        "helpline_hours": f" ({hours})" if hours else "",
        "helpline_url": f" Or go to {url}." if url else "",
    }


class ServerResponses(TemplatedNaturalLanguageGenerator):
    """Rasa's templated responses, with the server's fixed replies, and the deployment's
    placeholders filled in."""

    @property  # type: ignore[override]
    def responses(self) -> Responses:
        return self._responses

    @responses.setter
    def responses(self, domain_responses: Responses | None) -> None:
        """The domain's responses (Rasa sets them again when it loads a model) and the fixed
        replies, whose names must not clash."""
        domain_responses = domain_responses or {}
        clashes = set(domain_responses) & set(fixed_replies())
        if clashes:
            raise ValueError(
                f"Responses both in the domain and in {FIXED_REPLIES_FILE.name}: {sorted(clashes)}"
            )
        self._responses = {**fixed_replies(), **domain_responses}

    def __init__(
        self,
        endpoint_config: EndpointConfig | None = None,
        domain: Domain | None = None,
        responses: Dict[str, Any] | None = None,
    ) -> None:
        super().__init__(responses if responses is not None else (domain or Domain.empty()).responses)
        self.emergency_contact = emergency_contact()
        self.helpline = helpline_settings()
        self.retention_days = retention_days()
        # Where conversations are kept; the message processor says, once the stores are made.
        self.kept_in_database = False

    def generate_from_slots(
        self,
        utter_action: str,
        filled_slots: Dict[str, Any],
        output_channel: str,
        **kwargs: Any,
    ) -> Dict[str, Any] | None:
        values = {
            "emergency_contact": self.emergency_contact,
            "retention_days": self.retention_days,
            # The notice's years, which the action server adds from the store when it can.
            "figure_years": "",
        }
        if utter_action not in (
            KEPT_IN_MEMORY,
            KEPT_IN_DATABASE,
            PLATFORM_KEEPS_A_COPY,
            HELPLINE,
            NO_HELPLINE,
        ):
            values["what_is_kept"] = self._what_is_kept(output_channel)
            values["helpline"] = self._helpline(output_channel)
        return super().generate_from_slots(utter_action, filled_slots, output_channel, **{**values, **kwargs})

    def _helpline(self, output_channel: str) -> str:
        if self.helpline:
            return self._text(HELPLINE, output_channel, **self.helpline)
        return self._text(NO_HELPLINE, output_channel)

    def _what_is_kept(self, output_channel: str) -> str:
        parts = [self._text(KEPT_IN_DATABASE if self.kept_in_database else KEPT_IN_MEMORY, output_channel)]
        platform = PLATFORMS.get(output_channel)
        if platform:
            parts.append(self._text(PLATFORM_KEEPS_A_COPY, output_channel, platform=platform))
        return " ".join(part for part in parts if part)

    def _text(self, response: str, output_channel: str, **values: Any) -> str:
        rendered = self.generate_from_slots(response, {}, output_channel, **values)
        return (rendered or {}).get("text") or ""
