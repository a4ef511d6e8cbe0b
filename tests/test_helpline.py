"""A person to turn to: when someone asks for a person, after a second message not understood,
and under every refusal of personal advice, the assistant names the deployment's helpline
(`HELPLINE_NAME`, `HELPLINE_PHONE`, optional `HELPLINE_HOURS` and `HELPLINE_URL`), or, with none
set, the person's own MS team. The wording holds no figures and reads at grade 6 or below."""

from __future__ import annotations

import re

import pytest
import textstat
import yaml

from actions.actions import ActionAnswerQuestion
from actions.advice import ActionPersonalAdvice
from actions.fallback import ActionAskToRephrase, ActionAskWhichTopic
from actions.topics import TALK_TO_A_PERSON
from connectors.responses import ServerResponses, helpline_settings
from tests.conftest import HELPLINE
from tests.helpers import PROJECT_ROOT, run_action, server_responses, texts, tracker_from

CHANNELS = ("rest", "socketio", "slack", "telegram", "cmdline")


def talk_to_a_person(environment: dict[str, str], channel: str = "rest") -> str:
    responses = server_responses()
    responses.helpline = helpline_settings(environment)
    return responses.generate_from_slots(TALK_TO_A_PERSON, {}, channel)["text"]


@pytest.mark.parametrize("channel", CHANNELS)
def test_with_no_helpline_set_it_names_the_person_s_ms_team(channel: str) -> None:
    said = talk_to_a_person({}, channel)
    assert said.startswith("If you'd like to talk to a person, please contact your MS team.")
    assert not re.search(r"\d", said) and "{" not in said
    assert textstat.flesch_kincaid_grade(said) <= 6.0


def test_a_helpline_set_is_named_with_its_phone_hours_and_web_address() -> None:
    said = talk_to_a_person(HELPLINE)
    assert said == (
        "If you'd like to talk to a person, you can call the MS nurse line on 0100 000 0000 "
        "(weekdays, 9am to 5pm). Or go to https://nurses.example/ms. Your MS team can help too."
    )


def test_hours_and_web_address_are_optional() -> None:
    said = talk_to_a_person({"HELPLINE_NAME": "the MS nurse line", "HELPLINE_PHONE": "0100 000 0000"})
    assert said == (
        "If you'd like to talk to a person, you can call the MS nurse line on 0100 000 0000. "
        "Your MS team can help too."
    )


@pytest.mark.parametrize("missing", ["HELPLINE_NAME", "HELPLINE_PHONE"])
def test_a_helpline_without_a_name_or_a_phone_number_is_not_offered(missing: str) -> None:
    """Half a helpline ("call the MS nurse line on .") would leave the person nowhere to turn."""
    settings = {key: value for key, value in HELPLINE.items() if key != missing}
    assert "please contact your MS team" in talk_to_a_person(settings)


def test_the_server_reads_the_helpline_from_its_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable, value in HELPLINE.items():
        monkeypatch.setenv(variable, value)
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    responses = ServerResponses(responses=domain["responses"])
    said = responses.generate_from_slots(TALK_TO_A_PERSON, {}, "rest")["text"]
    assert "the MS nurse line on 0100 000 0000" in said


def test_every_refusal_of_personal_advice_ends_with_a_person_to_turn_to(use_store) -> None:
    messages, _ = run_action(ActionPersonalAdvice(), tracker_from("ask_personal_advice", "should I have it?"))
    assert messages[-1].get("response") == TALK_TO_A_PERSON
    assert texts(messages)[0].startswith("I can't decide that for you")


def test_a_second_message_not_understood_offers_a_person_to_turn_to() -> None:
    messages, _ = run_action(ActionAskToRephrase(), tracker_from("nlu_fallback", "blorp"))
    assert texts(messages)[0].startswith("Sorry, I still don't understand.")
    assert messages[-1].get("response") == TALK_TO_A_PERSON


@pytest.mark.parametrize(
    "action, intent, text",
    [
        (ActionAnswerQuestion(), "ask_relapse", "how many relapsed?"),
        (ActionAskWhichTopic(), "nlu_fallback", "relapses?"),
    ],
)
def test_an_answer_or_a_first_message_not_understood_names_no_helpline(
    use_store, action, intent: str, text: str
) -> None:
    messages, _ = run_action(action, tracker_from(intent, text))
    assert all(message.get("response") != TALK_TO_A_PERSON for message in messages)
