"""The website widget, for real: Debian's Chromium, driven by Playwright, talking to the running
assistant over its socket.io channel. Nothing here downloads a browser."""

from __future__ import annotations

import json
import os
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.helpers import PROJECT_ROOT
from tests.live_bot import ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
# As root, in a closed network: no sandbox, and none of Chromium's calls home.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = PROJECT_ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
RESULTS = PROJECT_ROOT / "results" / "web"
ANSWER_SECONDS = 60_000  # ms: the first answer waits for the model and the action server
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {
    "viewport": {"width": 360, "height": 640},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}

QUESTION = "how many people relapsed on alemtuzumab?"


@pytest.fixture(scope="module")
def widget_url(live_bot, widget_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The widget served as `make run` serves it, pointed at the running assistant, on the port
    whose page the assistant accepts as an origin."""
    port = widget_port
    command = [sys.executable, "scripts/serve_web.py", "--port", str(port), "--server", live_bot.base_url]
    workdir = tmp_path_factory.mktemp("web")
    server = ServerProcess("web", command, workdir, dict(os.environ), f"http://127.0.0.1:{port}/").start()
    try:
        yield server.wait().health
    finally:
        server.stop()


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium under Playwright. Start it per module: a session-wide Playwright keeps
    its event loop running into later tests, and their `asyncio.run` then fails."""
    if not CHROMIUM.exists():
        pytest.fail(f"No Chromium at {CHROMIUM}: `make test` installs it (scripts/install-chromium).")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser, widget_url: str) -> Iterator[Page]:
    """A fresh browser tab (its own storage) with the widget open and its greeting shown."""
    context = browser.new_context()
    opened = context.new_page()
    opened.goto(widget_url)
    expect(bot_messages(opened).filter(has_text="What would you like to know?")).to_be_visible(
        timeout=ANSWER_SECONDS
    )
    yield opened
    context.close()


def bot_messages(page: Page):
    return page.locator("#transcript .message.bot")


def ask(page: Page, question: str) -> None:
    """Type a question and press Enter, as a person would."""
    page.get_by_label("Your question").fill(question)
    page.get_by_label("Your question").press("Enter")


def test_the_page_opens_with_the_notice_a_greeting_and_the_not_medical_advice_line(page: Page) -> None:
    expect(bot_messages(page).first).to_contain_text("automated assistant, not a doctor or nurse")
    expect(page.locator("#not-advice")).to_be_visible()
    expect(page.locator("#not-advice")).to_contain_text("not medical advice")
    expect(page.locator("#transcript .message.user")).to_have_count(0)  # the opening message is unseen


def test_a_typed_question_gets_its_figures_and_the_source(page: Page) -> None:
    ask(page, QUESTION)
    expect(page.locator("#transcript .message.user").last).to_have_text(f"You said: {QUESTION}")
    expect(bot_messages(page).filter(has_text="35%")).to_have_count(1, timeout=ANSWER_SECONDS)
    expect(bot_messages(page).filter(has_text="51%")).not_to_have_count(0)
    expect(page.locator("#transcript .message.source").last).to_contain_text("Source")


def test_a_quick_reply_button_asks_its_question(page: Page) -> None:
    page.get_by_role("button", name="How many had relapses").click()
    expect(page.locator("#transcript .message.user").last).to_contain_text("How many had relapses")
    expect(bot_messages(page).filter(has_text="35%").first).to_be_visible(timeout=ANSWER_SECONDS)
    # The topics go away once answered; the answer offers the other trial, and both side by side.
    expect(page.get_by_role("button", name="How many had relapses")).to_have_count(0)
    expect(page.locator(".quick-replies")).to_have_count(1)
    page.get_by_role("button", name="Both trials side by side").click()
    side_by_side = bot_messages(page).filter(has_text="People who had at least one relapse.")
    expect(side_by_side.first).to_contain_text("- CARE-MS I: About 22 in every 100", timeout=ANSWER_SECONDS)
    # Answered buttons go away; a benefit answer offers what happened after the trial.
    expect(page.get_by_role("button", name="Both trials side by side")).to_have_count(0)
    expect(page.locator(".quick-replies button")).to_have_text(["What happened after the trial"])


def test_the_conversation_survives_a_reload_and_carries_on(page: Page) -> None:
    ask(page, QUESTION)
    expect(bot_messages(page).filter(has_text="35%")).to_have_count(1, timeout=ANSWER_SECONDS)
    shown = page.locator("#transcript .message").all_inner_texts()

    page.reload()
    expect(page.locator("#transcript .message")).to_have_count(len(shown))
    assert page.locator("#transcript .message").all_inner_texts() == shown
    # The server kept the conversation too: a follow-up uses the topic asked about before.
    ask(page, "and on interferon?")
    expect(bot_messages(page).filter(has_text="51%")).to_have_count(2, timeout=ANSWER_SECONDS)


def test_a_new_conversation_forgets_the_old_one(page: Page) -> None:
    ask(page, QUESTION)
    expect(bot_messages(page).filter(has_text="35%")).to_have_count(1, timeout=ANSWER_SECONDS)
    before = page.evaluate("JSON.parse(sessionStorage.getItem('ms-trial-assistant.conversation')).sessionId")

    page.get_by_role("button", name="New chat").click()
    expect(bot_messages(page).filter(has_text="What would you like to know?")).to_have_count(
        1, timeout=ANSWER_SECONDS
    )
    expect(bot_messages(page).filter(has_text="35%")).to_have_count(0)
    after = page.evaluate("JSON.parse(sessionStorage.getItem('ms-trial-assistant.conversation')).sessionId")
    assert after != before


def stored_token(page: Page) -> str:
    return page.evaluate("JSON.parse(sessionStorage.getItem('ms-trial-assistant.conversation')).sessionId")


def test_deleting_the_conversation_removes_it_from_the_server_and_starts_afresh(page: Page, live_bot) -> None:
    ask(page, QUESTION)
    expect(bot_messages(page).filter(has_text="35%")).to_have_count(1, timeout=ANSWER_SECONDS)
    conversation = stored_token(page).split(".")[0]

    page.once("dialog", lambda dialog: dialog.accept())  # "Delete this conversation...?"
    page.get_by_role("button", name="Delete this conversation").click()
    expect(page.locator("#status")).to_have_text(
        re.compile("deleted from the server"), timeout=ANSWER_SECONDS
    )
    expect(bot_messages(page).filter(has_text="What would you like to know?")).to_have_count(
        1, timeout=ANSWER_SECONDS
    )
    expect(bot_messages(page).filter(has_text="35%")).to_have_count(0)
    assert stored_token(page).split(".")[0] != conversation
    # Nothing of it is left on the server: a follow-up to it starts a new conversation.
    assert live_bot.say(conversation, "and on interferon?")[0]["text"].startswith("Hello. I'm an automated")


def test_deleting_asks_first_and_keeps_the_conversation_if_the_patient_says_no(page: Page) -> None:
    ask(page, QUESTION)
    expect(bot_messages(page).filter(has_text="35%")).to_have_count(1, timeout=ANSWER_SECONDS)
    before = stored_token(page)
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete this conversation").click()
    expect(bot_messages(page).filter(has_text="35%")).to_have_count(1)
    assert stored_token(page) == before


def test_another_tab_does_not_show_this_tab_s_conversation(page: Page) -> None:
    """On a shared computer, the conversation stays with the tab it was had in."""
    ask(page, QUESTION)
    expect(bot_messages(page).filter(has_text="35%")).to_have_count(1, timeout=ANSWER_SECONDS)
    other = page.context.new_page()  # same browser, same site, as the next person would open it
    other.goto(page.url)
    expect(bot_messages(other).filter(has_text="What would you like to know?")).to_have_count(
        1, timeout=ANSWER_SECONDS
    )
    expect(other.locator("#transcript .message.user")).to_have_count(0)
    expect(bot_messages(other).filter(has_text="35%")).to_have_count(0)


def test_the_keyboard_alone_reaches_and_presses_a_quick_reply(page: Page) -> None:
    page.get_by_label("Your question").focus()
    for _ in range(20):  # Shift+Tab back from the question box to the first suggested reply
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.className") == "quick-reply":
            break
    focused = page.evaluate("document.activeElement.textContent")
    assert focused, "no quick reply could be reached with the keyboard"
    page.keyboard.press("Enter")
    expect(page.locator("#transcript .message.user").last).to_contain_text(focused)
    expect(page.get_by_label("Your question")).to_be_focused()  # ready for the next question
    ask(page, "what does relapse mean?")
    expect(page.locator("#transcript .message.user").last).to_contain_text("what does relapse mean?")


def test_new_messages_are_announced_to_screen_readers(page: Page) -> None:
    transcript = page.locator("#transcript")
    assert transcript.get_attribute("role") == "log"
    assert transcript.get_attribute("aria-live") == "polite"
    ask(page, QUESTION)
    expect(transcript.locator(".message.bot").filter(has_text="35%")).to_have_count(1, timeout=ANSWER_SECONDS)
    # Each message says who said it, for a listener who cannot see the bubbles' sides.
    expect(transcript.locator(".message.user").last).to_contain_text("You said:")
    expect(transcript.locator(".message.bot").last).to_contain_text("Assistant:")


def test_an_emergency_typed_in_the_widget_gets_urgent_help(page: Page) -> None:
    ask(page, "I suddenly can't breathe properly")
    expect(bot_messages(page).filter(has_text=re.compile("emergency|999|112|911"))).not_to_have_count(
        0, timeout=ANSWER_SECONDS
    )


def test_a_message_is_shown_as_text_never_run_as_html(page: Page) -> None:
    ask(page, '<img src=x onerror="window.injected=1">')
    expect(page.locator("#transcript .message.user").last).to_contain_text("<img src=x")
    assert page.locator("#transcript img").count() == 0
    assert page.evaluate("window.injected") is None


def test_a_message_far_too_long_gets_a_short_reply_that_still_says_how_to_get_help(page: Page) -> None:
    """The page allows 500 characters; a client that allows more still gets a graceful reply."""
    page.get_by_label("Your question").evaluate("box => box.removeAttribute('maxlength')")
    ask(page, "does alemtuzumab help? " * 200)
    expect(bot_messages(page).last).to_contain_text("too long", timeout=ANSWER_SECONDS)
    expect(bot_messages(page).last).to_contain_text("urgent help")
    ask(page, QUESTION)  # the conversation goes on as normal
    expect(bot_messages(page).filter(has_text="35%")).to_have_count(1, timeout=ANSWER_SECONDS)


def test_an_empty_message_is_not_sent(page: Page) -> None:
    messages = page.locator("#transcript .message").count()
    ask(page, "   ")
    expect(page.locator("#status")).to_have_text("Please type a question first.")
    assert page.locator("#transcript .message").count() == messages


def axe_violations(page: Page, widget_url: str) -> list[dict]:
    """Every accessibility problem axe-core finds in the page as it is now, of any impact."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Served by the widget's own server, so the page's content security policy allows it.
        page.add_script_tag(url=f"{widget_url}node_modules/axe-core/axe.min.js")
    results = page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values:"
        " ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"
    )
    return results["violations"]


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_an_accessibility_audit_finds_no_serious_problems(
    browser: Browser, widget_url: str, screen: str
) -> None:
    """Audited twice: with the greeting's quick replies, and after an answer with its source."""
    context = browser.new_context(**(PHONE if screen == "phone" else DESKTOP))
    page = context.new_page()
    page.goto(widget_url)
    expect(page.locator(".quick-reply").first).to_be_visible(timeout=ANSWER_SECONDS)
    RESULTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(RESULTS / f"widget-{screen}-opening.png"))
    violations = axe_violations(page, widget_url)
    ask(page, QUESTION)
    expect(page.locator("#transcript .message.source")).to_have_count(1, timeout=ANSWER_SECONDS)
    violations += axe_violations(page, widget_url)

    (RESULTS / f"axe-{screen}.json").write_text(json.dumps(violations, indent=2))
    page.screenshot(path=str(RESULTS / f"widget-{screen}-answer.png"))
    context.close()
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not serious, [(v["id"], v["impact"], v["help"], len(v["nodes"])) for v in serious]


def test_the_page_runs_without_errors_under_its_content_security_policy(page: Page) -> None:
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.reload()
    ask(page, QUESTION)
    expect(bot_messages(page).filter(has_text="35%")).to_have_count(1, timeout=ANSWER_SECONDS)
    assert problems == []


def test_the_widget_fits_a_phone_screen(browser: Browser, widget_url: str) -> None:
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(widget_url)
    ask(page, QUESTION)
    expect(bot_messages(page).filter(has_text="35%")).to_have_count(1, timeout=ANSWER_SECONDS)

    width = PHONE["viewport"]["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
    for control in ("#message", "#send", "#not-advice"):
        box = page.locator(control).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, control
        assert box["y"] + box["height"] <= PHONE["viewport"]["height"], f"{control} is below the screen"
    for target in page.locator("button:visible").all():  # big enough to tap
        assert target.bounding_box()["height"] >= 44, target.inner_text()
    context.close()
