"""Build the knowledge store from the knowledge files (command line: `python -m actions.loader`).

All files are read and checked first; only then is the database replaced, in one
transaction. A bad file, or a failure while writing, leaves the database exactly as it was.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from sqlalchemy import create_engine, delete, func, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actions.database import DB_URL_VARIABLE, PROJECT_ROOT, database_url, engine_for, sqlite_path
from actions.knowledge_files import Knowledge, KnowledgeError, read_knowledge
from actions.models import Base, KnowledgeVersion
from actions.schema import upgrade_schema

DEFAULT_KNOWLEDGE_DIR = PROJECT_ROOT / "knowledge"


def load_knowledge(directory: Path, url: str) -> Counter:
    """Replace the store's contents with the knowledge files'; return row counts by table.

    An embedded SQLite store is built as a new file beside the old one and swapped in at once,
    so readers never see half a load. Other databases (PostgreSQL) are migrated to the latest
    schema and have their contents replaced in one transaction.
    """
    knowledge = read_knowledge(directory)
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
    with Session(engine, future=True) as session:
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
    args = parser.parse_args(argv)
    url = args.db_url or database_url()
    shown_url = make_url(url).render_as_string(hide_password=True)

    try:
        if args.check:
            knowledge = read_knowledge(args.knowledge_dir)
            print(f"{args.knowledge_dir}: {len(knowledge.trials)} trial file(s) and shared files are valid.")
            return 0
        counts = load_knowledge(args.knowledge_dir, url)
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
    summary = ", ".join(f"{count} {table}" for table, count in sorted(counts.items()))
    print(f"Loaded into {shown_url}: {summary}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
