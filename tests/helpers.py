"""Helpers for tests that talk to the custom actions as Rasa would."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def tracker_from(
    intent: str,
    text: str = "",
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    channel: str | None = None,
) -> Tracker:
    """A tracker whose latest message is `text`, understood as `intent` with `entities`, and
    typed on `channel` ("cmdline" for `rasa shell`, "socketio" for the widget) if one is given."""
    events = [{"event": "user", "text": text, "input_channel": channel, "parse_data": {}}] if channel else []
    return Tracker.from_dict(
        {
            "sender_id": "test-patient",
            "slots": slots or {},
            "latest_message": {
                "text": text,
                "intent": {"name": intent, "confidence": 1.0},
                "entities": entities or [],
            },
            "events": events,
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )


def run_action(action: Action, tracker: Tracker) -> tuple[list[dict[str, Any]], list[dict]]:
    """Run a custom action; return what the patient is sent and the events it returned."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher.messages, events


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [message["text"] for message in messages if message.get("text")]


def every_answer(knowledge_url: str) -> list[tuple[str, str]]:
    """Every message the actions can send, each with where it comes from: every topic for every
    treatment (and none), asked of no trial in particular, of each trial and of all of them;
    every glossary word, the opening notice, and the fixed messages."""
    from sqlalchemy import select

    from actions import advice, answers, fallback, session
    from actions.models import OtherTrial, Treatment
    from actions.session import opening_notice, where_figures_come_from
    from actions.store import KnowledgeStore

    found: list[tuple[str, str]] = []
    with KnowledgeStore.open(knowledge_url) as store:
        trials = store.trials()
        scopes = [[], *([trial] for trial in trials), trials]
        treatments = [None, *store.session.execute(select(Treatment).order_by(Treatment.key)).scalars()]
        topics = set(answers.DESIGN_COMPOSERS).union(*(store.topics(trial) for trial in trials))
        for topic in sorted(topics):
            for treatment in treatments:
                for scope in scopes:
                    asked = "+".join(trial.key for trial in scope) or "no trial named"
                    where = f"{topic} / {treatment.key if treatment else 'any treatment'} / {asked}"
                    said = answers.compose_answer(store, topic, treatment, trials=scope) or []
                    found.extend((where, text) for text in said)
        for term in store.glossary_words():
            found.extend((f"glossary / {term}", text) for text in answers.define_term(store, [term]))
        found.extend(("glossary / unknown word", t) for t in answers.define_term(store, ["zorblax"]))
        found.append(("opening notice", opening_notice(where_figures_come_from(store))))
        for other in store.session.execute(select(OtherTrial)).scalars():
            found.extend((f"other trial / {other.name}", t) for t in answers.not_covered_trial(store, other))
    fixed = {
        "answers": ("STORE_UNAVAILABLE", "NO_KNOWLEDGE", "TALK_TO_YOUR_TEAM", "COMPARE_WITHIN_TRIALS"),
        "advice": ("CANNOT_DECIDE", "FACTS_FOLLOW", "NO_FACTS", "DO_NOT_CHANGE"),
        "fallback": ("NOT_SURE", "SAY_IT_ANOTHER_WAY", "WHAT_I_CAN_ANSWER", "OUT_OF_SCOPE"),
        "session": ("GREETING",),
    }
    modules = {"answers": answers, "advice": advice, "fallback": fallback, "session": session}
    for module, names in fixed.items():
        found.extend((f"{module}.{name}", getattr(modules[module], name)) for name in names)
    return found


def domain_texts(domain: dict) -> list[tuple[str, str]]:
    """Every text in the domain's responses and buttons, with slots filled by their defaults."""
    defaults = {name: slot.get("initial_value") for name, slot in domain["slots"].items()}
    found = []
    for name, variants in domain["responses"].items():
        for variant in variants:
            found.append((name, variant.get("text", "").format(**defaults)))
            found.extend((f"{name} button", button["title"]) for button in variant.get("buttons", []))
    return found
