"""The Store contract, asserted identically against memory, SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from apitwin.state.store import ReadOnlyTransactionError, Store

TWIN = "shop"


def put_all(store: Store, family: str, keys: list[str], parent: str = "", twin: str = TWIN) -> None:
    with store.transaction(twin) as tx:
        for key in keys:
            tx.put(family, key, {"id": key}, parent=parent)


def ids(store: Store, family: str, twin: str = TWIN, **kwargs: Any) -> tuple[list[Any], int]:
    with store.transaction(twin, write=False) as tx:
        page = tx.list(family, **kwargs)
    return [item["id"] for item in page.items], page.total


def test_put_then_get_returns_the_resource(store: Store) -> None:
    body = {"id": 7, "name": "Ünïcode ✓", "nested": {"a": [1, 2.5, None, True]}}
    with store.transaction(TWIN) as tx:
        tx.put("items", "7", body)
    with store.transaction(TWIN, write=False) as tx:
        assert tx.get("items", "7") == body
        assert tx.get("items", "8") is None
        assert tx.get("other", "7") is None


def test_keys_are_opaque_strings(store: Store) -> None:
    keys = ["a/b", "with space", "ключ", "x%y", "", "'; DROP TABLE resources; --"]
    put_all(store, "odd", keys)
    with store.transaction(TWIN, write=False) as tx:
        for key in keys:
            assert tx.get("odd", key) == {"id": key}
    assert ids(store, "odd") == (keys, len(keys))


def test_stored_state_is_not_shared_with_caller_dicts(store: Store) -> None:
    body: dict[str, Any] = {"tags": ["a"]}
    with store.transaction(TWIN) as tx:
        tx.put("items", "1", body)
        body["tags"].append("changed after put")
        fetched = tx.get("items", "1")
        assert fetched == {"tags": ["a"]}
        fetched["tags"].append("changed after get")
    with store.transaction(TWIN) as tx:
        assert tx.get("items", "1") == {"tags": ["a"]}


def test_list_is_in_insertion_order_not_key_order(store: Store) -> None:
    keys = ["b", "10", "a", "9", "c"]
    put_all(store, "items", keys)
    assert ids(store, "items") == (keys, 5)


def test_replace_keeps_position_and_total(store: Store) -> None:
    put_all(store, "items", ["a", "b", "c"])
    with store.transaction(TWIN) as tx:
        tx.put("items", "a", {"id": "a", "v": 2})
    with store.transaction(TWIN, write=False) as tx:
        page = tx.list("items")
    assert [item["id"] for item in page.items] == ["a", "b", "c"]
    assert page.items[0] == {"id": "a", "v": 2}
    assert page.total == 3


def test_delete(store: Store) -> None:
    put_all(store, "items", ["a", "b", "c"])
    with store.transaction(TWIN) as tx:
        assert tx.delete("items", "b") is True
        assert tx.delete("items", "b") is False
        assert tx.delete("items", "never") is False
        assert tx.delete("nofamily", "a") is False
    with store.transaction(TWIN, write=False) as tx:
        assert tx.get("items", "b") is None
    assert ids(store, "items") == (["a", "c"], 2)


def test_reinserted_key_goes_to_the_end(store: Store) -> None:
    put_all(store, "items", ["a", "b", "c"])
    with store.transaction(TWIN) as tx:
        tx.delete("items", "a")
        tx.put("items", "a", {"id": "a"})
    assert ids(store, "items") == (["b", "c", "a"], 3)


def test_offset_and_limit(store: Store) -> None:
    keys = [str(n) for n in range(25)]
    put_all(store, "items", keys)
    assert ids(store, "items", limit=10) == (keys[:10], 25)
    assert ids(store, "items", offset=20, limit=10) == (keys[20:], 25)
    assert ids(store, "items", offset=5) == (keys[5:], 25)
    assert ids(store, "items", limit=0) == ([], 25)
    assert ids(store, "items", offset=30, limit=5) == ([], 25)
    assert ids(store, "empty", limit=5) == ([], 0)


def test_offsets_and_limits_past_any_integer_type_give_the_page_they_mean(store: Store) -> None:
    """A client may ask for page 2**64: that is an empty page, not an overflow."""
    keys = [str(n) for n in range(5)]
    put_all(store, "items", keys)
    assert ids(store, "items", offset=2**64, limit=20) == ([], 5)
    assert ids(store, "items", offset=2**70, limit=2**70) == ([], 5)
    assert ids(store, "items", offset=3, limit=2**64) == (keys[3:], 5)
    assert ids(store, "items", parent=None, filters={"id": "1"}, offset=2**64) == ([], 1)


def test_bad_paging_arguments(store: Store) -> None:
    with store.transaction(TWIN, write=False) as tx:
        with pytest.raises(ValueError, match="offset"):
            tx.list("items", offset=-1)
        with pytest.raises(ValueError, match="limit"):
            tx.list("items", limit=-1)


def test_parent_scoping(store: Store) -> None:
    with store.transaction(TWIN) as tx:
        tx.put("actions", "1", {"id": "1"}, parent="droplet-1")
        tx.put("actions", "2", {"id": "2"}, parent="droplet-2")
        tx.put("actions", "3", {"id": "3"}, parent="droplet-1")
        tx.put("actions", "4", {"id": "4"})
    assert ids(store, "actions", parent="droplet-1") == (["1", "3"], 2)
    assert ids(store, "actions", parent="droplet-2") == (["2"], 1)
    assert ids(store, "actions") == (["4"], 1)
    assert ids(store, "actions", parent=None) == (["1", "2", "3", "4"], 4)
    assert ids(store, "actions", parent=None, offset=1, limit=2) == (["2", "3"], 4)
    assert ids(store, "actions", parent="droplet-9") == ([], 0)
    with store.transaction(TWIN) as tx:
        tx.delete("actions", "1")
    assert ids(store, "actions", parent="droplet-1") == (["3"], 1)
    assert ids(store, "actions", parent=None) == (["2", "3", "4"], 3)


def test_replace_under_another_parent_moves_it_keeping_its_position(store: Store) -> None:
    with store.transaction(TWIN) as tx:
        tx.put("files", "x", {"id": "x"}, parent="p1")
        tx.put("files", "y", {"id": "y"}, parent="p2")
        tx.put("files", "x", {"id": "x"}, parent="p2")
    assert ids(store, "files", parent="p1") == ([], 0)
    assert ids(store, "files", parent="p2") == (["x", "y"], 2)
    assert ids(store, "files", parent=None) == (["x", "y"], 2)


def seed_filterable(store: Store) -> None:
    rows: list[dict[str, Any]] = [
        {"id": 1, "name": "web", "size": 1, "active": True, "tags": ["prod", "eu"]},
        {"id": 2, "name": "db", "size": 2, "active": False, "tags": ["prod"]},
        {"id": 3, "name": "web", "size": 2.0, "active": True, "tags": []},
        {"id": 4, "name": "1", "size": "2", "active": 1, "tags": ["1", 1, True]},
        {"id": 5, "name": None, "size": 3, "tags": "prod"},
        {"id": 6, "a.b": "dotted", 'say "hi"': "quoted", "size": 3},
    ]
    with store.transaction(TWIN) as tx:
        for row in rows:
            tx.put("servers", str(row["id"]), row, parent="even" if row["id"] % 2 == 0 else "")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"name": "web"}, [1, 3]),
        ({"name": "1"}, [4]),
        ({"size": 2}, [2, 3]),
        ({"size": "2"}, [4]),
        ({"size": 3.0}, [5, 6]),
        ({"active": True}, [1, 3]),
        ({"active": False}, [2]),
        ({"active": 1}, [4]),
        ({"tags": "prod"}, [1, 2, 5]),
        ({"tags": "eu"}, [1]),
        ({"tags": 1}, [4]),
        ({"tags": True}, [4]),
        ({"tags": "1"}, [4]),
        ({"name": "web", "active": True, "tags": "prod"}, [1]),
        ({"name": "web", "size": 1}, [1]),
        ({"name": None}, [5, 6]),
        ({"active": None}, [5, 6]),
        ({"missing": "x"}, []),
        ({"a.b": "dotted"}, [6]),
        ({'say "hi"': "quoted"}, [6]),
        ({'say "hi"': None}, [1, 2, 3, 4, 5]),
    ],
)
def test_filters(store: Store, filters: dict[str, Any], expected: list[int]) -> None:
    seed_filterable(store)
    assert ids(store, "servers", parent=None, filters=filters) == (expected, len(expected))


def test_filters_combine_with_parent_and_paging(store: Store) -> None:
    seed_filterable(store)
    assert ids(store, "servers", parent="even", filters={"size": 2}) == ([2], 1)
    assert ids(store, "servers", filters={"tags": "prod"}) == ([1, 5], 2)
    assert ids(store, "servers", parent=None, filters={"size": 3}, offset=1) == ([6], 2)
    assert ids(store, "servers", parent=None, filters={"tags": "prod"}, limit=1) == ([1], 3)


def test_json_readers_give_the_serialized_resources(store: Store) -> None:
    """get_json and list_json hand over what get and list give, as the JSON a client gets."""
    seed_filterable(store)
    body = {"id": 9, "name": "Ünïcode ✓", "ratio": 0.1, "nested": {"a": [1, 2.5, None, True]}}
    with store.transaction(TWIN) as tx:
        tx.put("servers", "9", body, parent="even")
    with store.transaction(TWIN, write=False) as tx:
        assert tx.get_json("servers", "9") == orjson.dumps(body)
        assert tx.get_json("servers", "10") is None
        assert tx.get_json("nothing", "9") is None
        for kwargs in (
            {},
            {"parent": None},
            {"parent": "even", "offset": 1, "limit": 2},
            {"parent": None, "filters": {"tags": "prod"}},
            {"parent": None, "filters": {"size": 3}, "offset": 1},
        ):
            page, raw = tx.list("servers", **kwargs), tx.list_json("servers", **kwargs)
            assert raw.items == [orjson.dumps(item) for item in page.items], kwargs
            assert raw.total == page.total, kwargs
    with store.transaction(TWIN, write=False) as tx:
        assert tx.list_json("servers", parent=None).total == 7


def test_filter_values_must_be_scalars(store: Store) -> None:
    with store.transaction(TWIN, write=False) as tx, pytest.raises(TypeError):
        tx.list("servers", filters={"tags": ["prod"]})


def test_families_lists_only_non_empty(store: Store) -> None:
    put_all(store, "b-family", ["1"])
    put_all(store, "a-family", ["1", "2"])
    with store.transaction(TWIN) as tx:
        assert tx.families() == ["a-family", "b-family"]
        tx.delete("b-family", "1")
        assert tx.families() == ["a-family"]
        tx.put("c-family", "1", {})
        assert tx.families() == ["a-family", "c-family"]
    with store.transaction(TWIN, write=False) as tx:
        assert tx.families() == ["a-family", "c-family"]


def test_families_and_dump_are_in_byte_order_everywhere(store: Store) -> None:
    names = ["zebras", "Zebras", "émigrés", "apples", "_private", "Apples"]
    for name in names:
        put_all(store, name, ["1"])
    expected = sorted(names)  # code point order, which is UTF-8 byte order
    assert expected == ["Apples", "Zebras", "_private", "apples", "zebras", "émigrés"]
    with store.transaction(TWIN, write=False) as tx:
        assert tx.families() == expected
    assert list(store.dump(TWIN)) == expected


def test_next_id_counts_per_family_and_never_repeats(store: Store) -> None:
    with store.transaction(TWIN) as tx:
        assert [tx.next_id("users") for _ in range(3)] == [1, 2, 3]
        assert tx.next_id("posts") == 1
        tx.put("users", "3", {"id": 3})
    with store.transaction(TWIN) as tx:
        tx.delete("users", "3")
    with store.transaction(TWIN) as tx:
        assert tx.next_id("users") == 4
        assert tx.next_id("posts") == 2


def test_writes_are_visible_later_in_the_same_transaction(store: Store) -> None:
    put_all(store, "items", ["a"], parent="p")
    with store.transaction(TWIN) as tx:
        tx.put("items", "b", {"id": "b"}, parent="p")
        tx.put("items", "c", {"id": "c"})
        tx.delete("items", "a")
        assert tx.get("items", "b") == {"id": "b"}
        assert tx.get("items", "a") is None
        page = tx.list("items", parent="p")
        assert ([item["id"] for item in page.items], page.total) == (["b"], 1)
        page = tx.list("items", parent=None)
        assert ([item["id"] for item in page.items], page.total) == (["b", "c"], 2)


def test_exception_rolls_back_everything(store: Store) -> None:
    put_all(store, "items", ["a", "b"])
    put_all(store, "notes", ["n"], parent="a")
    with store.transaction(TWIN) as tx:
        first = tx.next_id("items")
    before = store.dump(TWIN)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), store.transaction(TWIN) as tx:
        tx.put("items", "c", {"id": "c"})
        tx.put("items", "a", {"id": "a", "changed": True}, parent="moved")
        tx.delete("items", "b")
        tx.delete("notes", "n")
        tx.put("fresh", "x", {"id": "x"})
        rolled_back = tx.next_id("items")
        assert rolled_back == first + 1
        raise Boom

    assert store.dump(TWIN) == before
    assert ids(store, "items") == (["a", "b"], 2)
    assert ids(store, "items", parent=None) == (["a", "b"], 2)
    assert ids(store, "items", parent="moved") == ([], 0)
    assert ids(store, "notes", parent="a") == (["n"], 1)
    with store.transaction(TWIN) as tx:
        assert tx.families() == ["items", "notes"]
        # Never an id that was committed; the rolled-back one may be reused or skipped.
        assert tx.next_id("items") in (rolled_back, rolled_back + 1)


def test_read_only_transaction_refuses_writes(store: Store) -> None:
    put_all(store, "items", ["a"])
    with store.transaction(TWIN, write=False) as tx:
        with pytest.raises(ReadOnlyTransactionError):
            tx.put("items", "b", {})
        with pytest.raises(ReadOnlyTransactionError):
            tx.delete("items", "a")
        with pytest.raises(ReadOnlyTransactionError):
            tx.next_id("items")
        with pytest.raises(ReadOnlyTransactionError):
            tx.get("items", "a", for_update=True)
        assert tx.get("items", "a") == {"id": "a"}
    assert ids(store, "items") == (["a"], 1)


def test_transaction_cannot_be_used_after_it_ends(store: Store) -> None:
    with store.transaction(TWIN) as tx:
        tx.put("items", "a", {})
    with pytest.raises(RuntimeError):
        tx.get("items", "a")


@pytest.mark.timeout(10)
def test_nested_transaction_on_one_thread_is_an_error_not_a_hang(store: Store) -> None:
    with store.transaction(TWIN) as tx:
        tx.put("items", "a", {"id": "a"})
        with pytest.raises(RuntimeError, match="already in a transaction"):
            store.get_meta(TWIN, "x")
        with pytest.raises(RuntimeError, match="already in a transaction"), store.transaction(TWIN):
            pass
    assert ids(store, "items") == (["a"], 1)


def test_dump(store: Store) -> None:
    assert store.dump(TWIN) == {}
    put_all(store, "zebras", ["z2", "z1"])
    put_all(store, "ants", ["a1"], parent="hill")
    with store.transaction(TWIN) as tx:
        tx.put("emptied", "e", {})
        tx.delete("emptied", "e")
    assert store.dump(TWIN) == {
        "ants": [{"id": "a1"}],
        "zebras": [{"id": "z2"}, {"id": "z1"}],
    }


def test_meta(store: Store) -> None:
    assert store.get_meta(TWIN, "seeded") is None
    store.set_meta(TWIN, "seeded", "42")
    assert store.get_meta(TWIN, "seeded") == "42"
    store.set_meta(TWIN, "seeded", "7")
    assert store.get_meta(TWIN, "seeded") == "7"
    assert store.get_meta("other", "seeded") is None
    store.set_meta(TWIN, "seeded", None)
    assert store.get_meta(TWIN, "seeded") is None
    store.set_meta(TWIN, "seeded", None)  # removing what is not there is fine


def test_clear_forgets_one_twin_only(store: Store) -> None:
    for twin in (TWIN, "other"):
        put_all(store, "items", ["a", "b"], parent="p", twin=twin)
        with store.transaction(twin) as tx:
            assert tx.next_id("items") == 1
        store.set_meta(twin, "seeded", "1")
    store.clear(TWIN)
    assert store.dump(TWIN) == {}
    assert store.get_meta(TWIN, "seeded") is None
    assert ids(store, "items", parent="p") == ([], 0)
    assert ids(store, "items", parent=None) == ([], 0)
    with store.transaction(TWIN) as tx:
        assert tx.families() == []
        assert tx.next_id("items") == 1
        tx.put("items", "c", {"id": "c"}, parent="p")
    assert ids(store, "items", parent="p") == (["c"], 1)
    assert ids(store, "items", twin="other", parent="p") == (["a", "b"], 2)
    assert store.get_meta("other", "seeded") == "1"
    with store.transaction("other") as tx:
        assert tx.next_id("items") == 2


def test_twins_are_separate(store: Store) -> None:
    with store.transaction("one") as tx:
        tx.put("items", "1", {"twin": "one"})
        assert tx.next_id("items") == 1
    with store.transaction("two") as tx:
        assert tx.get("items", "1") is None
        assert tx.list("items").total == 0
        assert tx.families() == []
        assert tx.next_id("items") == 1
        tx.put("items", "1", {"twin": "two"})
    with store.transaction("one", write=False) as tx:
        assert tx.get("items", "1") == {"twin": "one"}
        assert tx.list("items").total == 1
    assert sorted(store.iter_twins()) == ["one", "two"]
