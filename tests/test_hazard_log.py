"""The hazard log is honest: every hazard names at least one test, and every test it names
exists (the suite runs them all, so each must also pass)."""

from __future__ import annotations

import ast
import re

from tests.helpers import PROJECT_ROOT

HAZARD_LOG = PROJECT_ROOT / "docs" / "safety" / "hazard-log.md"
TEST_REFERENCE = re.compile(r"`(tests/test_\w+\.py)::(\w+)`")
HAZARD_ROW = re.compile(r"^\| (H\d+) \|", re.M)


def test_functions(path: str) -> set[str]:
    tree = ast.parse((PROJECT_ROOT / path).read_text())
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


test_functions.__test__ = False


def test_every_hazard_names_a_test() -> None:
    rows = [line for line in HAZARD_LOG.read_text().splitlines() if HAZARD_ROW.match(line)]
    assert len(rows) >= 10
    assert [row.split("|")[1].strip() for row in rows if not TEST_REFERENCE.search(row)] == []


def test_every_test_named_in_the_hazard_log_exists() -> None:
    missing = [
        f"{path}::{name}"
        for path, name in TEST_REFERENCE.findall(HAZARD_LOG.read_text())
        if not (PROJECT_ROOT / path).exists() or name not in test_functions(path)
    ]
    assert missing == []
