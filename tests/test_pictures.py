"""Pictures of a result: built from the store's rows alone, the asked-about group first, a
difference that could be chance marked so, and shown by every channel (the widget draws it:
tests/test_web_widget.py; Slack and Telegram against their fake APIs: tests/test_channels.py)."""

from __future__ import annotations

import pytest

from actions.actions import ActionAnswerQuestion
from actions.pictures import CLEAR, FACTS_BOX, ICON_ARRAY, PICTURE, UNCLEAR, pictures_for
from actions.store import KnowledgeStore
from actions.topics import TERMINAL_CHANNEL
from connectors import pictures as shown
from tests.helpers import run_action, texts, tracker_from

ALEMTUZUMAB = {"entity": "treatment", "value": "alemtuzumab"}
INTERFERON = {"entity": "treatment", "value": "interferon beta-1a"}


def trial_named(store: KnowledgeStore, key: str):
    return next(trial for trial in store.trials() if trial.key == key)


def groups(picture: dict) -> list[tuple[str, int]]:
    return [(group["name"], group["people"]) for group in picture["groups"]]


def test_a_relapse_answer_draws_100_people_for_each_group(store: KnowledgeStore) -> None:
    (picture,) = pictures_for(store, "relapse")
    assert picture["kind"] == ICON_ARRAY and picture["per"] == 100
    assert groups(picture) == [("alemtuzumab 12 mg", 35), ("interferon beta-1a", 51)]
    assert picture["trial"] == "CARE-MS II"
    assert (
        "On alemtuzumab 12 mg, 35 in 100 had at least one relapse over the 2 years (35%)." in picture["alt"]
    )
    assert "On interferon beta-1a, 51 in 100" in picture["alt"]


def test_the_asked_about_group_comes_first(store: KnowledgeStore) -> None:
    interferon = store.find_treatment("interferon")
    (picture,) = pictures_for(store, "relapse", interferon)
    assert groups(picture) == [("interferon beta-1a", 51), ("alemtuzumab 12 mg", 35)]


def test_a_difference_that_could_be_chance_is_marked_so_and_said_in_words(store: KnowledgeStore) -> None:
    (unclear,) = pictures_for(store, "disability", trials=[trial_named(store, "care-ms-i")])
    (clear,) = pictures_for(store, "disability", trials=[trial_named(store, "care-ms-ii")])
    assert unclear["clear_difference"] is False and unclear["verdict"] == UNCLEAR
    assert unclear["alt"].endswith(UNCLEAR) and unclear["table"].endswith(UNCLEAR)
    assert clear["clear_difference"] is True and clear["verdict"] == CLEAR


def test_the_results_get_a_facts_box_of_benefits_then_harms_per_100_people(store: KnowledgeStore) -> None:
    (box,) = pictures_for(store, "results")
    assert box["kind"] == FACTS_BOX and box["groups"] == ["alemtuzumab 12 mg", "interferon beta-1a"]
    rows = {row["label"]: row for row in box["rows"]}
    assert [row["section"] for row in box["rows"]] == ["Benefits"] * 4 + ["Harms"] * 3
    assert rows["Had at least one relapse over the 2 years"]["values"] == [35, 51]
    assert rows["Relapses a year, for every 100 people"] == {
        **rows["Relapses a year, for every 100 people"],
        "values": [26, 52],
        "counts": "events",
    }
    assert rows["Had a mild to moderate reaction to the drip"]["values"] == [90, None]
    assert [row["chance"] for row in box["rows"]] == [
        "Not tested",
        *["Unlikely to be chance"] * 3,
        "",  # one group: nothing to compare
        "",
        "Not tested",
    ]
    assert "does not apply to interferon beta-1a" in box["alt"]


def test_a_trial_with_no_harms_of_its_own_borrows_them_and_says_from_where(store: KnowledgeStore) -> None:
    (box,) = pictures_for(store, "results", trials=[trial_named(store, "care-ms-i")])
    assert any(row["section"] == "Harms" for row in box["rows"])
    assert box["note"] == "The harms are from the CARE-MS II trial." and box["note"] in box["alt"]


def test_trials_side_by_side_get_a_facts_box_each(store: KnowledgeStore) -> None:
    boxes = pictures_for(store, "results", trials=store.trials())
    assert [box["trial"] for box in boxes] == ["CARE-MS II", "CARE-MS I"]


@pytest.mark.parametrize(
    "topic, text",
    [
        ("relapse", "how many relapsed in the OPERA trial?"),  # a trial with no results here
        ("relapse_rate", ""),  # a yearly rate is not a number of people
        ("side_effects", ""),  # the risks in full are said in words
        ("participants", ""),
    ],
)
def test_no_picture_where_there_are_no_people_to_draw(store: KnowledgeStore, topic: str, text: str) -> None:
    assert pictures_for(store, topic, text=text) == []


def test_a_medicine_the_trial_did_not_test_gets_no_picture(store: KnowledgeStore) -> None:
    assert pictures_for(store, "relapse", store.find_treatment("placebo")) == []


def ask(intent: str, text: str, channel: str, entities=None) -> list[dict]:
    return run_action(ActionAnswerQuestion(), tracker_from(intent, text, entities, channel=channel))[0]


def test_the_widget_gets_the_picture_under_the_figures_before_the_safety_note(use_store) -> None:
    sent = ask("ask_relapse", "how many relapsed on lemtrada?", "socketio", [ALEMTUZUMAB])
    assert [bool(message.get("custom")) for message in sent] == [False, True, False]
    assert sent[1]["custom"][PICTURE]["kind"] == ICON_ARRAY
    assert sent[2]["text"].startswith("Safety note:")


def test_the_terminal_gets_the_picture_as_a_text_table_in_the_first_message(use_store) -> None:
    sent = ask("ask_relapse", "how many relapsed?", TERMINAL_CHANNEL)
    assert not any(message.get("custom") for message in sent)
    said = texts(sent)
    assert len(said) == 2
    assert "CARE-MS II: how many people in 100 had at least one relapse over the 2 years." in said[0]
    assert "●●●●●●●○○○○○○○○○○○○○ 35 on alemtuzumab 12 mg." in said[0]


def test_a_question_about_the_last_answer_draws_nothing_again(use_store) -> None:
    tracker = tracker_from("ask_chance", "how sure is this?", slots={"topic": "relapse"}, channel="socketio")
    sent = run_action(ActionAnswerQuestion(), tracker)[0]
    assert not any(message.get("custom") for message in sent)


# How the Rasa server's channels show a picture (connectors/pictures.py).
def test_the_server_and_the_actions_agree_on_the_picture_s_key() -> None:
    assert shown.PICTURE == PICTURE and shown.ICON_ARRAY == ICON_ARRAY


def test_slack_gets_the_groups_as_fields_and_the_verdict_as_context(store: KnowledgeStore) -> None:
    (picture,) = pictures_for(store, "disability", trials=[trial_named(store, "care-ms-i")])
    blocks = shown.slack_blocks(picture)
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Had disability that got worse and stayed worse for 6 months"},
    }
    assert [field["text"] for field in blocks[1]["fields"]] == [
        "*alemtuzumab 12 mg*\n8 in 100 (8%)",
        "*interferon beta-1a*\n11 in 100 (11.1%)",
    ]
    assert blocks[-1]["elements"][0]["text"] == UNCLEAR


def test_slack_gets_a_facts_box_row_by_row(store: KnowledgeStore) -> None:
    (box,) = pictures_for(store, "results")
    blocks = shown.slack_blocks(box)
    sections = [
        block["text"]["text"] for block in blocks if block["type"] == "section" and "fields" not in block
    ]
    assert sections == ["*Benefits*", "*Harms*"]
    drip = next(
        b for b in blocks if b.get("text", {}).get("text") == "Had a mild to moderate reaction to the drip"
    )
    assert [f["text"] for f in drip["fields"]] == [
        "*alemtuzumab 12 mg*\n90",
        "*interferon beta-1a*\ndoes not apply",
    ]


def test_slack_shows_a_label_s_own_angle_brackets_as_text_not_markup() -> None:
    picture = {
        "kind": ICON_ARRAY,
        "title": "t",
        "trial": "<!channel> & co",
        "per": 100,
        "groups": [{"name": "<b>", "people": 1, "percent": "1"}],
        "verdict": "",
        "table": "",
    }
    said = str(shown.slack_blocks(picture))
    assert "<!channel>" not in said and "&lt;!channel&gt; &amp; co" in said and "&lt;b&gt;" in said


@pytest.mark.parametrize(
    "payload", [{"text": "hi"}, {"picture": "not a picture"}, {"picture": {"kind": 1}}, "x"]
)
def test_any_other_custom_payload_is_left_to_rasa(payload) -> None:
    assert shown.picture_of(payload) is None
