"""Build the knowledge store from the knowledge files (command line: `python -m actions.loader`).

All files are read and checked first; only then is the database replaced, in one
transaction. A bad file, or a failure while writing, leaves the database exactly as it was.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import uuid
from collections import Counter
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Sequence

from sqlalchemy import create_engine, delete, func, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actions.database import DB_URL_VARIABLE, PROJECT_ROOT, database_url, engine_for, sqlite_path
from actions.knowledge_files import Knowledge, KnowledgeError, read_knowledge
from actions.models import Base, ContentReview, KnowledgeVersion
from actions.reviews import DUE_SOON_DAYS, SOURCE_CHECK, Overdue, due_soon
from actions.schema import upgrade_schema

DEFAULT_KNOWLEDGE_DIR = PROJECT_ROOT / "knowledge"
logger = logging.getLogger(__name__)


def load_knowledge(
    directory: Path, url: str, today: date | None = None, overdue: Overdue | None = None
) -> Counter:
    """Replace the store's contents with the knowledge files'; return row counts by table.

    A file past its next review date on `today` is refused unless `overdue` gives a reason,
    which is logged here and stored with the file's review (answers from it then say so).
    """
    knowledge = read_knowledge(directory, today, overdue)
    _log_overrides(knowledge.reviews)
    return _store(knowledge, url)


def _log_overrides(reviews: list[ContentReview]) -> None:
    for review in reviews:
        if review.override_reason:
            logger.warning(
                "Loading %s past its next review date (%s), on purpose: %s",
                review.file,
                review.next_review_due,
                review.override_reason,
            )


def _store(knowledge: Knowledge, url: str) -> Counter:
    """Write what was read into the store at `url`.

    An embedded SQLite store is built as a new file beside the old one and swapped in at once,
    so readers never see half a load. Other databases (PostgreSQL) are migrated to the latest
    schema and have their contents replaced in one transaction.
    """
    path = sqlite_path(url)
    if path is None:
        return _replace_contents(engine_for(url), knowledge)
    path.parent.mkdir(parents=True, exist_ok=True)
    new_file = path.with_name(path.name + ".new")
    new_file.unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{new_file}", future=True)
    try:
        counts = _replace_contents(engine, knowledge)
    except BaseException:
        new_file.unlink(missing_ok=True)
        raise
    finally:
        engine.dispose()
    os.replace(new_file, path)
    return counts


def _replace_contents(engine: Engine, knowledge: Knowledge) -> Counter:
    """Bring the schema up to date and replace every row, in one transaction.

    On PostgreSQL the migration is in that transaction too: a load that fails leaves both the
    schema and the contents as they were.
    """
    with Session(engine, future=True, expire_on_commit=False) as session:
        with session.begin():
            upgrade_schema(session.connection())
            for table in reversed(Base.metadata.sorted_tables):
                session.execute(delete(table))
            session.add_all(knowledge.rows())
            session.add(KnowledgeVersion(version=uuid.uuid4().hex, loaded_at=datetime.now(timezone.utc)))
            session.flush()
            return Counter(
                {
                    table.name: session.execute(select(func.count()).select_from(table)).scalar_one()
                    for table in Base.metadata.sorted_tables
                    if not table.name.endswith("_sources")
                }
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m actions.loader",
        description=(
            "Check the knowledge files (sources, treatments, guidance, glossary and one file "
            "per trial) and load them into the knowledge store. Nothing is written unless "
            "every file is valid; a failed load leaves the store as it was."
        ),
        epilog=(
            f"The database URL comes from --db-url, else ${DB_URL_VARIABLE}, else the "
            "embedded SQLite file var/knowledge.db. Exit status: 0 loaded, 1 the files "
            "have problems, 2 the database could not be written."
        ),
    )
    parser.add_argument(
        "--knowledge-dir",
        type=Path,
        default=DEFAULT_KNOWLEDGE_DIR,
        help="folder holding the knowledge files (default: %(default)s)",
    )
    parser.add_argument(
        "--db-url",
        default=None,
        help=f"SQLAlchemy database URL (default: ${DB_URL_VARIABLE} or the SQLite file)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="only check the files; do not touch the database",
    )
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="the date reviews are judged on (default: today): see what falls due on a later date",
    )
    parser.add_argument(
        "--allow-overdue",
        default=None,
        metavar="REASON",
        help=(
            "load files past their next review date anyway, for REASON (logged, stored, and said "
            "under every answer from those files)"
        ),
    )
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(levelname)s: %(message)s", level=logging.WARNING)
    url = args.db_url or database_url()
    shown_url = make_url(url).render_as_string(hide_password=True)
    today = args.today or date.today()
    reason = (args.allow_overdue or "").strip()
    if args.allow_overdue is not None and not reason:
        parser.error("--allow-overdue needs a reason")
    overdue = Overdue(reason) if reason else None

    try:
        knowledge = read_knowledge(args.knowledge_dir, today, overdue)
        _log_overrides(knowledge.reviews)
        if not args.check:
            counts = _store(knowledge, url)
    except KnowledgeError as error:
        print(
            f"The knowledge files have {len(error.problems)} problem(s); nothing was loaded:", file=sys.stderr
        )
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except SQLAlchemyError as error:
        print(
            f"Could not write the knowledge store at {shown_url}; it is unchanged: {error}", file=sys.stderr
        )
        return 2
    if args.check:
        print(f"{args.knowledge_dir}: {len(knowledge.trials)} trial file(s) and shared files are valid.")
    else:
        summary = ", ".join(f"{count} {table}" for table, count in sorted(counts.items()))
        print(f"Loaded into {shown_url}: {summary}.")
    _say_reviews(knowledge.reviews, today)
    return 0


def _say_reviews(reviews: list[ContentReview], today: date) -> None:
    """What falls due for review within 30 days, and how many files await a clinician's review."""
    due = due_soon(reviews, today)
    if due:
        print(f"Due for review within {DUE_SOON_DAYS} days of {today}:")
        for review in due:
            late = " (overdue, loaded on purpose)" if review.next_review_due < today else ""
            print(f"  {review.file}: due {review.next_review_due}{late}")
    pending = [review.file for review in reviews if review.kind == SOURCE_CHECK]
    if pending:
        print(
            f"{len(pending)} of {len(reviews)} file(s) were checked against their sources but not "
            "yet reviewed by a clinician; answers from them say so."
        )


if __name__ == "__main__":
    sys.exit(main())
