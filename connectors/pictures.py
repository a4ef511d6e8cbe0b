"""How each channel shows a picture of a result that the actions send (actions/pictures.py).

The actions send it as a custom payload, `{"picture": {...}}`, holding only figures from the
knowledge store, its labels, its text alternative (`alt`) and a plain text table (`table`):
- the widget draws it (web/widget.js), from the socket.io event `{"picture": ...}`;
- Slack gets a Block Kit layout: a header, the groups' figures as fields, the verdict on chance;
- Telegram gets the text table;
- REST clients get the payload itself.

Rasa's own output channels cannot send it as it is: socket.io passes a custom payload's keys to
`emit` as keyword arguments, Slack passes them to `chat.postMessage`, and Telegram looks for
keys such as `text` or `photo` and sends nothing for any other.
"""

from __future__ import annotations

from typing import Any

PICTURE = "picture"  # the payload key, as actions/pictures.py writes it (a test checks they agree)
ICON_ARRAY = "icon_array"
SLACK_HEADER_LIMIT = 150  # characters in a Block Kit header
SLACK_FIELDS_LIMIT = 10  # fields in one section


def picture_of(json_message: Any) -> dict[str, Any] | None:
    """The picture a custom payload carries, or None for any other payload."""
    picture = json_message.get(PICTURE) if isinstance(json_message, dict) else None
    return picture if isinstance(picture, dict) and isinstance(picture.get("table"), str) else None


def as_text(picture: dict[str, Any]) -> str:
    """The picture as the text table a channel without drawing shows."""
    return picture["table"]


def slack_blocks(picture: dict[str, Any]) -> list[dict[str, Any]]:
    """The picture as Slack blocks: the figures of each group side by side, in fields."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": picture["title"][:SLACK_HEADER_LIMIT]}}
    ]
    per = picture["per"]
    if picture.get("kind") == ICON_ARRAY:
        fields = [
            _field(f"*{_escaped(group['name'])}*\n{group['people']} in {per} ({group['percent']}%)")
            for group in picture["groups"]
        ]
        blocks.append(
            {
                "type": "section",
                "text": _field(f"{_escaped(picture['trial'])}: out of every {per} people"),
                "fields": fields[:SLACK_FIELDS_LIMIT],
            }
        )
        notes = [picture.get("verdict", "")]
    else:
        section = None
        for row in picture["rows"]:
            if row["section"] != section:
                section = row["section"]
                blocks.append({"type": "section", "text": _field(f"*{_escaped(section)}*")})
            fields = [
                _field(f"*{_escaped(name)}*\n{value if value is not None else 'does not apply'}")
                for name, value in zip(picture["groups"], row["values"], strict=True)
            ]
            blocks.append(
                {
                    "type": "section",
                    "text": _field(_escaped(row["label"])),
                    "fields": fields[:SLACK_FIELDS_LIMIT],
                }
            )
            if row.get("verdict"):
                blocks.append({"type": "context", "elements": [_field(_escaped(row["verdict"]))]})
        notes = [picture.get("note", "")]
    blocks.extend({"type": "context", "elements": [_field(_escaped(note))]} for note in notes if note)
    return blocks


def _field(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _escaped(text: str) -> str:
    """Text as Slack's mrkdwn shows it literally: its three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
