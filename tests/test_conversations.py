"""The assistant end to end, as a program using the REST channel sees it."""

from __future__ import annotations


def texts(replies: list[dict]) -> list[str]:
    return [reply["text"] for reply in replies if "text" in reply]


def test_how_many_people_relapsed_on_alemtuzumab(live_bot) -> None:
    said = texts(live_bot.say("new-user", "how many people relapsed on alemtuzumab?"))
    assert "35%" in said[0] and "51%" in said[0]
    assert said[0].index("35%") < said[0].index("51%")
    assert any(text.startswith("Safety note:") and "autoimmunity" in text for text in said)
    assert said[-1].startswith("Source:")


def test_a_follow_up_uses_what_was_asked_before(live_bot) -> None:
    live_bot.say("follow-up", "how many people relapsed on lemtrada")
    said = texts(live_bot.say("follow-up", "and on interferon?"))
    assert said[0].startswith("In the CARE-MS II trial, about 51 in every 100 people on interferon beta-1a")


def test_greeting_offers_topics_as_buttons(live_bot) -> None:
    replies = live_bot.say("greeting", "hi there")
    assert "automated assistant" in replies[0]["text"]
    assert [button["payload"] for button in replies[0]["buttons"]][0] == "/ask_relapse"


def test_a_button_payload_gets_the_answer(live_bot) -> None:
    said = texts(live_bot.say("button", "/ask_disability"))
    assert "42% lower" in said[0]
