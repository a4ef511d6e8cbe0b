"""The Rasa server's processor, made to fail safe (connectors/processor.py): intent syntax only as
offered, a patient answered when the action server is down or frozen, and sessions of bounded
length. Through the live servers in test_hostile_input.py and test_failures.py; here, piece by
piece, with Rasa's own trackers, domain and channels.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Iterator

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from connectors import processor
from connectors.processor import (
    ACTION_SECONDS,
    MAX_USER_MESSAGES_PER_SESSION,
    OPENING_PAYLOAD,
    ActionServerState,
    FailSafeRemoteAction,
    SessionStartCarryingSlots,
    as_plain_text,
    fail_safe,
    feedback_offered,
    offered_payloads,
    typed_reply,
    user_messages_in_session,
)
from connectors.responses import ServerResponses
from tests.helpers import PROJECT_ROOT, rendered

DOMAIN = Domain.load(str(PROJECT_ROOT / "domain.yml"))
BOTH_TRIALS = '/inform_trial{"trial": "both"}'


def a_tracker(*events) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("patient-1", list(events), DOMAIN.slots)


def answer_offering(*payloads: str) -> BotUttered:
    return BotUttered("Sources: ...", {"buttons": [{"title": p, "payload": p} for p in payloads]})


# Intent syntax only as offered.
def test_the_payloads_of_the_last_turn_s_buttons_are_offered() -> None:
    tracker = a_tracker(UserUttered("how many relapsed?"), answer_offering(BOTH_TRIALS, "/ask_relapse"))
    assert offered_payloads(tracker) == {OPENING_PAYLOAD, BOTH_TRIALS, "/ask_relapse"}


def test_buttons_of_an_earlier_turn_are_no_longer_offered() -> None:
    tracker = a_tracker(answer_offering(BOTH_TRIALS), UserUttered("and disability?"), BotUttered("..."))
    assert offered_payloads(tracker) == {OPENING_PAYLOAD}


def test_the_widget_s_quick_replies_count_as_offered_too() -> None:
    quick = BotUttered("Did you mean?", {"quick_replies": [{"title": "Relapses", "payload": "/ask_relapse"}]})
    assert "/ask_relapse" in offered_payloads(a_tracker(UserUttered("hm"), quick))


# Feedback on an answer (actions/feedback.py): its quick replies stay pressable, and the words the
# terminal offers stand for their payloads in the next message only.
YES = '/feedback{"answer":"AAAAAAAAAAAAAAAA","helpful":"yes"}'
NO = '/feedback{"answer":"AAAAAAAAAAAAAAAA","helpful":"no"}'
TOO_LONG = '/feedback{"answer":"AAAAAAAAAAAAAAAA","reason":"too_long"}'


def answer_asking_for_feedback() -> BotUttered:
    prompt = {
        "answer": "AAAAAAAAAAAAAAAA",
        "choices": [{"title": "Yes", "payload": YES}, {"title": "No", "payload": NO}],
    }
    return BotUttered(
        "Safety note: ...",
        {"buttons": [{"title": "Sources", "payload": "/ask_source"}]},
        {"feedback": prompt},
    )


def test_feedback_quick_replies_stay_offered_after_later_turns_but_other_buttons_do_not() -> None:
    why = BotUttered("What was wrong?", {"buttons": [{"title": "Too long", "payload": TOO_LONG}]})
    tracker = a_tracker(
        UserUttered("how many relapsed?"), answer_asking_for_feedback(), UserUttered(NO), why,
        UserUttered("and disability?"), BotUttered("..."),
    )  # fmt: skip
    assert feedback_offered(tracker) == {YES, NO, TOO_LONG}
    assert "/ask_source" not in offered_payloads(tracker)
    assert feedback_offered(a_tracker(UserUttered("hi"), answer_offering("/ask_source"))) == set()


def answer_in_the_terminal() -> BotUttered:
    typed = {"helpful": YES, "not helpful": NO}
    return BotUttered(
        '... Was this helpful? You can type "helpful" or "not helpful".', {}, {"typed_replies": typed}
    )


@pytest.mark.parametrize(
    "typed, read",
    [("helpful", YES), ("Not helpful.", NO), ("  NOT   helpful! ", NO), ("yes", None), ("no", None),
     ("not helpful at all, I have chest pain", None), ("/feedback", None)],
)  # fmt: skip
def test_only_the_exact_words_offered_in_the_last_turn_stand_for_a_payload(
    typed: str, read: str | None
) -> None:
    assert typed_reply(typed, a_tracker(UserUttered("how many relapsed?"), answer_in_the_terminal())) == read


def test_words_offered_in_an_earlier_turn_are_read_as_words() -> None:
    tracker = a_tracker(answer_in_the_terminal(), UserUttered("and disability?"), BotUttered("..."))
    assert typed_reply("helpful", tracker) is None


@pytest.mark.parametrize(
    "typed, read",
    [
        (
            "/ask_relapse@1.0 I have crushing chest pain right now",
            "ask_relapse@1.0 I have crushing chest pain right now",
        ),
        ("//greet{ I want to kill myself", "greet{ I want to kill myself"),
        ("/", "/"),
    ],
)
def test_a_message_that_merely_starts_with_a_slash_is_read_as_its_words(typed: str, read: str) -> None:
    assert as_plain_text(typed) == read


# Sessions of bounded length.
def test_messages_are_counted_from_the_latest_session_start() -> None:
    tracker = a_tracker(
        SessionStarted(), UserUttered("a"), UserUttered("b"), SessionStarted(), UserUttered("c")
    )
    assert user_messages_in_session(tracker) == 1


def test_the_bound_is_a_handful_of_questions_not_a_whole_long_conversation() -> None:
    assert 10 <= MAX_USER_MESSAGES_PER_SESSION <= 50


def test_a_new_session_carries_each_slot_once_so_sessions_do_not_grow() -> None:
    """Rasa's own session start carries every SlotSet of the session, its own carried ones too:
    20 sessions of 20 questions left 218 events where 61 were needed, and turns grew slower."""
    tracker = a_tracker(SessionStarted(), SlotSet("topic", "relapse"))
    for topic in ("relapse", "disability", "infections") * 10:
        tracker.update(UserUttered("and that?"))
        tracker.update(SlotSet("topic", topic))
        tracker.update(SlotSet("treatment", "alemtuzumab"))
    events = asyncio.run(
        SessionStartCarryingSlots().run(
            CollectingOutputChannel(), ServerResponses(domain=DOMAIN), tracker, DOMAIN
        )
    )
    carried = [event for event in events if isinstance(event, SlotSet)]
    assert sorted((event.key, event.value) for event in carried) == [
        ("topic", "infections"),
        ("treatment", "alemtuzumab"),
    ]


# The action server down or frozen.
@pytest.fixture
def frozen_action_server() -> Iterator[str]:
    """An address that takes connections and never answers, as a frozen server does."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/webhook"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/webhook"


def run(action: RemoteAction, tracker: DialogueStateTracker) -> tuple[list, float]:
    async def go() -> tuple[list, float]:
        started = time.monotonic()
        events = await action.run(CollectingOutputChannel(), ServerResponses(domain=DOMAIN), tracker, DOMAIN)
        return events, time.monotonic() - started

    return asyncio.run(go())


@pytest.fixture
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> ActionServerState:
    state = ActionServerState()
    monkeypatch.setattr(FailSafeRemoteAction, "state", state)
    return state


def test_with_the_action_server_down_an_answer_says_it_cannot_look_that_up(fresh_state) -> None:
    action = FailSafeRemoteAction("action_answer_question", EndpointConfig(closed_port()))
    events, _ = run(action, a_tracker(UserUttered("how many relapsed?")))
    assert [e.text for e in events if isinstance(e, BotUttered)] == [rendered("utter_cannot_look_up")]
    assert not fresh_state.health()["reachable"]


def test_with_the_action_server_down_a_conversation_still_opens_with_the_notice_and_listens(
    fresh_state,
) -> None:
    action = FailSafeRemoteAction("action_session_start", EndpointConfig(closed_port()))
    events, _ = run(action, a_tracker(SlotSet("topic", "relapse")))
    assert isinstance(events[0], SessionStarted)
    assert SlotSet("topic", "relapse") in events  # carried over, as Rasa's own session start does
    notice = [e for e in events if isinstance(e, BotUttered)]
    assert [e.text for e in notice] == [rendered("utter_opening_notice")]
    assert events[-1] == ActionExecuted("action_listen")


def test_a_frozen_action_server_is_given_up_on_within_seconds_then_skipped_at_once(
    fresh_state, frozen_action_server: str
) -> None:
    action = FailSafeRemoteAction("action_answer_question", EndpointConfig(frozen_action_server))
    events, waited = run(action, a_tracker(UserUttered("how many relapsed?")))
    assert ACTION_SECONDS - 0.5 < waited < ACTION_SECONDS + 2
    assert [e.text for e in events if isinstance(e, BotUttered)] == [rendered("utter_cannot_look_up")]
    events, waited = run(action, a_tracker(UserUttered("and on interferon?")))
    assert waited < 0.5 and [e.text for e in events if isinstance(e, BotUttered)] == [
        rendered("utter_cannot_look_up")
    ]


def test_after_a_pause_the_action_server_is_tried_again(fresh_state) -> None:
    now = [0.0]
    fresh_state.clock = lambda: now[0]
    fresh_state.failed("action_answer_question", ConnectionError())
    assert not fresh_state.should_try()
    now[0] += ActionServerState.PAUSE_SECONDS
    assert fresh_state.should_try()
    fresh_state.succeeded()
    assert fresh_state.health() == {"reachable": True, "down_since": None}


def test_every_custom_action_rasa_looks_up_is_made_fail_safe() -> None:
    endpoint = EndpointConfig("http://127.0.0.1:9/webhook")

    def rasa_s(name, domain, action_endpoint):
        return RemoteAction(name, action_endpoint)

    looked_up = fail_safe(rasa_s)("action_answer_question", DOMAIN, endpoint)
    assert isinstance(looked_up, FailSafeRemoteAction) and looked_up.name() == "action_answer_question"
    assert processor.FailSafeRemoteAction is FailSafeRemoteAction
