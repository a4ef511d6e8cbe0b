"""Review dates: every knowledge file says when it was last checked, how, by which role, and when
it is next due. The loader shows what falls due within 30 days, refuses a file past its date
unless an override with a reason is given (logged, stored and said in the answers), and every
answer says when its facts were last checked, from the store. Nothing claims a clinician's review
that did not happen.

"Today" is fixed in these tests, so they do not change with the calendar.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from actions.answers import compose_answer, define_term
from actions.knowledge_files import KnowledgeError, read_knowledge
from actions.loader import DEFAULT_KNOWLEDGE_DIR, load_knowledge, main
from actions.models import ContentReview, FollowUpResult, GlossaryTerm, Guidance, Result
from actions.phrasing import review_line
from actions.reviews import Overdue
from actions.store import KnowledgeStore

TRIAL_FILE = Path("trials") / "care-ms-ii.yml"
BEFORE_ANY_IS_DUE = date(2027, 1, 15)
CHECKED = "No doctor has reviewed it yet."


def set_review(directory: Path, relative: Path, **fields: Any) -> None:
    """Change fields of one file's `review:` block."""
    path = directory / relative
    document = yaml.safe_load(path.read_text())
    document["review"].update(fields)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))


def problems_of(
    directory: Path, today: date = BEFORE_ANY_IS_DUE, overdue: Overdue | None = None
) -> list[str]:
    with pytest.raises(KnowledgeError) as refused:
        read_knowledge(directory, today, overdue)
    return [str(problem) for problem in refused.value.problems]


def reviews_in(url: str) -> dict[str, ContentReview]:
    with KnowledgeStore.open(url) as store:
        return {review.file: review for review in store.reviews()}


def relapse_answer(url: str) -> list[str]:
    with KnowledgeStore.open(url) as store:
        return compose_answer(store, "relapse", trials=[store.trial("care-ms-ii")]) or []


# What every knowledge file records


def test_every_file_with_clinical_content_has_a_review_and_the_store_holds_them(knowledge_url: str) -> None:
    files = {
        path.relative_to(DEFAULT_KNOWLEDGE_DIR).as_posix()
        for path in DEFAULT_KNOWLEDGE_DIR.rglob("*.yml")
        if path.name not in ("languages.yml", "fixed_replies.yml")
    }
    stored = reviews_in(knowledge_url)
    assert set(stored) == files
    for review in stored.values():
        assert review.next_review_due > review.reviewed_on
        assert review.reviewed_by and review.override_reason is None


def test_the_record_tells_the_truth_no_file_claims_a_clinical_review_yet(knowledge_url: str) -> None:
    """Today's content was checked against its published sources, not reviewed by a clinician."""
    assert {review.kind for review in reviews_in(knowledge_url).values()} == {"source check"}


def test_a_file_without_a_review_is_refused(knowledge_copy: Path) -> None:
    path = knowledge_copy / TRIAL_FILE
    document = yaml.safe_load(path.read_text())
    del document["review"]
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    assert any(
        "care-ms-ii.yml: review: missing 'review'" in problem for problem in problems_of(knowledge_copy)
    )


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"kind": "looked at it"}, "'kind' is 'looked at it'"),
        ({"reviewed_on": "last spring"}, "'reviewed_on' should be a date"),
        ({"next_review_due": date(2026, 1, 1)}, "should be after 'reviewed_on'"),
        ({"next_review_due": date(2030, 1, 1)}, "more than three years"),
        ({"reviewed_on": date(2027, 2, 1), "next_review_due": date(2027, 8, 1)}, "is in the future"),
        ({"reviewed_by": " "}, "missing 'reviewed_by'"),
        ({"signed": "yes"}, "unknown field 'signed'"),
        # A clinical review needs a clinician: the content team cannot sign one off.
        ({"kind": "clinical review", "reviewed_by": "content editor"}, "not a clinical role"),
    ],
)
def test_a_review_that_is_not_right_is_refused(knowledge_copy: Path, fields: dict, said: str) -> None:
    set_review(knowledge_copy, TRIAL_FILE, **fields)
    assert any(said in problem and "care-ms-ii.yml" in problem for problem in problems_of(knowledge_copy))


# Due soon, overdue, override


def test_the_loader_shows_what_falls_due_within_thirty_days(
    knowledge_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    set_review(knowledge_copy, TRIAL_FILE, next_review_due=date(2027, 2, 10))
    set_review(knowledge_copy, Path("glossary.yml"), next_review_due=date(2027, 2, 12))
    set_review(knowledge_copy, Path("sources.yml"), next_review_due=date(2027, 2, 16))
    url = f"sqlite:///{tmp_path / 'store.db'}"
    code = main(["--knowledge-dir", str(knowledge_copy), "--db-url", url, "--today", "2027-01-15"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "Due for review within 30 days of 2027-01-15:" in printed
    due = printed.split("Due for review")[1]
    assert due.index("trials/care-ms-ii.yml: due 2027-02-10") < due.index("glossary.yml: due 2027-02-12")
    assert "sources.yml" not in due  # due in 32 days
    assert "trials/care-ms-i.yml" not in due  # due in June
    assert (
        "10 of 10 file(s) were checked against their sources but not yet reviewed by a clinician" in printed
    )


def test_nothing_is_listed_when_nothing_falls_due(
    knowledge_copy: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["--knowledge-dir", str(knowledge_copy), "--check", "--today", "2027-01-15"]) == 0
    assert "Due for review" not in capsys.readouterr().out


def test_a_file_past_its_review_date_is_refused_and_the_store_is_left_as_it_was(
    knowledge_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    load_knowledge(knowledge_copy, url, BEFORE_ANY_IS_DUE)
    before = (tmp_path / "store.db").read_bytes()
    set_review(knowledge_copy, TRIAL_FILE, next_review_due=date(2027, 1, 10))
    code = main(["--knowledge-dir", str(knowledge_copy), "--db-url", url, "--today", "2027-01-15"])
    assert code == 1
    said = capsys.readouterr().err
    assert "care-ms-ii.yml: review: its next review was due on 2027-01-10" in said
    assert "--allow-overdue REASON" in said
    assert (tmp_path / "store.db").read_bytes() == before


def test_an_override_is_logged_stored_and_said_under_every_answer_from_that_file(
    knowledge_copy: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    set_review(knowledge_copy, TRIAL_FILE, next_review_due=date(2027, 1, 10))
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with caplog.at_level(logging.WARNING, logger="actions.loader"):
        code = main(
            [
                "--knowledge-dir",
                str(knowledge_copy),
                "--db-url",
                url,
                "--today",
                "2027-01-15",
                "--allow-overdue",
                "the nurse reviewer is away until February",
            ]
        )
    assert code == 0
    assert [record.getMessage() for record in caplog.records] == [
        "Loading trials/care-ms-ii.yml past its next review date (2027-01-10), on purpose: "
        "the nurse reviewer is away until February"
    ]
    stored = reviews_in(url)
    assert stored["trials/care-ms-ii.yml"].override_reason == "the nurse reviewer is away until February"
    assert stored["trials/care-ms-ii.yml"].overridden_at is not None
    assert stored["trials/care-ms-i.yml"].override_reason is None
    assert "It was due for review in January 2027, so it may be out of date." in relapse_answer(url)[-1]
    with KnowledgeStore.open(url) as store:
        # CARE-MS I's results carry a safety note with CARE-MS II's figures, so the design only.
        other_trial = compose_answer(store, "participants", trials=[store.trial("care-ms-i")]) or []
    assert other_trial and "out of date" not in " ".join(other_trial)


def test_an_override_needs_a_reason(knowledge_copy: Path) -> None:
    with pytest.raises(SystemExit):
        main(["--knowledge-dir", str(knowledge_copy), "--check", "--allow-overdue", "  "])


# What the answers say


def test_answers_say_the_month_their_facts_were_checked_from_the_store(
    knowledge_copy: Path, tmp_path: Path
) -> None:
    set_review(knowledge_copy, TRIAL_FILE, reviewed_on=date(2026, 3, 9), next_review_due=date(2027, 3, 9))
    url = f"sqlite:///{tmp_path / 'store.db'}"
    load_knowledge(knowledge_copy, url, BEFORE_ANY_IS_DUE)
    last_line = relapse_answer(url)[-1].splitlines()[-1]
    assert last_line.startswith("Source")
    # The safety note under it comes from guidance checked in December: the oldest check is said.
    assert last_line.endswith("Checked March 2026. No doctor has reviewed it yet.")


def test_a_clinical_review_is_said_as_one_and_only_then(knowledge_copy: Path, tmp_path: Path) -> None:
    for relative in (TRIAL_FILE, Path("guidance.yml")):
        set_review(
            knowledge_copy,
            relative,
            kind="clinical review",
            reviewed_by="MS nurse specialist",
            reviewed_on=date(2027, 1, 5),
            next_review_due=date(2028, 1, 5),
        )
    url = f"sqlite:///{tmp_path / 'store.db'}"
    load_knowledge(knowledge_copy, url, BEFORE_ANY_IS_DUE)
    said = relapse_answer(url)[-1]
    assert said.endswith("Reviewed by our MS nurse specialist in January 2027.")
    assert CHECKED not in said
    # An answer drawing on a file that had only a source check still says so.
    with KnowledgeStore.open(url) as store:
        other_trial = compose_answer(store, "relapse", trials=[store.trial("care-ms-i")]) or []
    assert other_trial[-1].endswith(CHECKED)


def test_every_row_stating_a_fact_links_to_the_review_of_its_own_file(knowledge_url: str) -> None:
    with KnowledgeStore.open(knowledge_url) as store:
        session = store.session
        for result in session.execute(select(Result)).scalars():
            assert result.review.file == f"trials/{result.endpoint.trial.key}.yml"
        for result in session.execute(select(FollowUpResult)).scalars():
            assert result.review.file == f"follow_ups/{result.measure.follow_up.key}.yml"
        assert {row.review.file for row in session.execute(select(Guidance)).scalars()} == {"guidance.yml"}
        assert {row.review.file for row in session.execute(select(GlossaryTerm)).scalars()} == {
            "glossary.yml"
        }


def test_a_definition_says_when_the_glossary_was_checked(store: KnowledgeStore) -> None:
    said = define_term(store, ["relapse"])
    assert said[-1].endswith(CHECKED)


def test_an_answer_served_after_its_review_date_says_it_may_be_out_of_date(knowledge_url: str) -> None:
    """A store loaded before a file fell due keeps answering from it: the answer then says so."""
    with KnowledgeStore.open(knowledge_url) as store:
        reviews = store.reviews()
        due = min(review.next_review_due for review in reviews)
        assert "out of date" not in review_line(reviews, today=due)
        late = review_line(reviews, today=due + timedelta(days=1))
    assert late.endswith(f"It was due for review in {due:%B %Y}, so it may be out of date.")
