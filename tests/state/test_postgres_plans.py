"""PostgreSQL plans a list page once, whatever the size of the collection.

With bound LIMIT and OFFSET parameters PostgreSQL planned every page of a large
collection afresh (its generic plan costs an unknown LIMIT and OFFSET as a tenth of the
rows), while a small collection reused one plan: a page cost more as the collection
grew. These tests read the server's own record of the store connection's prepared
statements (``pg_prepared_statements``): the page statement is prepared and every call
after the first few reuses its plan, for a large collection as for a small one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.state.conftest import Backend, _postgres_opener

PAGES = 20


@pytest.fixture
def postgres(postgres_schema: str) -> Iterator[Backend]:
    backend = Backend("postgres", _postgres_opener(postgres_schema))
    yield backend
    backend.close_all()


@pytest.mark.parametrize("size", [100, 20_000])
def test_a_page_is_planned_once_and_its_plan_reused(postgres: Backend, size: int) -> None:
    store = postgres.open()
    with store.transaction("shop") as tx:
        for ident in range(size):
            tx.put("items", str(ident), {"id": ident, "name": f"item {ident}"})
    # The planner's statistics, as after autovacuum: the table is known to be large.
    with store._cursor() as cur:  # type: ignore[attr-defined]
        cur.execute(f'ANALYZE "{store.schema}".resources')  # type: ignore[attr-defined]
    for _ in range(PAGES):
        with store.transaction("shop", write=False) as tx:
            page = tx.list("items", offset=0, limit=20)
        assert [item["id"] for item in page.items] == list(range(20))
        assert page.total == size
    with store._cursor() as cur:  # type: ignore[attr-defined]
        rows = cur.execute(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
        ).fetchall()
    pages = [(g, c) for statement, g, c in rows if "ORDER BY id LIMIT" in statement]
    assert len(pages) == 1, rows
    generic, custom = pages[0]
    # psycopg prepares a statement on its fifth run; every later run reuses the plan.
    assert custom == 0 and generic >= PAGES - 5, (generic, custom)
