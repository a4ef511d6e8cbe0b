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


@contextmanager
def widget_on(browser: Browser, widget_url: str, **screen) -> Iterator[Page]:
    """The widget in a browser context of its own (`screen`: its viewport, zoom, colours), once
    its greeting's quick replies show; the context is closed afterwards, pass or fail."""
    context = browser.new_context(**screen)
    try:
        opened = context.new_page()
        opened.goto(widget_url)
        expect(opened.locator(".quick-reply").first).to_be_visible(timeout=ANSWER_SECONDS)
        yield opened
    finally:
        context.close()


def bot_messages(page: Page):
    """The assistant's text messages (its pictures are tested on their own)."""
    return page.locator("#transcript .message.bot:not(.picture-message)")


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
    expect(page.locator("#transcript .source-line").last).to_contain_text("Source")


def test_a_quick_reply_button_asks_its_question(page: Page) -> None:
    page.get_by_role("button", name="How many had relapses").click()
    expect(page.locator("#transcript .message.user").last).to_contain_text("How many had relapses")
    expect(bot_messages(page).filter(has_text="35%").first).to_be_visible(timeout=ANSWER_SECONDS)
    # The topics go away once answered; the answer offers the other trial, and both side by side.
    expect(page.get_by_role("button", name="How many had relapses")).to_have_count(0)
    expect(page.locator(".quick-replies")).to_have_count(1)
    page.get_by_role("button", name="Both trials side by side").click()
    side_by_side = bot_messages(page).filter(has_text="Having a relapse.")
    expect(side_by_side.first).to_contain_text(
        "- CARE-MS I: On alemtuzumab 12 mg, about 22 in 100", timeout=ANSWER_SECONDS
    )
    # Answered buttons go away; a benefit answer offers more, and what happened after the trial.
    expect(page.get_by_role("button", name="Both trials side by side")).to_have_count(0)
    expect(page.locator(".quick-replies button")).to_have_text(
        ["How sure is this?", "The risks in full", "What happened after the trial", "Sources"]
    )


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
    # The notice stays after the new conversation's opening, until the patient asks again.
    expect(page.locator("#status")).to_have_text(re.compile("deleted from the server"))
    ask(page, QUESTION)
    expect(bot_messages(page).filter(has_text="35%")).to_have_count(1, timeout=ANSWER_SECONDS)
    expect(page.locator("#status")).to_have_text("")
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
    expect(bot_messages(page).filter(has_text="35%")).to_have_count(1, timeout=ANSWER_SECONDS)
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
    with widget_on(browser, widget_url, **(PHONE if screen == "phone" else DESKTOP)) as page:
        RESULTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(RESULTS / f"widget-{screen}-opening.png"))
        violations = axe_violations(page, widget_url)
        ask(page, QUESTION)
        expect(page.locator("#transcript .source-line")).to_have_count(1, timeout=ANSWER_SECONDS)
        violations += axe_violations(page, widget_url)

        (RESULTS / f"axe-{screen}.json").write_text(json.dumps(violations, indent=2))
        page.screenshot(path=str(RESULTS / f"widget-{screen}-answer.png"))
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


def test_on_a_phone_the_groups_of_100_people_stand_side_by_side(browser: Browser, widget_url: str) -> None:
    with widget_on(browser, widget_url, **PHONE) as page:
        ask(page, QUESTION)
        first, second = (
            group.bounding_box() for group in last_icon_array(page).locator(".picture-group").all()
        )
        assert abs(first["y"] - second["y"]) < 1 and first["x"] + first["width"] <= second["x"]
        assert second["x"] + second["width"] <= PHONE["viewport"]["width"]
        # The whole answer on one tall phone screen, for people to look at (results/web/).
        page.set_viewport_size({"width": PHONE["viewport"]["width"], "height": 1400})
        expect(page.locator(".quick-reply").first).to_be_visible()
        RESULTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(RESULTS / "phone-answer.png"))


def test_the_widget_fits_a_phone_screen(browser: Browser, widget_url: str) -> None:
    with widget_on(browser, widget_url, **PHONE) as page:
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


# Pictures of a result, drawn in the page from the figures the assistant sends.
DISABILITY = "did disability get worse on lemtrada?"
COMPARE = "is lemtrada better than rebif?"
NO_CLEAR_DIFFERENCE = "Did alemtuzumab reduce disability in people new to treatment?"


def last_icon_array(page: Page):
    array = page.locator("#transcript .icon-array").last
    expect(array).to_be_visible(timeout=ANSWER_SECONDS)
    return array


def expect_people(array, groups: list[tuple[str, int]]) -> None:
    """Each group's name, 100 people drawn, and how many of them are filled in."""
    drawn = array.locator(".picture-group")
    expect(drawn).to_have_count(len(groups))
    for index, (name, people) in enumerate(groups):
        group = drawn.nth(index)
        expect(group.locator(".group-name")).to_have_text(name)
        expect(group.locator(".person")).to_have_count(100)
        expect(group.locator(".person.happened")).to_have_count(people)
        expect(group.locator(".group-count")).to_contain_text(f"{people} in 100")


def test_a_relapse_answer_draws_100_people_per_group_with_those_who_relapsed_filled_in(page: Page) -> None:
    ask(page, QUESTION)
    array = last_icon_array(page)
    expect_people(array, [("alemtuzumab 12 mg", 35), ("interferon beta-1a", 51)])
    expect(array.locator(".picture-title")).to_have_text(
        "CARE-MS II: Had at least one relapse over the 2 years"
    )
    alternative = page.locator("#transcript .picture-alt").last
    expect(alternative).to_contain_text("On alemtuzumab 12 mg, 35 in 100 had at least one relapse")
    expect(alternative).to_contain_text("On interferon beta-1a, 51 in 100 had at least one relapse")
    # Under the figures, before the safety note.
    bubbles = page.locator("#transcript .message.bot")
    last = bubbles.count() - 1
    expect(bubbles.nth(last - 1)).to_have_class(re.compile("picture-message"))
    expect(bubbles.nth(last - 2)).to_contain_text("(35%)")
    expect(bubbles.nth(last)).to_contain_text("Safety note:")


def test_a_disability_answer_draws_its_people_too(page: Page) -> None:
    ask(page, DISABILITY)
    expect_people(last_icon_array(page), [("alemtuzumab 12 mg", 13), ("interferon beta-1a", 20)])
    expect(page.locator("#transcript .picture-alt").last).to_contain_text("13 in 100")


def test_a_result_that_could_be_chance_is_drawn_and_labelled_as_no_clear_difference(page: Page) -> None:
    ask(page, NO_CLEAR_DIFFERENCE)
    array = last_icon_array(page)
    expect(array).to_have_class(re.compile("no-clear-difference"))
    expect_people(array, [("alemtuzumab 12 mg", 8), ("interferon beta-1a", 11)])
    # Said before the people are drawn, inside the picture's frame.
    expect(array.locator(":scope > p").first).to_have_text("No clear difference: it could be due to chance.")
    fills = array.evaluate(
        "a => [...a.querySelectorAll('.picture-group')].map("
        "g => getComputedStyle(g.querySelector('.person.happened')).fill)"
    )
    assert len(set(fills)) == 1, "both groups in the same colour"


def test_a_compare_question_gets_a_facts_box_of_benefits_and_harms_per_100_people(page: Page) -> None:
    ask(page, COMPARE)
    box = page.locator("#transcript .facts-box").last
    expect(box).to_be_visible(timeout=ANSWER_SECONDS)
    expect(box.locator("thead th")).to_have_text(
        ["For every 100 people", "alemtuzumab 12 mg", "interferon beta-1a", "Could it be chance?"]
    )
    expect(box.locator(".facts-section th")).to_have_text(["Benefits", "Harms"])
    relapsed = box.locator("tbody tr", has=page.locator("th", has_text="Had at least one relapse"))
    expect(relapsed.locator(".facts-value")).to_have_text(["35", "51"])
    disability = box.locator("tbody tr", has=page.locator("th", has_text="Had disability that got worse"))
    expect(disability.locator(".facts-verdict")).to_have_text("Unlikely to be chance")
    drip = box.locator(
        "tbody tr", has=page.locator("th", has_text="Had a mild to moderate reaction to the drip")
    )
    expect(drip.locator(".facts-value")).to_have_text(["90", "does not apply"])
    alternative = page.locator("#transcript .picture-alt").last
    expect(alternative).to_contain_text(
        "Had at least one relapse over the 2 years: 35 on alemtuzumab 12 mg. 51"
    )
    expect(alternative).to_contain_text("Had a mild to moderate infection: 77 on alemtuzumab 12 mg. 66")


def test_pictures_come_back_after_a_reload(page: Page) -> None:
    ask(page, QUESTION)
    last_icon_array(page)
    page.reload()
    expect_people(last_icon_array(page), [("alemtuzumab 12 mg", 35), ("interferon beta-1a", 51)])


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_pictures_pass_an_accessibility_audit_and_are_saved_as_screenshots(
    browser: Browser, widget_url: str, screen: str
) -> None:
    with widget_on(browser, widget_url, **(PHONE if screen == "phone" else DESKTOP)) as page:
        ask(page, QUESTION)
        array = last_icon_array(page)
        RESULTS.mkdir(parents=True, exist_ok=True)
        array.scroll_into_view_if_needed()
        page.screenshot(path=str(RESULTS / f"picture-{screen}-icon-array.png"))
        ask(page, COMPARE)
        box = page.locator("#transcript .facts-box").last
        expect(box).to_be_visible(timeout=ANSWER_SECONDS)
        box.scroll_into_view_if_needed()
        page.screenshot(path=str(RESULTS / f"picture-{screen}-facts-box.png"))
        violations = axe_violations(page, widget_url)
        (RESULTS / f"axe-pictures-{screen}.json").write_text(json.dumps(violations, indent=2))
    assert not violations, [(v["id"], v["impact"], v["help"], len(v["nodes"])) for v in violations]


def test_at_200_percent_zoom_the_pictures_fit_without_sideways_scrolling(
    browser: Browser, widget_url: str
) -> None:
    """A 1280-pixel screen at 200% zoom lays the page out in 640 CSS pixels."""
    with widget_on(
        browser, widget_url, viewport={"width": 640, "height": 400}, device_scale_factor=2
    ) as page:
        ask(page, QUESTION)
        array = last_icon_array(page)
        ask(page, COMPARE)
        expect(page.locator("#transcript .facts-box")).to_be_visible(timeout=ANSWER_SECONDS)
        assert page.evaluate("document.documentElement.scrollWidth") <= 640
        box = array.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 640
        for count in array.locator(".group-count").all():
            assert float(count.evaluate("c => parseFloat(getComputedStyle(c).fontSize)")) >= 16
        RESULTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(RESULTS / "picture-zoom-200.png"))


def test_in_high_contrast_mode_the_people_are_told_apart_by_fill_not_colour(
    browser: Browser, widget_url: str
) -> None:
    with widget_on(browser, widget_url, forced_colors="active", **DESKTOP) as page:
        ask(page, QUESTION)
        group = last_icon_array(page).locator(".picture-group").first
        happened = group.locator(".person.happened").first.evaluate("p => getComputedStyle(p).fill")
        other = group.locator(".person:not(.happened)").first.evaluate("p => getComputedStyle(p).fill")
        assert other == "none" and happened != "none", (happened, other)
        RESULTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(RESULTS / "picture-high-contrast.png"))


# The page draws only what it can trust: a picture comes from the assistant, but the page checks
# it anyway and never turns its words into HTML. Here a stand-in socket.io delivers the payloads.
FAKE_SOCKET = """
window.deliver = {};
window.io = function () {
  return {
    connected: true,
    on: function (name, handler) { window.deliver[name] = handler; },
    emit: function () {},
    connect: function () {},
    disconnect: function () {},
  };
};
"""
GOOD_PICTURE = {
    "kind": "icon_array",
    "trial": "CARE-MS II",
    "title": "Had at least one relapse over the 2 years",
    "per": 100,
    "groups": [{"name": "alemtuzumab 12 mg", "people": 35, "percent": "35"}],
    "happened": "had at least one relapse over the 2 years",
    "clear_difference": None,
    "verdict": "",
    "alt": "A picture from the CARE-MS II trial.",
    "table": "",
}


@pytest.fixture
def offline_page(browser: Browser, widget_url: str) -> Iterator[Page]:
    context = browser.new_context()
    opened = context.new_page()
    opened.route(
        "**/socket.io.min.js", lambda route: route.fulfill(body=FAKE_SOCKET, content_type="text/javascript")
    )
    opened.goto(widget_url)
    opened.evaluate("window.deliver.session_confirm('w-test')")
    yield opened
    context.close()


def deliver(page: Page, message: dict) -> None:
    page.evaluate("message => window.deliver.bot_uttered(message)", message)


def test_a_picture_from_the_socket_is_drawn(offline_page: Page) -> None:
    deliver(offline_page, {"picture": GOOD_PICTURE})
    expect(offline_page.locator(".picture-group .person.happened")).to_have_count(35)


@pytest.mark.parametrize(
    "change",
    [
        {"groups": [{"name": "a", "people": 1000, "percent": "1000"}]},
        {"groups": [{"name": "a", "people": -1, "percent": "-1"}]},
        {"groups": [{"name": "a", "people": "35", "percent": "35"}]},
        {"groups": [{"name": "a", "people": 3.5, "percent": "3.5"}]},
        {"groups": "35"},
        {"alt": None},
        {"kind": "pie_chart"},
        {"kind": "facts_box", "groups": ["a", "b"], "rows": [{"values": [1]}]},
    ],
    ids=[
        "too many people",
        "fewer than none",
        "people as text",
        "part of a person",
        "no groups",
        "no text alternative",
        "unknown kind",
        "a row short of a value",
    ],
)
def test_a_picture_the_page_cannot_trust_is_not_drawn_and_breaks_nothing(
    offline_page: Page, change: dict
) -> None:
    problems: list[str] = []
    offline_page.on("pageerror", lambda error: problems.append(str(error)))
    deliver(offline_page, {"picture": {**GOOD_PICTURE, **change}})
    deliver(offline_page, {"text": "Still here."})
    expect(offline_page.locator("#transcript .message.bot").last).to_contain_text("Still here.")
    expect(offline_page.locator(".picture")).to_have_count(0)
    assert problems == []


def test_a_picture_s_words_are_shown_as_text_never_run_as_html(offline_page: Page) -> None:
    attack = '<img src=x onerror="window.pwned = true">'
    picture = {**GOOD_PICTURE, "title": attack, "groups": [{"name": attack, "people": 1, "percent": "1"}]}
    deliver(offline_page, {"picture": picture})
    expect(offline_page.locator(".picture .group-name")).to_have_text(attack)
    assert offline_page.locator(".picture img").count() == 0
    assert offline_page.evaluate("window.pwned === undefined")
