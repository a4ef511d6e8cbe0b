"""Feedback in the website widget, for real (Debian's Chromium, Playwright, the running assistant):
"Was this helpful?" under each answer, "No" and a reason stored as one row tied to the answer's
topic, trial and knowledge rows with no message text, by mouse and by keyboard, kept across a
reload, never in the way of urgent help, and clean in an accessibility audit."""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import Browser, Page, expect

from tests import test_web_widget as widget
from tests.helpers import everything_in, feedback_of
from tests.live_bot import ACTION_SERVER_TOKEN
from tests.test_web_widget import (
    ANSWER_SECONDS,
    DESKTOP,
    PHONE,
    QUESTION,
    RESULTS,
    ask,
    axe_violations,
    bot_messages,
    stored_token,
    widget_on,
)

# The widget's fixtures: its page served, a browser, and a fresh tab with the greeting shown.
widget_url = widget.widget_url
browser = widget.browser
page = widget.page

WAIT_SECONDS = 30
REASONS = ["Hard to understand", "Not what I asked", "Too long", "Wrong or out of date"]


def answered(page: Page, question: str = QUESTION, figure: str = "35%"):
    """Ask, wait for the answer and the question under it; the last feedback block."""
    ask(page, question)
    expect(bot_messages(page).filter(has_text=figure).last).to_be_visible(timeout=ANSWER_SECONDS)
    block = page.locator("#transcript .feedback").last
    expect(block).to_contain_text("Was this helpful?", timeout=ANSWER_SECONDS)
    return block


def kept(url: str, conversation: str, until=lambda found: True) -> dict:
    """The conversation's rows in the feedback store, once `until` holds (the servers write them
    on a thread of their own)."""
    deadline = time.monotonic() + WAIT_SECONDS
    found = feedback_of(url, conversation, ACTION_SERVER_TOKEN)
    while not until(found) and time.monotonic() < deadline:
        time.sleep(0.25)
        found = feedback_of(url, conversation, ACTION_SERVER_TOKEN)
    return found


def test_no_and_a_reason_store_one_row_tied_to_the_answer_s_topic_trial_and_rows_with_no_text(
    page: Page, feedback_store_url: str
) -> None:
    block = answered(page)
    conversation = stored_token(page).split(".")[0]
    # Under the answer itself: its last bubble, the one with the safety note and the source.
    expect(bot_messages(page).last).to_contain_text("Safety note:")
    expect(bot_messages(page).last.locator(".feedback")).to_have_count(1)
    expect(block.get_by_role("button")).to_have_text(["Yes", "No"])

    block.get_by_role("button", name="No").click()
    block = page.locator("#transcript .feedback").last
    expect(block.get_by_role("button")).to_have_text(REASONS)
    expect(block.locator(".feedback-question")).to_be_focused()
    block.get_by_role("button", name="Too long").click()
    expect(page.locator("#transcript .feedback").last).to_have_text("Thank you for telling me.")

    found = kept(feedback_store_url, conversation, lambda f: f["feedback"] and f["feedback"][0]["reason"])
    [answer] = found["answers"]
    assert (answer["topic"], answer["trial"], answer["channel"]) == ("relapse", "care-ms-ii", "socketio")
    assert [(f["answer_id"], f["helpful"], f["reason"]) for f in found["feedback"]] == [
        (answer["answer_id"], False, "too_long")
    ]
    keys = {row["row_key"] for row in found["rows"] if row["table_name"] == "results"}
    assert keys and all(key.startswith("care-ms-ii/") for key in keys)
    assert {"results", "guidance", "safety_findings"} <= {row["table_name"] for row in found["rows"]}
    stored = everything_in(feedback_store_url)
    for words in (QUESTION, "relapsed on alemtuzumab", conversation):
        assert words not in stored


def test_the_choice_stays_made_after_a_reload(page: Page) -> None:
    answered(page).get_by_role("button", name="No").click()
    expect(page.locator("#transcript .feedback").last.get_by_role("button")).to_have_text(REASONS)
    page.reload()
    expect(page.locator("#transcript .feedback").last.get_by_role("button")).to_have_text(REASONS)
    page.locator("#transcript .feedback").last.get_by_role("button", name="Hard to understand").click()
    expect(page.locator("#transcript .feedback").last).to_have_text("Thank you for telling me.")
    page.reload()
    expect(page.locator("#transcript .feedback").last).to_have_text("Thank you for telling me.")


def test_the_keyboard_alone_answers_the_question_and_the_focus_follows(
    page: Page, feedback_store_url: str
) -> None:
    answered(page)
    conversation = stored_token(page).split(".")[0]
    page.get_by_label("Your question").focus()
    for _ in range(20):  # Shift+Tab back from the question box to "No"
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.textContent") == "No":
            break
    assert page.evaluate("document.activeElement.className") == "feedback-choice"
    page.keyboard.press("Enter")
    block = page.locator("#transcript .feedback").last
    expect(block.locator(".feedback-question")).to_be_focused()
    expect(block.locator(".feedback-question")).to_have_text(
        "Thank you. What was wrong? You can pick one, or just carry on."
    )
    for _ in range(3):
        page.keyboard.press("Tab")
    expect(block.get_by_role("button", name="Too long")).to_be_focused()
    page.keyboard.press("Space")
    expect(page.locator("#transcript .feedback-said").last).to_be_focused()
    found = kept(feedback_store_url, conversation, lambda f: f["feedback"] and f["feedback"][0]["reason"])
    assert [(f["helpful"], f["reason"]) for f in found["feedback"]] == [(False, "too_long")]


def test_an_earlier_answer_can_still_be_rated_and_only_it_is(page: Page, feedback_store_url: str) -> None:
    answered(page)
    answered(page, "did disability get worse on lemtrada?", "13 in 100")
    conversation = stored_token(page).split(".")[0]
    page.locator("#transcript .feedback").first.get_by_role("button", name="Yes").click()
    expect(page.locator("#transcript .feedback").first).to_have_text("Thank you for telling me.")
    expect(page.locator("#transcript .feedback").last.get_by_role("button")).to_have_text(["Yes", "No"])
    found = kept(feedback_store_url, conversation, lambda f: len(f["answers"]) == 2 and f["feedback"])
    topics = {a["answer_id"]: a["topic"] for a in found["answers"]}
    assert [(topics[f["answer_id"]], f["helpful"]) for f in found["feedback"]] == [("relapse", True)]


def test_a_greeting_gets_no_question_and_an_emergency_right_after_a_press_gets_urgent_help(
    page: Page,
) -> None:
    expect(page.locator("#transcript .feedback")).to_have_count(0)  # the notice and the hello
    answered(page).get_by_role("button", name="No").click()
    ask(page, "I suddenly can't breathe properly")
    urgent = bot_messages(page).filter(has_text=re.compile("emergency"))
    expect(urgent).not_to_have_count(0, timeout=ANSWER_SECONDS)
    expect(urgent.last.locator(".feedback")).to_have_count(0)
    expect(page.locator("#transcript .feedback")).to_have_count(1)


def test_a_press_for_an_answer_of_another_conversation_is_not_kept(
    browser: Browser, page: Page, widget_url: str, feedback_store_url: str
) -> None:
    """Answer ids are never shown, but a page that learnt one could not rate another's answer."""
    answered(page)
    theirs = stored_token(page).split(".")[0]
    answer_id = kept(feedback_store_url, theirs, lambda f: f["answers"])["answers"][0]["answer_id"]
    with widget_on(browser, widget_url, **DESKTOP) as other:
        result = other.evaluate(
            """answer => new Promise((resolve, reject) => {
                setTimeout(() => reject(new Error("no answer from the server")), 20000);
                const server = window.ASSISTANT_SERVER || undefined;
                const socket = window.io(server, {transports: ["websocket"], forceNew: true});
                socket.on("session_confirm", () => socket.emit("answer_feedback", {answer, helpful: false}));
                socket.on("feedback_saved", resolve);
                socket.emit("session_request", {session_id: null});
            })""",
            answer_id,
        )
    assert result == {"answer": answer_id, "saved": False}
    assert kept(feedback_store_url, theirs)["feedback"] == []


def test_deleting_the_conversation_deletes_its_answers_and_feedback(
    page: Page, feedback_store_url: str
) -> None:
    answered(page).get_by_role("button", name="Yes").click()
    conversation = stored_token(page).split(".")[0]
    assert kept(feedback_store_url, conversation, lambda f: f["feedback"])["feedback"]
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete this conversation").click()
    expect(page.locator("#status")).to_have_text(
        re.compile("deleted from the server"), timeout=ANSWER_SECONDS
    )
    assert feedback_of(feedback_store_url, conversation, ACTION_SERVER_TOKEN) == {
        "answers": [],
        "rows": [],
        "feedback": [],
    }


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_an_accessibility_audit_of_the_feedback_controls_finds_no_problem(
    browser: Browser, widget_url: str, screen: str
) -> None:
    """Audited with "Yes / No" shown, with the reasons, and with the thanks: nothing of any impact
    on the controls, and nothing serious or critical anywhere."""
    with widget_on(browser, widget_url, **(PHONE if screen == "phone" else DESKTOP)) as page:
        block = answered(page)
        violations = axe_violations(page, widget_url)
        block.get_by_role("button", name="No").click()
        expect(page.locator("#transcript .feedback").last.get_by_role("button")).to_have_count(len(REASONS))
        violations += axe_violations(page, widget_url)
        for target in page.locator("#transcript .feedback-choice:visible").all():  # big enough to tap
            assert target.bounding_box()["height"] >= 44
        RESULTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(RESULTS / f"widget-{screen}-feedback.png"))
        page.locator("#transcript .feedback").last.get_by_role("button", name="Too long").click()
        expect(page.locator("#transcript .feedback").last).to_have_text("Thank you for telling me.")
        violations += axe_violations(page, widget_url)
        (RESULTS / f"axe-{screen}-feedback.json").write_text(json.dumps(violations, indent=2))
    on_the_controls = [
        (v["id"], v["impact"], node["target"])
        for v in violations
        for node in v["nodes"]
        if any("feedback" in str(target) for target in node["target"])
    ]
    serious = [(v["id"], v["impact"]) for v in violations if v["impact"] in ("serious", "critical")]
    assert on_the_controls == [] and serious == []
