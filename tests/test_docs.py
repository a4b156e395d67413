"""The twin pages (docs/twins/<name>.md) keep their promise: every test they cite exists,
and every item of the behaviour sheet's checklist is on the page with a test or a reason.

How a page cites a test:

- ``tests/<path>.py::test_name`` (a parametrized id in brackets may follow);
- ``tests/<path>.py`` for every test of a module;
- ``::test_name`` for another test of the module cited last in the same table row.

The checklist is a table under a heading with "Checklist" in it; its first column is the
item's number in the sheet (section 8 of shared/twins/<name>.md), ``-`` for an item the
sheet does not have. An item may take several rows. A row whose status starts with
"done" cites a test; any other row cites one or says why not.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

from apitwin.twins.registry import bundled_names

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "docs" / "twins"

# How many items the checklist of each behaviour sheet has (shared/twins/<name>.md,
# section 8, "Twin checklist"). The sheets live outside the repository; the pages copy
# their items, and this says how many there are to copy.
SHEET_ITEMS = {
    "digitalocean": 8,
    "docker-engine": 7,
    "docker-hub": 6,
    "docker-dvp": 3,
    "discourse": 7,
    "dnd5e": 5,
    "nookipedia": 4,
    "digitalnz": 4,
    "dracoon": 7,
    "drchrono": 6,
    "dweet": 6,
    "ebay-browse": 6,
    "ebay-deal": 3,
}

_FULL = re.compile(r"(?<![\w/.])(tests/[\w/]+\.py)(?:::(test_\w+)(\[[^\]\s|]*\])?)?")
_CONTINUED = re.compile(r"(?<![\w.])::(test_\w+)(\[[^\]\s|]*\])?")
_LOOSE = re.compile(r"(?<![\w/:.])(?:\w+\.py::)?test_\w+(?:\.py)?")


@cache
def defined_tests(module: str) -> frozenset[str]:
    """The test functions of a test module: top-level and in ``Test*`` classes."""
    tree = ast.parse((ROOT / module).read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            names.update(
                item.name
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            )
    return frozenset(name for name in names if name.startswith("test_"))


def citations(text: str) -> tuple[list[tuple[str, str | None]], list[str]]:
    """The (module, test) pairs cited in one table row or paragraph, and the problems of
    the ones that do not follow the forms above."""
    found: list[tuple[str, str | None]] = []
    problems: list[str] = []
    spans: list[tuple[int, int]] = []
    events: list[tuple[int, str, str | None]] = []
    for match in _FULL.finditer(text):
        events.append((match.start(), match.group(1), match.group(2)))
        spans.append(match.span())
    for match in _CONTINUED.finditer(text):
        events.append((match.start(), "", match.group(1)))
        spans.append(match.span())
    module = ""
    for _, cited_module, test in sorted(events, key=lambda e: e[0]):
        if cited_module:
            module = cited_module
        elif not module:
            problems.append(f"::{test} follows no tests/<path>.py in its row")
            continue
        found.append((module, test))
    for match in _LOOSE.finditer(text):
        if not any(start <= match.start() < end for start, end in spans):
            problems.append(f"{match.group(0)}: cite it as tests/<path>.py::test_name")
    return found, problems


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def checklist(page: str) -> list[list[str]]:
    """The rows of the page's checklist table (without the header and the rule)."""
    rows: list[list[str]] = []
    inside = False
    for line in page.splitlines():
        if line.startswith("## "):
            inside = "checklist" in line.lower()
            continue
        if inside and line.startswith("|"):
            rows.append(_cells(line))
    return rows[2:] if len(rows) >= 2 else []


@pytest.mark.parametrize("name", bundled_names())
def test_every_cited_test_exists(name: str) -> None:
    page = (PAGES / f"{name}.md").read_text()
    missing: list[str] = []
    for block in re.split(r"\n\s*\n|\n(?=\|)", page):
        found, problems = citations(block)
        missing.extend(problems)
        for module, test in found:
            if not (ROOT / module).is_file():
                missing.append(f"{module}: no such module")
            elif test is not None and test not in defined_tests(module):
                missing.append(f"{module}::{test}: no such test")
    assert not missing, f"docs/twins/{name}.md:\n" + "\n".join(missing)


@pytest.mark.parametrize("name", bundled_names())
def test_every_checklist_item_has_a_test_or_a_reason(name: str) -> None:
    rows = checklist((PAGES / f"{name}.md").read_text())
    assert rows, f"docs/twins/{name}.md has no checklist table"
    problems: list[str] = []
    numbers: set[int] = set()
    for row in rows:
        number, *rest = row
        if number.isdigit():
            numbers.add(int(number))
        elif number != "-":
            problems.append(f"row {row[:2]}: the first column is the sheet's item number")
            continue
        if len(rest) < 2:
            problems.append(f"row {row[:2]}: needs the item and its status, test or reason")
            continue
        item, answer = rest[0], " | ".join(rest[1:])
        found, _ = citations(answer)
        words = re.sub(r"`[^`]*`|[^\w\s]", " ", _FULL.sub(" ", answer)).split()
        reason = [w for w in words if w.lower() not in {"done", "not", "partly", "yes", "no"}]
        if answer.lower().startswith("done") and not found:
            problems.append(f"item {number} ({item[:40]}): done, but no test is cited")
        elif not found and len(reason) < 4:
            problems.append(f"item {number} ({item[:40]}): neither a test nor a reason")
    expected = set(range(1, SHEET_ITEMS[name] + 1))
    if numbers != expected:
        problems.append(
            f"items of the sheet missing: {sorted(expected - numbers)}; "
            f"not in the sheet: {sorted(numbers - expected)}"
        )
    assert not problems, f"docs/twins/{name}.md:\n" + "\n".join(problems)


def test_the_table_counts_every_bundled_twin() -> None:
    assert set(SHEET_ITEMS) == set(bundled_names())
    assert {path.stem for path in PAGES.glob("*.md")} == set(bundled_names())


@pytest.mark.parametrize(
    ("text", "cited", "problems"),
    [
        (
            "`tests/a/test_b.py::test_c`, `::test_d[x-1]`",
            [("tests/a/test_b.py", "test_c"), ("tests/a/test_b.py", "test_d")],
            0,
        ),
        ("tests/a/test_b.py (every test)", [("tests/a/test_b.py", None)], 0),
        ("`test_b.py::test_c`", [], 1),
        ("`test_c`", [], 1),
        ("::test_c alone", [], 1),
    ],
)
def test_citation_forms(text: str, cited: list[tuple[str, str]], problems: int) -> None:
    found, trouble = citations(text)
    assert found == cited
    assert len(trouble) == problems, trouble


def test_the_readme_links_every_twin_page() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make serve" in readme and "make test" in readme
    for name in bundled_names():
        assert f"](docs/twins/{name}.md)" in readme, name
