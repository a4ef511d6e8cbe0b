"""Feedback on every answer, as the actions give it (a tracker from a dict, a CollectingDispatcher):
each answer from the knowledge store is recorded with its topic, trial and the rows it drew on,
and asks "Was this helpful?" in the way its channel can show; nothing else does; and a press or
typed words are kept against the right answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.shared.core.domain import Domain
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.nlu.training_data.message import Message
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import feedback
from actions.actions import ActionAnswerQuestion, ActionDefineTerm
from actions.advice import ActionPersonalAdvice
from actions.answers import brief_endpoints, headline_results
from actions.fallback import (
    ActionAskToRephrase,
    ActionAskWhichTopic,
    ActionOutOfScope,
    ActionSayWhatICanAnswer,
)
from actions.session import ActionGreet
from actions.store import KnowledgeStore
from actions.topics import TERMINAL_CHANNEL
from feedback import store
from feedback.store import WRITER, conversation_hash, new_answer_id
from tests.helpers import PROJECT_ROOT, run_action, tracker_from

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
RULES = yaml.safe_load((PROJECT_ROOT / "data" / "rules.yml").read_text())["rules"]
ALEMTUZUMAB = {"entity": "treatment", "value": "alemtuzumab"}
QUESTION = "how many people relapsed on alemtuzumab?"
TOKEN = "a-token-both-servers-hold"


@pytest.fixture
def feedback_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty feedback store of this test's own, and the token the conversation's hash is keyed with."""
    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    monkeypatch.setenv(store.URL_VARIABLE, url)
    monkeypatch.setenv(store.TOKEN_VARIABLE, TOKEN)
    return url


def kept(url: str) -> dict[str, list[dict[str, Any]]]:
    """Everything in the feedback store, once the writer has done what it was given."""
    WRITER.drain()
    with store.engine_for(url).connect() as connection:
        return {
            name: [dict(row._mapping) for row in connection.execute(select(table))]
            for name, table in store.metadata.tables.items()
        }


def answered(channel: str, intent: str = "ask_relapse", text: str = QUESTION, entities=None):
    return run_action(
        ActionAnswerQuestion(), tracker_from(intent, text, entities or [ALEMTUZUMAB], channel=channel)
    )


def test_an_answer_records_its_topic_trial_and_the_knowledge_rows_it_drew_on(
    use_store: str, feedback_url: str
) -> None:
    sent, events = answered("socketio")
    [record] = kept(feedback_url)["answers_given"]
    assert (record["topic"], record["trial"], record["channel"]) == ("relapse", "care-ms-ii", "socketio")
    assert record["conversation"] == conversation_hash("test-patient", TOKEN)
    rows = {
        (row["table_name"], row["row_id"]): row["row_key"]
        for row in kept(feedback_url)["answer_knowledge_rows"]
    }
    with KnowledgeStore.open(use_store) as opened:
        trial = opened.trial("care-ms-ii")
        [endpoint] = brief_endpoints(opened.endpoints_on(trial, "relapse"), QUESTION)
        figures = headline_results(endpoint)
        caveat = opened.guidance(opened.find_treatment("alemtuzumab"), in_caveat=True)
        other_trial = {result.id for e in opened.trial("care-ms-i").endpoints for result in e.results}
        # The figures said, each under a key that outlives the load, and the safety note's rows.
        for result in figures:
            assert rows[("results", result.id)] == f"care-ms-ii/{endpoint.key}/{result.arm.key}" + (
                f"/{result.estimate}" if result.estimate else ""
            )
        assert {("comparisons", c.id) for c in endpoint.comparisons} <= set(rows)
        assert {("guidance", g.id) for g in caveat if g.short_note} <= set(rows)
    assert not {("results", i) for i in other_trial} & set(rows), "nothing from the trial not asked about"
    # The widget is given the question under the last message, for this very answer.
    assert [bool(message.get(feedback.FEEDBACK)) for message in sent] == [False, False, True]
    prompt = sent[-1][feedback.FEEDBACK]
    assert prompt[feedback.ANSWER] == record["answer_id"]
    assert {"event": "slot", "name": feedback.LAST_ANSWER_SLOT, "value": record["answer_id"]} in [
        {key: event.get(key) for key in ("event", "name", "value")} for event in events
    ]


def test_the_feedback_store_never_holds_the_patient_s_words_or_conversation_id(
    use_store: str, feedback_url: str
) -> None:
    answered("socketio")
    everything = json.dumps(kept(feedback_url), default=str)
    for words in (QUESTION, "relapsed on alemtuzumab", "test-patient"):
        assert words not in everything


@pytest.mark.parametrize("channel", ["socketio", "slack", "telegram", "rest"])
def test_channels_with_buttons_get_yes_and_no_and_the_reasons_under_the_answer(
    use_store: str, feedback_url: str, channel: str
) -> None:
    sent, _ = answered(channel)
    prompt = sent[-1][feedback.FEEDBACK]
    assert prompt["question"] == "Was this helpful?"
    assert [(c["title"], c["helpful"]) for c in prompt["choices"]] == [("Yes", True), ("No", False)]
    assert [r["title"] for r in prompt["reasons"]] == [
        "Hard to understand", "Not what I asked", "Too long", "Wrong or out of date",
    ]  # fmt: skip
    assert feedback.IN_THE_TERMINAL not in sent[-1]["text"]


def test_the_terminal_says_what_to_type_and_the_words_stand_for_this_answer_s_payloads(
    use_store: str, feedback_url: str
) -> None:
    sent, events = answered(TERMINAL_CHANNEL)
    assert not any(message.get(feedback.FEEDBACK) for message in sent)
    assert sent[-1]["text"].endswith('\nWas this helpful? You can type "helpful" or "not helpful".')
    answer_id = kept(feedback_url)["answers_given"][0]["answer_id"]
    assert sent[-1][feedback.TYPED_REPLIES] == {
        "helpful": f'/feedback{{"answer":"{answer_id}","helpful":"yes"}}',
        "not helpful": f'/feedback{{"answer":"{answer_id}","helpful":"no"}}',
    }


def test_a_word_explained_from_the_glossary_is_an_answer_too(use_store: str, feedback_url: str) -> None:
    tracker = tracker_from("ask_definition", "what does relapse mean?", channel="socketio")
    sent, _ = run_action(ActionDefineTerm(), tracker)
    [record] = kept(feedback_url)["answers_given"]
    assert record["topic"] == "definition" and record["trial"] is None
    assert [row["table_name"] for row in kept(feedback_url)["answer_knowledge_rows"]] == ["glossary"]
    assert sent[-1][feedback.FEEDBACK][feedback.ANSWER] == record["answer_id"]


def no_question_asked(sent: list[dict]) -> bool:
    return not any(
        message.get(feedback.FEEDBACK) or message.get(feedback.TYPED_REPLIES) for message in sent
    ) and (not any(feedback.IN_THE_TERMINAL in (message.get("text") or "") for message in sent))


@pytest.mark.parametrize(
    "action, intent, text",
    [
        (ActionGreet(), "greet", "hello"),
        (ActionAskWhichTopic(), "nlu_fallback", "blah"),
        (ActionAskToRephrase(), "nlu_fallback", "blah"),
        (ActionSayWhatICanAnswer(), "nlu_fallback", "blah"),
        (ActionOutOfScope(), "out_of_scope", "what's the weather like?"),
        (ActionPersonalAdvice(), "ask_personal_advice", "should I take alemtuzumab?"),
        (ActionDefineTerm(), "ask_definition", "what does zorblax mean?"),  # not in the glossary
    ],
)
@pytest.mark.parametrize("channel", ["socketio", TERMINAL_CHANNEL])
def test_greetings_fallbacks_refusals_and_words_not_known_ask_no_feedback_and_record_nothing(
    use_store: str, feedback_url: str, action, intent: str, text: str, channel: str
) -> None:
    sent, _ = run_action(action, tracker_from(intent, text, channel=channel))
    assert sent and no_question_asked(sent)
    assert kept(feedback_url)["answers_given"] == []


def test_the_emergency_reply_is_a_fixed_response_that_no_answering_action_gives() -> None:
    """Urgent help is the domain's response, by rule (and the Rasa server's own, before the
    turn): it never comes from an action that asks for feedback."""
    urgent = [rule for rule in RULES if rule["steps"][0].get("intent") == "red_flag"]
    assert [step.get("action") for rule in urgent for step in rule["steps"][1:]] == ["utter_urgent_help"]
    assert all("buttons" not in variant for variant in DOMAIN["responses"]["utter_urgent_help"])


def pressed(payload_text: str, channel: str = "telegram", slots: dict | None = None):
    """A quick reply's payload as Rasa's own parser reads it (the entities the action gets)."""
    message = YAMLStoryReader.unpack_regex_message(
        Message(data={"text": payload_text}), Domain.load(str(PROJECT_ROOT / "domain.yml"))
    )
    entities = [{"entity": e["entity"], "value": e["value"]} for e in message.get("entities")]
    assert message.get("intent")["name"] == feedback.INTENT
    return tracker_from(feedback.INTENT, payload_text, entities, slots=slots, channel=channel)


def given_answer(feedback_url: str, channel: str = "telegram") -> str:
    answered(channel)
    return kept(feedback_url)["answers_given"][-1]["answer_id"]


def test_no_then_a_reason_in_a_chat_app_makes_one_row_and_asks_why_with_quick_replies(
    use_store: str, feedback_url: str
) -> None:
    answer_id = given_answer(feedback_url)
    sent, _ = run_action(feedback.ActionRecordFeedback(), pressed(feedback.payload(answer_id, False)))
    assert [m["text"] for m in sent] == [feedback.WHAT_WAS_WRONG]
    assert [b["title"] for b in sent[0]["buttons"]] == list(feedback.REASON_TITLES.values())
    assert [(r["helpful"], r["reason"]) for r in kept(feedback_url)["answer_feedback"]] == [(False, None)]
    too_long = next(b["payload"] for b in sent[0]["buttons"] if b["title"] == "Too long")
    sent, _ = run_action(feedback.ActionRecordFeedback(), pressed(too_long))
    assert [m["text"] for m in sent] == [feedback.THANKS]
    assert [(r["answer_id"], r["helpful"], r["reason"]) for r in kept(feedback_url)["answer_feedback"]] == [
        (answer_id, False, "too_long")
    ]


def test_yes_is_kept_and_thanked(use_store: str, feedback_url: str) -> None:
    answer_id = given_answer(feedback_url)
    sent, _ = run_action(feedback.ActionRecordFeedback(), pressed(feedback.payload(answer_id, True), "slack"))
    assert [m["text"] for m in sent] == [feedback.THANKS]
    assert [(r["helpful"], r["reason"]) for r in kept(feedback_url)["answer_feedback"]] == [(True, None)]


def test_typed_in_the_terminal_the_reasons_are_offered_in_words(use_store: str, feedback_url: str) -> None:
    answer_id = given_answer(feedback_url, TERMINAL_CHANNEL)
    tracker = pressed(feedback.payload(answer_id, False), TERMINAL_CHANNEL)
    sent, _ = run_action(feedback.ActionRecordFeedback(), tracker)
    assert sent[0]["text"] == (
        'Thank you. What was wrong? If you like, type "hard to understand", "not what I asked", '
        '"too long" or "wrong or out of date".'
    )
    assert not sent[0].get("buttons")
    assert sent[0][feedback.TYPED_REPLIES]["wrong or out of date"] == feedback.payload(
        answer_id, reason="wrong"
    )


def test_feedback_typed_later_in_words_is_on_the_latest_answer(use_store: str, feedback_url: str) -> None:
    answer_id = given_answer(feedback_url, TERMINAL_CHANNEL)
    for text, helpful in (("that was not helpful", False), ("very helpful!", True)):
        tracker = tracker_from(
            feedback.INTENT, text, slots={feedback.LAST_ANSWER_SLOT: answer_id}, channel=TERMINAL_CHANNEL
        )
        run_action(feedback.ActionRecordFeedback(), tracker)
        assert [(r["answer_id"], r["helpful"]) for r in kept(feedback_url)["answer_feedback"]] == [
            (answer_id, helpful)
        ]


@pytest.mark.parametrize(
    "typed, helpful",
    [("that wasnt helpful", False), ("it didn't help", False), ("nope, not useful", False),
     ("useless", False), ("really helpful", True), ("very useful thanks", True), ("that helped", True)],
)  # fmt: skip
def test_feedback_typed_in_other_words_is_read_the_right_way_round(typed: str, helpful: bool) -> None:
    answer_id = new_answer_id()
    tracker = tracker_from(
        feedback.INTENT, typed, slots={feedback.LAST_ANSWER_SLOT: answer_id}, channel="rest"
    )
    assert feedback.said_of_it(tracker) == (answer_id, helpful, None)


def test_feedback_with_no_answer_to_rate_is_thanked_and_not_kept(use_store: str, feedback_url: str) -> None:
    sent, _ = run_action(
        feedback.ActionRecordFeedback(), tracker_from(feedback.INTENT, "helpful", channel="rest")
    )
    assert [m["text"] for m in sent] == [feedback.NOTHING_TO_RATE]
    assert kept(feedback_url)["answer_feedback"] == []


def test_every_payload_fits_telegram_s_sixty_four_bytes_and_names_its_answer() -> None:
    answer_id = new_answer_id()
    payloads = [
        feedback.payload(answer_id, True),
        feedback.payload(answer_id, False),
        *(feedback.payload(answer_id, reason=key) for key in store.REASONS),
    ]
    assert max(len(p.encode()) for p in payloads) <= 64
    assert set(feedback.REASON_TITLES) == set(store.REASONS)
    for text in payloads:
        entities = {e["entity"]: e["value"] for e in pressed(text).latest_message["entities"]}
        assert entities[feedback.ANSWER] == answer_id


def test_an_answer_is_sent_when_the_feedback_store_is_down(
    use_store: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(store.URL_VARIABLE, "postgresql://nobody@127.0.0.1:1/feedback")
    monkeypatch.setattr(store, "WRITER", store.Writer())
    monkeypatch.setattr(feedback, "WRITER", store.WRITER)
    sent, _ = answered("socketio")
    assert "35%" in sent[0]["text"] and sent[-1][feedback.FEEDBACK]
    feedback.WRITER.drain()
    assert "The feedback store cannot be written (OperationalError)" in caplog.text
    assert QUESTION not in caplog.text


def test_the_fixed_texts_are_listed_for_the_grounding_and_readability_checks() -> None:
    from tests.helpers import every_fixed_text

    listed = {text for _, text in every_fixed_text()}
    assert set(feedback.FIXED_TEXTS) | set(feedback.REASON_TITLES.values()) | {"Yes", "No"} <= listed


def test_the_dispatcher_keys_of_a_message_stay_rasa_s_own_but_the_two_feedback_keys() -> None:
    """The channels find the question under `feedback`, the Rasa server the typed words under
    `typed_replies`; rasa_sdk's dispatcher sends both as they are."""
    dispatcher = CollectingDispatcher()
    dispatcher.utter_message(
        text="answer", **{feedback.FEEDBACK: {"a": 1}, feedback.TYPED_REPLIES: {"b": "c"}}
    )
    assert dispatcher.messages[0][feedback.FEEDBACK] == {"a": 1}
    assert dispatcher.messages[0][feedback.TYPED_REPLIES] == {"b": "c"}
