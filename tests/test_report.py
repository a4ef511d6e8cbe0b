"""The content team's report (`make report`, reports/) on conversations held with the real assistant.

For each conversation store the production servers can use, SQLite and the real PostgreSQL, one
live assistant (the trained model and the action server) keeps its conversations in a new, empty
database; the scripted conversations below are sent to it over REST, as patients' clients send
them; then the report is made from that database, and must give back what was sent:

- how many conversations and messages; the questions answered, by topic and trial; the
  fallbacks, their rate, and the questions left unanswered, by why; the emergencies escalated;
  the requests for personal advice declined;
- the unanswered questions in the patients' words, with the email address, phone number, name,
  NHS number and date of birth planted in them masked, and only while the retention period
  allows: the same report made a retention period later counts them but quotes none;
- never a word of the emergency, in the report, beside it or on the screen;
- a section for the feedback on answers, which says no feedback store is configured until one
  is, and shows feedback by topic once it is; and the knowledge files due for review, soonest first.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

from actions.advice import CANNOT_DECIDE
from actions.fallback import NOT_SURE, OUT_OF_SCOPE
from actions.store import KnowledgeStore
from reports import feedback, review
from reports.__main__ import main
from reports.feedback import FeedbackRow
from reports.render import escaped
from reports.report import Written, write_report
from reports.summary import NO_TRIAL
from reports.turns import Outcome
from tests.helpers import PNG_SIGNATURE, PROJECT_ROOT
from tests.live_bot import LiveBot, action_server, all_running, rasa_environment, rasa_server

# -- what is sent -----------------------------------------------------------------------------------

PLANTED_EMAIL = "jo.bloggs@example.org"
PLANTED_PHONE = "07700 900123"
# Far below the fallback's threshold (0.13 for its best guess): "Can you text me the answer on ...",
# at 0.298 against the threshold's 0.3, became an advice refusal when the model learnt feedback.
NOT_UNDERSTOOD = f"ring me on {PLANTED_PHONE} or email {PLANTED_EMAIL}"
OTHER_MEDICINE = "what about ocrelizumab? My name is Jo Bloggs, NHS number 943 476 5919, born 12/03/1980"
PLANTED_DETAILS = [PLANTED_EMAIL, PLANTED_PHONE, "Jo Bloggs", "943 476 5919", "12/03/1980"]
EMERGENCY = "I have crushing chest pain right now"


@dataclass(frozen=True)
class Said:
    """A message sent, and what the assistant is expected to do with it."""

    text: str
    outcome: Outcome
    topic: str | None = None
    trial: str | None = None
    resolved: bool = False  # a fallback whose question the conversation's next message settled

    @property
    def unanswered(self) -> bool:
        unanswered = {Outcome.FALLBACK, Outcome.OUT_OF_SCOPE, Outcome.NO_FACTS, Outcome.COULD_NOT_LOOK_UP}
        return self.outcome in unanswered and not self.resolved


RELAPSES = "how many people relapsed on alemtuzumab?"
SCRIPT: dict[str, list[Said]] = {
    "relapses": [
        Said(RELAPSES, Outcome.ANSWERED, "relapse", "care-ms-ii"),
        Said("and in CARE-MS I?", Outcome.ANSWERED, "relapse", "care-ms-i"),
    ],
    "disability": [
        Said(
            "in CARE-MS I, how many had disability getting worse?",
            Outcome.ANSWERED,
            "disability",
            "care-ms-i",
        )
    ],
    "not-understood": [Said(NOT_UNDERSTOOD, Outcome.FALLBACK)],
    # The fallback asks "did you mean...?"; the question said again clearly is answered through it.
    "understood-next": [
        Said("is the moon made of cheese?", Outcome.FALLBACK, resolved=True),
        Said(RELAPSES, Outcome.ANSWERED, "relapse", "care-ms-ii"),
    ],
    "other-medicine": [Said(OTHER_MEDICINE, Outcome.OUT_OF_SCOPE)],
    "emergency": [Said(EMERGENCY, Outcome.EMERGENCY)],
    "advice": [Said("should I take alemtuzumab?", Outcome.ADVICE)],
    "small-talk": [Said("hello", Outcome.OTHER), Said("thanks", Outcome.OTHER)],
}
SENT = [said for conversation in SCRIPT.values() for said in conversation]
# What the patient sees first, for each kind of turn the report tells apart.
FIRST_REPLY = {
    Outcome.EMERGENCY: "could be an emergency",
    Outcome.ADVICE: CANNOT_DECIDE,
    Outcome.FALLBACK: NOT_SURE,
    Outcome.OUT_OF_SCOPE: OUT_OF_SCOPE.split(".")[0],
}


# -- one live assistant per database, each filled once ----------------------------------------------


@dataclass(frozen=True)
class Filled:
    """A conversation store the live assistant filled with SCRIPT, and what it answered."""

    database: str
    url: str
    since: datetime
    until: datetime
    replies: dict[tuple[str, int], list[dict]]
    sent_at: dict[tuple[str, int], datetime]


def stored(url: str) -> tuple[int, set[str]]:
    """How many messages the store holds, and which conversations end listening (turn done)."""
    engine = sa.create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table("events"):
                return 0, set()
            rows = connection.execute(
                sa.text("SELECT sender_id, type_name, action_name FROM events ORDER BY id")
            )
            messages, last = 0, {}
            for sender, kind, action in rows:
                messages += kind == "user"
                if kind == "action":
                    last[sender] = action
    finally:
        engine.dispose()
    return messages, {sender for sender, action in last.items() if action == "action_listen"}


def wait_until_stored(url: str, seconds: float = 30.0) -> None:
    """Every scripted turn saved: an urgent reply goes out before its turn ends, which the
    server finishes in the background."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        messages, listening = stored(url)
        if messages >= len(SENT) and listening == set(SCRIPT):
            return
        time.sleep(0.5)
    raise AssertionError(f"the store holds {stored(url)} after {seconds} s")


def send_script(bot: LiveBot) -> tuple[dict[tuple[str, int], list[dict]], dict[tuple[str, int], datetime]]:
    """Each conversation in turn, each message once the last was answered: what the assistant
    replied to each, and when each was sent."""
    replies, sent_at = {}, {}
    for sender, conversation in SCRIPT.items():
        for index, said in enumerate(conversation):
            sent_at[(sender, index)] = datetime.now(timezone.utc)
            replies[(sender, index)] = bot.say(sender, said.text)
    return replies, sent_at


@contextmanager
def conversation_database(database: str, request: pytest.FixtureRequest, folder: Path) -> Iterator[str]:
    if database == "sqlite":
        with nullcontext(f"sqlite:///{folder / 'conversations.db'}") as url:
            yield url
        return
    from tests.services import scratch_database

    with scratch_database(request.getfixturevalue("postgres_url"), "report") as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def filled(
    request: pytest.FixtureRequest, knowledge_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Filled]:
    """The scripted conversations, held with the live assistant, in a new database of the kind."""
    folder = tmp_path_factory.mktemp(f"report-{request.param}")
    with conversation_database(request.param, request, folder) as url:
        actions, action_url = action_server(knowledge_url, folder)
        rasa, bot = rasa_server(
            folder, action_url, stores={"TRACKER_STORE_URL": url}, environment={"RATE_LIMITS": "off"}
        )
        with all_running(actions, rasa):
            since = datetime.now(timezone.utc)
            replies, sent_at = send_script(bot)
            wait_until_stored(url)
            until = datetime.now(timezone.utc) + timedelta(seconds=1)
        yield Filled(request.param, url, since, until, replies, sent_at)


@pytest.fixture(scope="module")
def report(filled: Filled, tmp_path_factory: pytest.TempPathFactory) -> tuple[Written, str]:
    """The report on the filled store, over the time the conversations took, made now."""
    out = tmp_path_factory.mktemp(f"report-out-{filled.database}") / "report.md"
    written = write_report(filled.url, filled.since, filled.until, out, retention_days=30)
    return written, out.read_text()


def words_of_patients_in(printed: str) -> list[str]:
    """Every run of three words of a scripted message found in `printed`: a message's words,
    masked or not, are no less a patient's."""
    found = []
    for said in SENT:
        words = said.text.split()
        found += [
            " ".join(words[i : i + 3]) for i in range(len(words) - 2) if " ".join(words[i : i + 3]) in printed
        ]
    return found


def table_row(*cells: object) -> str:
    """A row of a Markdown table, as the report writes it."""
    return "| " + " | ".join(map(str, cells)) + " |"


# -- the tests ---------------------------------------------------------------------------------------


def test_the_assistant_answered_each_scripted_message_as_the_script_expects(filled: Filled) -> None:
    """If this fails, the model took a message otherwise: the script needs another phrasing, and
    the report's counts below fail for that reason, not the report's."""
    for (sender, index), replies in filled.replies.items():
        said = SCRIPT[sender][index]
        texts = " ".join(reply.get("text") or "" for reply in replies)
        if said.outcome in FIRST_REPLY:
            assert FIRST_REPLY[said.outcome] in texts, (said.text, texts[:300])


def test_every_count_in_the_report_is_the_count_of_what_was_sent(report: tuple[Written, str]) -> None:
    written, text = report
    outcomes = Counter(said.outcome for said in SENT)
    fallbacks = outcomes[Outcome.FALLBACK]
    unanswered = sum(said.unanswered for said in SENT)
    expected = [
        ("conversations", len(SCRIPT)),
        ("messages from patients (turns)", len(SENT)),
        ("questions answered", outcomes[Outcome.ANSWERED]),
        ("fallbacks", fallbacks),
        ("fallback rate", f"{100 * fallbacks / len(SENT):.1f}% ({fallbacks} of {len(SENT)} messages)"),
        ("questions left unanswered", unanswered),
        ("emergencies escalated", outcomes[Outcome.EMERGENCY]),
        ("personal advice declined", outcomes[Outcome.ADVICE]),
    ]
    assert [row for row in expected if table_row(*row) not in text] == []
    counted = written.summary
    assert (counted.conversations, counted.turns, counted.answered) == (8, 11, 4)
    assert (counted.fallbacks, counted.fallbacks_resolved, counted.unanswered_count) == (2, 1, 2)
    assert (counted.emergencies, counted.advice_refusals) == (1, 1)
    assert counted.outcomes == outcomes


def test_questions_answered_are_counted_by_topic_and_trial(report: tuple[Written, str]) -> None:
    written, text = report
    sent = Counter((said.topic, said.trial or NO_TRIAL) for said in SENT if said.outcome is Outcome.ANSWERED)
    assert written.summary.answered_by_topic_and_trial == sent
    assert "| topic | `care-ms-i` | `care-ms-ii` | answers |" in text
    assert table_row("`relapse` (How many had relapses)", 1, 2, 3) in text
    assert table_row("`disability` (Disability getting worse)", 1, 0, 1) in text


def test_unanswered_questions_are_counted_by_why(report: tuple[Written, str]) -> None:
    written, text = report
    sent = Counter(said.outcome.value for said in SENT if said.unanswered)
    assert written.summary.unanswered_by_reason == sent
    assert table_row("not understood", 1) in text
    assert table_row("outside what it covers", 1) in text


def test_unanswered_questions_are_quoted_with_personal_details_masked(report: tuple[Written, str]) -> None:
    written, text = report
    day = written.summary.since.date()
    assert table_row(day, "not understood", "ring me on [phone] or email [email]") in text
    assert (
        table_row(
            day,
            "outside what it covers",
            "what about ocrelizumab? My name is [name], NHS number [NHS number], born [date]",
        )
        in text
    )
    assert [detail for detail in PLANTED_DETAILS if detail in text] == []
    # A question answered in the end, through the fallback, is not among them.
    assert "moon" not in text


def test_the_emergency_is_counted_and_its_words_appear_nowhere(
    report: tuple[Written, str], filled: Filled, caplog: pytest.LogCaptureFixture
) -> None:
    written, text = report
    assert "1 message was given the urgent-help reply" in text
    files = [written.report, *written.plots.values()]
    assert all(path.parent == written.report.parent for path in files)
    assert {path.read_bytes()[:8] for path in written.plots.values()} == {PNG_SIGNATURE}
    for path in written.report.parent.iterdir():
        content = path.read_bytes().lower()
        for words in (EMERGENCY, "crushing", "chest pain"):
            assert words.lower().encode() not in content, path.name
    # Nor in the log of a report made again.
    caplog.set_level(logging.DEBUG)
    write_report(
        filled.url, filled.since, filled.until, written.report.parent / "again.md", retention_days=30
    )
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert words_of_patients_in(logged) == []
    assert [words for words in ("chest pain", *PLANTED_DETAILS) if words in logged] == []


def test_questions_older_than_the_retention_period_are_counted_but_never_quoted(
    filled: Filled, tmp_path: Path
) -> None:
    """The conversation record keeps a message `CONVERSATION_RETENTION_DAYS`: a report made later
    than that must not quote it, even if the store still holds it."""
    later = filled.until + timedelta(days=31)
    written = write_report(
        filled.url, filled.since, filled.until, tmp_path / "report.md", now=later, retention_days=30
    )
    text = written.report.read_text()
    assert written.summary.unanswered_count == 2
    assert written.summary.unanswered == []
    assert "2 older than the retention period: counted, not quoted." in text
    assert "ring me on" not in text and "ocrelizumab" not in text
    # With a retention period long enough, the same messages are quoted.
    kept = write_report(
        filled.url, filled.since, filled.until, tmp_path / "kept.md", now=later, retention_days=60
    )
    assert len(kept.summary.unanswered) == 2


def test_the_date_range_decides_what_is_counted(filled: Filled, tmp_path: Path) -> None:
    """The day before the conversations holds none of them; a range ending as the emergency was
    sent holds only the conversations sent before it."""
    before = write_report(
        filled.url,
        filled.since - timedelta(days=1),
        filled.since - timedelta(seconds=1),
        tmp_path / "before.md",
        retention_days=30,
    ).summary
    assert (before.conversations, before.turns, before.answered, before.fallbacks) == (0, 0, 0, 0)

    cut = filled.sent_at[("emergency", 0)]
    earlier = list(SCRIPT)[: list(SCRIPT).index("emergency")]
    sent = [said for sender in earlier for said in SCRIPT[sender]]
    part = write_report(filled.url, filled.since, cut, tmp_path / "part.md", retention_days=30).summary
    assert (part.conversations, part.turns) == (len(earlier), len(sent))
    assert part.outcomes == Counter(said.outcome for said in sent)
    assert part.emergencies == 0


def test_make_report_prints_where_the_report_is_and_its_counts_never_a_patient_s_words(
    filled: Filled, tmp_path: Path
) -> None:
    """`make report` runs `python -m reports`, reading TRACKER_STORE_URL as the servers do."""
    out = tmp_path / "report" / "report.md"
    run = subprocess.run(
        [sys.executable, "-m", "reports", "--since", f"{filled.since:%Y-%m-%d}", "--out", str(out)],
        cwd=PROJECT_ROOT,
        env=rasa_environment(TRACKER_STORE_URL=filled.url),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith(f"Report written to {out}, with ")
    outcomes = Counter(said.outcome for said in SENT)
    assert (
        f"{len(SCRIPT)} conversations, {len(SENT)} messages: {outcomes[Outcome.ANSWERED]} answered, "
        f"{outcomes[Outcome.FALLBACK]} fallbacks, {sum(said.unanswered for said in SENT)} left unanswered, "
        f"{outcomes[Outcome.EMERGENCY]} emergencies escalated, {outcomes[Outcome.ADVICE]} advice requests declined."
    ) in run.stdout
    assert sorted(path.name for path in out.parent.iterdir()) == [
        "answers-by-topic.png",
        "outcomes-by-day.png",
        "report.md",
    ]
    printed = run.stdout + run.stderr
    assert words_of_patients_in(printed) == []
    assert [detail for detail in [*PLANTED_DETAILS, "chest pain"] if detail in printed] == []


def test_without_a_conversation_store_the_command_says_what_to_set(capsys: pytest.CaptureFixture) -> None:
    assert main([], environment={}) == 1
    assert "TRACKER_STORE_URL is not set" in capsys.readouterr().err


def test_a_database_that_is_not_the_conversation_store_is_refused_saying_so(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    assert main(["--out", str(tmp_path / "report.md")], environment={"TRACKER_STORE_URL": empty}) == 1
    assert "The database has no `events` table" in capsys.readouterr().err
    assert not (tmp_path / "report.md").exists()


def test_feedback_is_shown_by_topic_once_a_feedback_store_gives_it(
    filled: Filled, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no feedback store configured the report says there is none; given rows, they are
    counted by topic, most "not helpful" first."""
    monkeypatch.setattr(feedback.store, "DEFAULT_PATH", tmp_path / "never-made.db")
    unset = {name: value for name, value in os.environ.items() if name != "FEEDBACK_STORE_URL"}
    none = write_report(
        filled.url, filled.since, filled.until, tmp_path / "none.md", retention_days=30, environment=unset
    )
    assert feedback.NOT_CONFIGURED in none.report.read_text()

    rows = [
        FeedbackRow("relapse", True),
        FeedbackRow("relapse", False, "hard to understand"),
        FeedbackRow("infections", False, "not what I asked"),
        FeedbackRow("infections", False, "not what I asked"),
    ]
    monkeypatch.setattr(feedback, "feedback_rows", lambda since, until, environment: rows)
    written = write_report(filled.url, filled.since, filled.until, tmp_path / "given.md", retention_days=30)
    shown = written.report.read_text()
    assert feedback.NOT_CONFIGURED not in shown
    section = shown.split("## Feedback by topic")[1].split("##")[0]
    assert section.strip().splitlines() == [
        "| topic | helpful | not helpful | reasons given |",
        "|---|---|---|---|",
        "| `infections` (Infections) | 0 | 2 | not what I asked (2) |",
        "| `relapse` (How many had relapses) | 1 | 1 | hard to understand (1) |",
    ]


def test_feedback_on_the_live_assistant_s_answers_is_read_from_the_feedback_store(
    filled: Filled, tmp_path: Path, feedback_store_url: str
) -> None:
    """The live assistant recorded every answer it gave in the feedback store (FEEDBACK_STORE_URL);
    "No" with a reason on one, "Yes" on another, kept as the servers keep a press: the report
    counts them under those answers' topics, the reason in the patient's words, and nothing else
    of the period."""
    from feedback import store

    window = (store.answers.c.answered_at >= filled.since) & (store.answers.c.answered_at < filled.until)
    with store.engine_for(feedback_store_url).connect() as connection:
        given = connection.execute(
            sa.select(store.answers.c.answer_id, store.answers.c.topic).where(window).order_by("answered_at")
        ).all()
    assert len(given) >= 2, "the scripted conversations' answers were recorded"
    (unhelpful, topic), (helpful, other) = given[0], given[-1]
    assert store.record_feedback(feedback_store_url, unhelpful, False, "not_asked")
    assert store.record_feedback(feedback_store_url, helpful, True)

    written = write_report(filled.url, filled.since, filled.until, tmp_path / "live.md", retention_days=30)
    section = written.report.read_text().split("## Feedback by topic")[1].split("##")[0]
    counts = {line.split(" | ")[0].lstrip("| "): line.split(" | ")[1:] for line in section.splitlines()
              if line.startswith("| `")}  # fmt: skip
    if topic == other:
        assert list(counts.values()) == [["1", "1", "not what I asked (1) |"]]
    else:
        assert [values for name, values in counts.items() if f"`{topic}`" in name] == [
            ["0", "1", "not what I asked (1) |"]
        ]
        assert [values for name, values in counts.items() if f"`{other}`" in name] == [["1", "0", " |"]]
    assert len(counts) == len({topic, other})


def test_a_feedback_store_that_cannot_be_read_stops_the_report_saying_why(
    filled: Filled, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    environment = {
        "TRACKER_STORE_URL": filled.url,
        "FEEDBACK_STORE_URL": "postgresql://nobody:secret@127.0.0.1:1/feedback",
    }
    assert main(["--out", str(tmp_path / "report.md")], environment=environment) == 1
    said = capsys.readouterr().err
    assert "The feedback store could not be read (OperationalError)" in said and "secret" not in said


def test_the_report_lists_every_knowledge_file_soonest_due_first(report: tuple[Written, str]) -> None:
    _, text = report
    section = text.split("## Content due for review")[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert len(rows) == 10
    dues = [row.split(" | ")[4] for row in rows]
    assert dues == sorted(dues)
    assert "await a clinician's review" in section


def test_the_report_marks_what_falls_due_within_thirty_days_and_what_is_overdue(knowledge_url: str) -> None:
    with KnowledgeStore.open(knowledge_url) as store:
        reviews = store.reviews()
    soonest = reviews[0].next_review_due
    calm = review.content_due_for_review_section(soonest - timedelta(days=31), knowledge_url)
    assert "0 of 10 knowledge files fall due" in calm and "due within" not in calm.split("|---|")[1]
    soon = review.content_due_for_review_section(soonest - timedelta(days=5), knowledge_url)
    assert f"| {soonest} | due within 30 days |" in soon
    late = review.content_due_for_review_section(soonest + timedelta(days=1), knowledge_url)
    assert f"| {soonest} | **overdue** |" in late and "are past their date" in late


def test_the_report_says_so_when_the_knowledge_store_cannot_be_read(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'none' / 'knowledge.db'}"
    assert review.NOT_AVAILABLE in review.content_due_for_review_section(date(2027, 1, 1), missing)


# -- without the live assistant ----------------------------------------------------------------------


def test_a_question_s_markdown_and_html_are_shown_as_text_not_acted_on() -> None:
    """A question is quoted in a Markdown table: nothing in it may make a link, an image (which a
    reader's viewer would fetch), a heading, or another column."""
    assert escaped("![x](https://evil.example/p.png) <img src=x> | # hi\nthere") == (
        r"\!\[x\]\(https://evil.example/p.png\) \<img src=x\> \| \# hi there"
    )
    assert escaped("email [email] or [phone]") == "email [email] or [phone]"


def test_an_unknown_word_is_told_apart_from_an_explained_one(store) -> None:
    """The report tells "I can't explain that word yet" (no facts) from a word explained by the
    words the glossary action says (actions/answers.py)."""
    from actions.answers import define_term
    from reports.turns import CANNOT_EXPLAIN

    assert define_term(store, ["zorblax"])[0].startswith(CANNOT_EXPLAIN)
    assert not define_term(store, ["relapse"])[0].startswith(CANNOT_EXPLAIN)


def test_the_names_the_report_classifies_by_are_the_assistant_s_own() -> None:
    """An action, reply, intent or slot renamed in the domain would silently count as "other"."""
    import yaml

    from reports import turns

    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    fixed = yaml.safe_load((PROJECT_ROOT / "knowledge" / "fixed_replies.yml").read_text())
    rules = (PROJECT_ROOT / "data" / "rules.yml").read_text()
    actions = set(domain["actions"])
    assert {
        turns.ANSWER_QUESTION,
        turns.DEFINE_TERM,
        turns.PERSONAL_ADVICE,
        turns.OUT_OF_SCOPE,
        turns.CORE_FALLBACK_ACTION,
    } <= actions
    assert turns.URGENT_HELP in domain["responses"]
    assert {turns.CANNOT_LOOK_UP, turns.URGENT_HELP_IF_NEEDED} <= set(fixed["responses"])
    assert {turns.TOPIC_SLOT, turns.TRIAL_SLOT} <= set(domain["slots"])
    assert turns.RED_FLAG_ENTITIES <= set(domain["entities"])
    assert turns.RED_FLAG_INTENT in domain["intents"]
    assert f"action: {turns.TWO_STAGE_FALLBACK}" in rules and f"intent: {turns.NLU_FALLBACK_INTENT}" in rules
