"""Helpers for tests that talk to the custom actions as Rasa would."""

from __future__ import annotations

import asyncio
import itertools
from functools import lru_cache
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


# The keys rasa_sdk's dispatcher gives every message; any other key of a message that names a
# response is a value to fill that response with.
DISPATCHER_KEYS = {"text", "buttons", "elements", "custom", "template", "response", "image", "attachment"}


@lru_cache(maxsize=1)
def talk_to_a_person() -> str:
    """Where to find a person, as the server says it with no helpline set (tests/test_helpline.py)."""
    from actions.topics import TALK_TO_A_PERSON

    return server_responses().generate_from_slots(TALK_TO_A_PERSON, {}, "rest")["text"]


def server_responses() -> Any:
    """The Rasa server's response generator, with the domain's responses and its fixed replies,
    filled in as the server fills them (the default emergency number, 30 days kept, in memory)."""
    import yaml

    from connectors.responses import ServerResponses

    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    return ServerResponses(responses=domain["responses"])


def rendered(response: str, channel: str = "rest", slots: dict[str, Any] | None = None, **values: Any) -> str:
    """A response's text as the Rasa server sends it, given the conversation's slots and the
    values an action sent with it."""
    return server_responses().generate_from_slots(response, slots or {}, channel, **values)["text"]


def texts(messages: list[dict[str, Any]]) -> list[str]:
    """What the patient reads: each message's text, or the response it names, as the server
    renders it."""
    said = []
    for message in messages:
        if message.get("text"):
            said.append(message["text"])
        elif message.get("response"):
            values = {key: value for key, value in message.items() if key not in DISPATCHER_KEYS}
            said.append(rendered(message["response"], **values))
    return said


def source_line(said: list[str]) -> str:
    """The source line that ends an answer's last message ("" when it has none)."""
    last = said[-1].rsplit("\n", 1)[-1] if said else ""
    return last if last.startswith(("Source: ", "Sources: ")) else ""


def every_answer(knowledge_url: str) -> list[tuple[str, str]]:
    """Every message the actions can send, each with where it comes from: every topic for every
    treatment (and none), asked of no trial in particular, of each trial and of all of them;
    every glossary word, the opening notice, and the fixed messages."""
    from sqlalchemy import select

    from actions import answers, long_term, pictures
    from actions.asked import CHANCE, EXPLANATION, JUDGEMENT
    from actions.explain import explain_last_answer
    from actions.models import OtherTrial, Treatment
    from actions.session import OPENING_NOTICE, figure_years
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
                    for picture in pictures.pictures_for(store, topic, treatment, trials=scope):
                        found.append((f"{where} / picture", picture["alt"]))
                        found.append((f"{where} / picture as text", picture["table"]))
                    for wants in (JUDGEMENT, EXPLANATION, CHANCE):
                        for trial in trials:
                            said = explain_last_answer(store, trial, topic, treatment, wants) or []
                            found.extend((f"{where} / {wants} in {trial.key}", text) for text in said)
        # The years after the trials, from their follow-ups: each selection of measures a
        # question can ask for, for each medicine in the trials; and the judgement of one.
        followed = [None, *sorted({arm.treatment for t in trials for arm in t.arms}, key=lambda t: t.key)]
        selections = [
            ([topic], "") for topic in sorted(set(long_term.MEASURE_TOPIC) - {"results", "trial_overview"})
        ]
        selections.append(([long_term.LONG_TERM], "no evidence of disease activity"))
        for (topics, text), treatment, scope in itertools.product(selections, followed, scopes):
            asked = "+".join(trial.key for trial in scope) or "no trial named"
            where = (
                f"after the trial / {topics[0]} {text}".rstrip()
                + f" / {treatment.key if treatment else 'any'} / {asked}"
            )
            found.extend(
                (where, t) for t in long_term.compose_long_term(store, scope, treatment, topics, text)
            )
        for wants, scope in itertools.product((JUDGEMENT, CHANCE), scopes):
            said = long_term.compose_long_term(store, scope, None, [long_term.LONG_TERM], wants=wants)
            found.extend((f"after the trial / {wants} / {'+'.join(t.key for t in scope)}", t) for t in said)
        for term in store.glossary_words():
            found.extend((f"glossary / {term}", text) for text in answers.define_term(store, [term]))
        found.extend(("glossary / unknown word", t) for t in answers.define_term(store, ["zorblax"]))
        found.append(("opening notice", rendered(OPENING_NOTICE, figure_years=figure_years(store))))
        for other in store.session.execute(select(OtherTrial)).scalars():
            found.extend((f"other trial / {other.name}", t) for t in answers.not_covered_trial(store, other))
    found.extend(every_fixed_text())
    return found


def every_fixed_text() -> list[tuple[str, str]]:
    """The fixed texts of the actions (each module lists its own), with where each comes from:
    among them "Was this helpful?", its choices and what follows them (actions/feedback.py)."""
    from actions import advice, answers, explain, fallback, feedback, long_term, session

    fixed = {
        "answers": ("NO_KNOWLEDGE", "TALK_TO_YOUR_TEAM", "COMPARE_WITHIN_TRIALS", "NOT_A_CURE"),
        "explain": ("JUDGING", "NO_TEST_OF_CHANCE"),
        "advice": ("CANNOT_DECIDE", "FACTS_FOLLOW", "NO_FACTS", "DO_NOT_CHANGE"),
        "fallback": ("NOT_SURE", "SAY_IT_ANOTHER_WAY", "WHAT_I_CAN_ANSWER", "OUT_OF_SCOPE"),
        "session": ("GREETING",),
        "long_term": ("NO_COMPARISON_TO_JUDGE", "NOT_COUNTED"),
        "feedback": (
            "QUESTION", "YES", "NO", "WHAT_WAS_WRONG", "THANKS", "NOT_SAVED", "IN_THE_TERMINAL",
            "WHAT_WAS_WRONG_IN_WORDS", "NOTHING_TO_RATE",
        ),
    }  # fmt: skip
    modules = {
        "answers": answers,
        "advice": advice,
        "explain": explain,
        "fallback": fallback,
        "session": session,
        "long_term": long_term,
        "feedback": feedback,
    }
    found = [
        (f"{module}.{name}", getattr(modules[module], name))
        for module, names in fixed.items()
        for name in names
    ]
    found.extend((f"feedback.REASON_TITLES[{key}]", title) for key, title in feedback.REASON_TITLES.items())
    return found


def every_picture(knowledge_url: str) -> list[tuple[str, dict]]:
    """Every picture the actions can send: for every topic and treatment (and none), asked of no
    trial in particular, of each trial and of all of them."""
    from sqlalchemy import select

    from actions import answers, pictures
    from actions.models import Treatment
    from actions.store import KnowledgeStore

    found: list[tuple[str, dict]] = []
    with KnowledgeStore.open(knowledge_url) as store:
        trials = store.trials()
        treatments = [None, *store.session.execute(select(Treatment).order_by(Treatment.key)).scalars()]
        topics = set(answers.DESIGN_COMPOSERS).union(*(store.topics(trial) for trial in trials))
        for topic, treatment in itertools.product(sorted(topics), treatments):
            for scope in [[], *([trial] for trial in trials), trials]:
                asked = "+".join(trial.key for trial in scope) or "no trial named"
                where = f"{topic} / {treatment.key if treatment else 'any treatment'} / {asked}"
                found.extend(
                    (where, drawn) for drawn in pictures.pictures_for(store, topic, treatment, trials=scope)
                )
    return found


def domain_texts(domain: dict) -> list[tuple[str, str]]:
    """Every text in the domain's responses and the server's fixed replies, every variant, as the
    server renders them on each channel it treats apart, with their buttons' titles."""
    from connectors.responses import fixed_replies

    every = {**domain["responses"], **fixed_replies()}
    found = []
    for name, variants in every.items():
        for variant in variants:
            slots = {condition["name"]: condition["value"] for condition in variant.get("condition", [])}
            for channel in ("rest", "socketio", "slack", "telegram"):
                if variant.get("channel") not in (None, channel):
                    continue
                text = server_responses().generate_from_slots(name, slots, channel, platform="Slack")["text"]
                found.append((f"{name} ({channel})", text))
            found.extend((f"{name} button", button["title"]) for button in variant.get("buttons", []))
    return found


def feedback_of(url: str, conversation_id: str, token: str) -> dict[str, list[dict[str, Any]]]:
    """What the feedback store holds of one conversation: its answers, the knowledge rows they drew
    on and their feedback (the servers hash the conversation's id with `token`)."""
    from sqlalchemy import select

    from feedback import store

    hashed = store.conversation_hash(conversation_id, token)
    mine = select(store.answers.c.answer_id).where(store.answers.c.conversation == hashed)
    with store.engine_for(url).connect() as connection:
        return {
            "answers": [
                dict(row._mapping)
                for row in connection.execute(
                    select(store.answers)
                    .where(store.answers.c.conversation == hashed)
                    .order_by("answered_at")
                )
            ],
            "rows": [
                dict(row._mapping)
                for row in connection.execute(
                    select(store.knowledge_rows).where(store.knowledge_rows.c.answer_id.in_(mine))
                )
            ],
            "feedback": [
                dict(row._mapping)
                for row in connection.execute(
                    select(store.feedback).where(store.feedback.c.answer_id.in_(mine))
                )
            ],
        }


def everything_in(url: str) -> str:
    """Every value in the feedback store, as one text to search."""
    from sqlalchemy import select

    from feedback import store

    with store.engine_for(url).connect() as connection:
        return "\n".join(
            str(dict(row._mapping))
            for table in store.metadata.sorted_tables
            for row in connection.execute(select(table))
        )
