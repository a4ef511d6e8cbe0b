"""Safety behaviour of the custom actions, as the patient sees it: advice is declined kindly,
a medicine the trial did not test never gets a figure, and every conversation opens with a
notice of what the assistant is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from actions.actions import ActionAnswerQuestion
from actions.advice import CANNOT_DECIDE, DO_NOT_CHANGE, NO_FACTS, ActionPersonalAdvice
from actions.database import DB_URL_VARIABLE
from actions.session import ActionSessionStart
from tests.helpers import PROJECT_ROOT, rendered, run_action, talk_to_a_person, texts, tracker_from

FIGURE = re.compile(r"\d+(\.\d+)?\s*%|\bin every \d+")
DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
ALEMTUZUMAB = {"entity": "treatment", "value": "alemtuzumab"}


def advise(text: str, entities=None) -> list[str]:
    messages, _ = run_action(ActionPersonalAdvice(), tracker_from("ask_personal_advice", text, entities))
    return texts(messages)


def test_should_i_take_it_is_declined_with_the_main_results_and_a_pointer(use_store) -> None:
    sent = advise("should i take lemtrada?", [ALEMTUZUMAB])
    assert sent[0] == CANNOT_DECIDE and sent[-2:] == [DO_NOT_CHANGE, talk_to_a_person()]
    assert any("relapses a year" in text for text in sent)
    assert any(text.startswith("Safety note:") for text in sent)


def test_can_i_stop_my_blood_tests_gets_the_monitoring_guidance(use_store) -> None:
    text = " ".join(advise("can i stop my blood tests now?"))
    assert "every month, until 48 months" in text and "don't start, stop or change" in text


def test_pregnancy_gets_no_figures_because_the_trial_results_do_not_cover_it(use_store) -> None:
    sent = advise("i'm pregnant, can i still have lemtrada?", [ALEMTUZUMAB])
    assert sent == [CANNOT_DECIDE, NO_FACTS, DO_NOT_CHANGE, talk_to_a_person()]


def test_advice_is_still_declined_kindly_when_the_store_is_down(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(DB_URL_VARIABLE, f"sqlite:///{tmp_path / 'missing.db'}")
    assert advise("should i switch to lemtrada?") == [
        CANNOT_DECIDE,
        NO_FACTS,
        DO_NOT_CHANGE,
        talk_to_a_person(),
    ]


@pytest.mark.parametrize(
    "intent, text, slots, missing",
    [
        ("ask_relapse", "how many people relapsed on ocrelizumab", {}, "ocrelizumab"),
        ("inform_treatment", "and on tysabri?", {"topic": "relapse"}, "natalizumab"),
        ("ask_disability", "did gilenya stop disability getting worse", {}, "fingolimod"),
    ],
)
def test_a_medicine_the_trial_did_not_test_never_gets_a_figure(
    use_store, intent, text, slots, missing
) -> None:
    messages, _ = run_action(ActionAnswerQuestion(), tracker_from(intent, text, slots=slots))
    sent = texts(messages)
    assert sent[0].startswith(f"The CARE-MS II trial did not have a group on {missing}.")
    assert not any(FIGURE.search(message) for message in sent), sent


def test_there_was_no_placebo_group_and_the_answer_says_what_was_compared(use_store) -> None:
    messages, _ = run_action(
        ActionAnswerQuestion(), tracker_from("ask_relapse", "how many relapsed on placebo?")
    )
    sent = texts(messages)
    assert sent[0].startswith("Neither trial had a group with no treatment. There was no placebo group.")
    assert "Everyone got a treatment: alemtuzumab 12 mg or interferon beta-1a." in sent[0]
    assert not any(FIGURE.search(message) for message in sent), sent


def session_start(monkeypatch: pytest.MonkeyPatch, slots=None) -> tuple[list[str], list[dict]]:
    messages, events = run_action(ActionSessionStart(), tracker_from("session_start", slots=slots))
    return texts(messages), events


def test_every_conversation_opens_with_the_notice(use_store, monkeypatch: pytest.MonkeyPatch) -> None:
    [notice], events = session_start(monkeypatch)
    assert "automated assistant, not a doctor or nurse" in notice
    assert "can't give medical advice" in notice
    assert "from 2012 to 2020" in notice
    assert "keep this conversation" in notice and "don't share your name" in notice
    assert "at most 30 days" in notice and 'type "delete this conversation"' in notice
    assert events[0]["event"] == "session_started" and events[-1]["name"] == "action_listen"


def test_the_notice_still_opens_the_conversation_when_the_store_is_down(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(DB_URL_VARIABLE, f"sqlite:///{tmp_path / 'missing.db'}")
    [notice], _ = session_start(monkeypatch)
    assert "automated assistant" in notice and "published trial results" in notice


def test_the_emergency_wording_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Filled in by the Rasa server itself, so it is right even when the action server is down."""
    from connectors.responses import ServerResponses

    monkeypatch.setenv("EMERGENCY_CONTACT", "call 000 (Australia)")
    responses = ServerResponses(responses=DOMAIN["responses"])
    for kind in ("self_harm", "self_harm_and_physical", "chest_pain"):
        urgent = responses.generate_from_slots("utter_urgent_help", {"red_flag": kind}, "rest")["text"]
        assert "Please call 000 (Australia) now" in urgent
    for reply in ("utter_cannot_look_up", "utter_message_too_long", "utter_english_only"):
        assert "please call 000 (Australia) now" in responses.generate_from_slots(reply, {}, "rest")["text"]


def test_slots_carry_over_into_a_new_session(use_store, monkeypatch: pytest.MonkeyPatch) -> None:
    _, events = session_start(monkeypatch, slots={"topic": "relapse", "treatment": None})
    slots = [(e["name"], e["value"]) for e in events if e["event"] == "slot"]
    assert slots == [("topic", "relapse")]


def test_the_urgent_reply_has_a_default_and_a_self_harm_wording() -> None:
    variants = DOMAIN["responses"]["utter_urgent_help"]
    default = [v for v in variants if "condition" not in v]
    self_harm = [
        v
        for v in variants
        if v.get("condition") == [{"type": "slot", "name": "red_flag", "value": "self_harm"}]
    ]
    assert len(default) == 1 and len(self_harm) == 1
    assert "{emergency_contact}" in default[0]["text"] and "{emergency_contact}" in self_harm[0]["text"]
    assert (
        rendered("utter_urgent_help").count("call 999, 112 or 911. Or call your local emergency number") == 1
    )


def test_when_unsure_the_likely_topics_are_offered_as_buttons_and_no_figure_is_given() -> None:
    from rasa_sdk import Tracker

    from actions.fallback import NOT_SURE, ActionAskWhichTopic

    tracker = tracker_from("nlu_fallback", "what about the bad stuff")
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.4},
        {"name": "ask_infections", "confidence": 0.3},
        {"name": "red_flag", "confidence": 0.1},
        {"name": "ask_autoimmunity", "confidence": 0.1},
    ]
    tracker = Tracker.from_dict(
        {**tracker.current_state(), "latest_message": {**tracker.latest_message, "intent_ranking": ranking}}
    )
    messages, events = run_action(ActionAskWhichTopic(), tracker)
    assert texts(messages) == [NOT_SURE] and events == []
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        "/ask_infections",
        "/ask_autoimmunity",
        "/out_of_scope",
    ]


def test_the_second_stage_asks_to_rephrase_with_the_main_topics() -> None:
    from actions.fallback import MAIN_TOPICS, SAY_IT_ANOTHER_WAY, ActionAskToRephrase

    messages, _ = run_action(ActionAskToRephrase(), tracker_from("nlu_fallback", "???"))
    assert texts(messages) == [SAY_IT_ANOTHER_WAY, talk_to_a_person()]
    assert [b["payload"] for b in messages[0]["buttons"]] == [f"/{intent}" for intent in MAIN_TOPICS]


def test_the_last_resort_lists_what_can_be_answered_and_forgets_the_message() -> None:
    from actions.fallback import WHAT_I_CAN_ANSWER, ActionSayWhatICanAnswer

    messages, events = run_action(ActionSayWhatICanAnswer(), tracker_from("nlu_fallback", "???"))
    assert texts(messages) == [WHAT_I_CAN_ANSWER] and events == [{"event": "rewind", "timestamp": None}]


@pytest.mark.parametrize(
    "intent, text",
    [
        ("ask_higher_dose_group", "what happened in the opera 2 study"),
        ("ask_relapse", "how many relapsed in the AFFIRM trial"),
    ],
)
def test_a_question_about_another_trial_never_gets_this_trial_s_figures(
    use_store, intent: str, text: str
) -> None:
    messages, _ = run_action(ActionAnswerQuestion(), tracker_from(intent, text))
    sent = texts(messages)
    assert (
        sent[0].startswith("I don't have results from the")
        and "I only have results from CARE-MS II" in sent[0]
    )
    assert not any(FIGURE.search(message) for message in sent)


def test_everyday_words_that_are_also_trial_names_are_not_mistaken_for_trials(use_store) -> None:
    messages, _ = run_action(
        ActionAnswerQuestion(), tracker_from("ask_relapse_rate", "can you define the relapse rate")
    )
    assert texts(messages)[0].startswith("In the CARE-MS II trial")


def tracker_on_channel(channel: str, text: str = "???"):
    return tracker_from("nlu_fallback", text, channel=channel)


def test_in_the_terminal_topics_are_listed_in_words_so_typing_always_reaches_the_assistant() -> None:
    """rasa shell turns buttons into a menu: a typed message (an emergency, say) would pick the
    first topic instead of being sent."""
    from actions.fallback import SAY_IT_ANOTHER_WAY, ActionAskToRephrase

    messages, _ = run_action(ActionAskToRephrase(), tracker_on_channel("cmdline"))
    assert "buttons" not in messages[0] or not messages[0]["buttons"]
    assert messages[0]["text"].startswith(SAY_IT_ANOTHER_WAY)
    assert "You could ask about: What the trial found; Side effects and risks" in messages[0]["text"]
    messages, _ = run_action(ActionAskToRephrase(), tracker_on_channel("rest"))
    assert messages[0]["buttons"]


@pytest.mark.parametrize(
    "action",
    [
        "session.ActionGreet",
        "fallback.ActionSayWhatICanAnswer",
        "fallback.ActionAskToRephrase",
        "fallback.ActionOutOfScope",
    ],
)
def test_no_message_offers_a_button_menu_in_the_terminal(action: str) -> None:
    """Every action that suggests topics lists them in words in the terminal, and as quick
    replies on every other channel (the website widget, Slack, Telegram, REST)."""
    import importlib

    module, name = action.split(".")
    suggesting = getattr(importlib.import_module(f"actions.{module}"), name)()
    in_terminal, _ = run_action(suggesting, tracker_on_channel("cmdline"))
    assert not any(message.get("buttons") for message in in_terminal)
    assert ": What the trial found; Side effects and risks" in in_terminal[0]["text"]
    on_the_web, _ = run_action(suggesting, tracker_on_channel("socketio"))
    assert [button["title"] for button in on_the_web[0]["buttons"]][:2] == [
        "What the trial found", "Side effects and risks"
    ]  # fmt: skip


def test_the_greeting_offers_the_main_topics_as_quick_replies() -> None:
    from actions.session import GREETING, ActionGreet
    from actions.topics import MAIN_TOPICS

    messages, _ = run_action(ActionGreet(), tracker_on_channel("socketio"))
    assert messages[0]["text"] == GREETING
    assert [button["payload"] for button in messages[0]["buttons"]] == [
        f"/{intent}" for intent in MAIN_TOPICS
    ]


def test_an_unclear_message_naming_another_trial_gets_the_honest_reply_not_topics(use_store) -> None:
    from actions.fallback import ActionAskWhichTopic

    messages, _ = run_action(
        ActionAskWhichTopic(), tracker_from("nlu_fallback", "what happened in the opera 2 study")
    )
    assert texts(messages)[0].startswith("I don't have results from the OPERA trial")
    assert not messages[0].get("buttons")


def test_an_unclear_message_with_a_medicine_in_the_person_s_story_gets_topics_not_a_refusal(
    use_store,
) -> None:
    from actions.fallback import NOT_SURE, ActionAskWhichTopic

    text = "i was on tecfidera and i relapsed. what was the relapse rate for people like me?"
    start = text.index("tecfidera")
    entities = [{"entity": "treatment", "value": "dimethyl fumarate", "start": start, "end": start + 9}]
    messages, _ = run_action(ActionAskWhichTopic(), tracker_from("nlu_fallback", text, entities))
    assert texts(messages) == [NOT_SURE]


def test_an_unclear_message_asking_about_an_untested_medicine_still_gets_the_honest_reply(use_store) -> None:
    from actions.fallback import ActionAskWhichTopic

    messages, _ = run_action(ActionAskWhichTopic(), tracker_from("nlu_fallback", "tecfidera relapses??"))
    assert "did not have a group on dimethyl fumarate" in texts(messages)[0]


def test_when_the_model_suspects_an_emergency_no_rule_confirms_the_fallback_says_how_to_get_help() -> None:
    from rasa_sdk import Tracker

    from actions.fallback import NOT_SURE, ActionAskWhichTopic

    tracker = tracker_from("nlu_fallback", "i feel really strange and weird")
    ranking = [{"name": "nlu_fallback", "confidence": 0.6}, {"name": "red_flag", "confidence": 0.6}]
    tracker = Tracker.from_dict(
        {**tracker.current_state(), "latest_message": {**tracker.latest_message, "intent_ranking": ranking}}
    )
    messages, _ = run_action(ActionAskWhichTopic(), tracker)
    assert texts(messages) == [
        "If you need urgent help, please call 999, 112 or 911. Or call your local emergency number now.",
        NOT_SURE,
    ]


def test_a_question_outside_the_trial_gets_an_honest_no_and_a_way_on() -> None:
    """Nonsense is often taken for a question outside the trial: the reply must still offer the
    topics, never a figure."""
    from actions.fallback import OUT_OF_SCOPE, ActionOutOfScope

    messages, _ = run_action(ActionOutOfScope(), tracker_on_channel("socketio"))
    assert messages[0]["text"] == OUT_OF_SCOPE and "won't guess" in OUT_OF_SCOPE
    assert messages[0]["buttons"]
