"""Filter and sort mini-languages over HTTP, on the twins whose APIs speak them.

Each twin starts empty and gets known items in its store, so that every assertion is about
which stored items a filter keeps, in which order, and how a bad expression is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from apitwin.state.memory import MemoryStore
from tests.conventions.conftest import BEARER, TwinClient


@pytest.fixture
def stocked() -> Iterator[Callable[[str, str, list[dict[str, Any]], str], TwinClient]]:
    """Factory: a twin started empty whose ``family`` holds exactly ``items``."""
    opened: list[TwinClient] = []

    def make(name: str, family: str, items: list[dict[str, Any]], key: str) -> TwinClient:
        store = MemoryStore()
        client = TwinClient(name, store=store, empty=True)
        opened.append(client)
        with store.transaction(name) as tx:
            for item in items:
                tx.put(family, str(item[key]), item)
        return client

    yield make
    for client in opened:
        client.close()


# -- eBay Browse: filter=price:[10..50],conditions:{NEW}  sort=-price ----------------------

SEARCH = "/buy/browse/v1/item_summary/search"


def _summary(n: int, price: str, condition_id: str, options: list[str], country: str) -> dict:
    return {
        "itemId": f"v1|{n}|0",
        "title": f"item {n}",
        "price": {"value": price, "currency": "USD"},
        "conditionId": condition_id,
        "buyingOptions": options,
        "itemLocation": {"country": country},
        "seller": {"username": f"seller{n % 2}"},
    }


EBAY_ITEMS = [
    _summary(1, "9.99", "1000", ["FIXED_PRICE"], "US"),
    _summary(2, "10.00", "3000", ["AUCTION"], "US"),
    _summary(3, "25.50", "1000", ["FIXED_PRICE", "BEST_OFFER"], "DE"),
    _summary(4, "50.00", "1500", ["AUCTION"], "US"),
    _summary(5, "50.01", "1000", ["FIXED_PRICE"], "US"),
]


def _ids(body: dict[str, Any], key: str, field: str) -> list[Any]:
    return [item[field] for item in body.get(key, [])]


def test_ebay_price_range_and_condition_keep_matching_items(stocked: Any) -> None:
    client = stocked("ebay-browse", "item_summary", EBAY_ITEMS, "itemId")
    response = client.get(
        SEARCH,
        params={"q": "x", "filter": "price:[10..50],priceCurrency:USD,conditions:{NEW}"},
        headers=BEARER,
    )
    assert response.status_code == 200
    body = response.json()
    assert _ids(body, "itemSummaries", "itemId") == ["v1|3|0", "v1|4|0"]  # 1500 is NEW too
    assert body["total"] == 2


def test_ebay_sets_open_ranges_and_sort(stocked: Any) -> None:
    client = stocked("ebay-browse", "item_summary", EBAY_ITEMS, "itemId")
    body = client.get(
        SEARCH,
        params={"q": "x", "filter": "buyingOptions:{AUCTION|BEST_OFFER}", "sort": "-price"},
        headers=BEARER,
    ).json()
    assert _ids(body, "itemSummaries", "itemId") == ["v1|4|0", "v1|3|0", "v1|2|0"]
    body = client.get(
        SEARCH,
        params={"q": "x", "filter": "price:[..10],priceCurrency:USD", "sort": "price"},
        headers=BEARER,
    ).json()
    assert _ids(body, "itemSummaries", "itemId") == ["v1|1|0", "v1|2|0"]
    body = client.get(
        SEARCH, params={"q": "x", "filter": "itemLocationCountry:DE"}, headers=BEARER
    ).json()
    assert _ids(body, "itemSummaries", "itemId") == ["v1|3|0"]


def test_ebay_filtered_pages_count_the_filtered_list(stocked: Any) -> None:
    client = stocked("ebay-browse", "item_summary", EBAY_ITEMS, "itemId")
    body = client.get(
        SEARCH,
        params={"q": "x", "filter": "conditionIds:{1000}", "sort": "price", "limit": "2"},
        headers=BEARER,
    ).json()
    assert body["total"] == 3
    assert _ids(body, "itemSummaries", "itemId") == ["v1|1|0", "v1|3|0"]
    following = client.get(body["next"], headers=BEARER).json()
    assert _ids(following, "itemSummaries", "itemId") == ["v1|5|0"]
    assert "filter=conditionIds" in body["next"]


@pytest.mark.parametrize(
    ("query", "error_id", "fragment"),
    [
        ({"filter": "colour:red"}, 12002, "'colour'"),
        ({"filter": "price:[ten..50],priceCurrency:USD"}, 12002, "'price'"),
        ({"filter": "conditions:{SHINY}"}, 12002, "'conditions'"),
        ({"filter": "price:[10..50]"}, 12012, "'priceCurrency'"),
        ({"sort": "cheapest"}, 12008, "'sort'"),
    ],
)
def test_ebay_bad_expressions_get_the_documented_errors(
    stocked: Any, query: dict[str, str], error_id: int, fragment: str
) -> None:
    client = stocked("ebay-browse", "item_summary", EBAY_ITEMS, "itemId")
    response = client.get(SEARCH, params={"q": "x", **query}, headers=BEARER)
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["errorId"] == error_id
    assert error["domain"] == "API_BROWSE"
    assert fragment in error["message"]


# -- eBay Deal: category_ids=a,b and commissionable on stored deal items -------------------

DEALS = "/buy/deal/v1/deal_item"
DEAL_HEADERS = {**BEARER, "X-EBAY-C-MARKETPLACE-ID": "EBAY_US"}


def test_ebay_deal_items_filter_by_category_ids_and_commission(stocked: Any) -> None:
    items = [
        {"itemId": "d1", "categoryId": "9355", "commissionable": True},
        {"itemId": "d2", "categoryId": "171485", "commissionable": False},
        {"itemId": "d3", "categoryId": "9355", "commissionable": False},
        {"itemId": "d4", "categoryId": "625", "commissionable": True},
    ]
    client = stocked("ebay-deal", "deal_item", items, "itemId")
    body = client.get(DEALS, params={"category_ids": "9355,625"}, headers=DEAL_HEADERS).json()
    assert _ids(body, "dealItems", "itemId") == ["d1", "d3", "d4"]
    assert body["total"] == 3
    body = client.get(
        DEALS, params={"category_ids": "9355", "commissionable": "true"}, headers=DEAL_HEADERS
    ).json()
    assert _ids(body, "dealItems", "itemId") == ["d1"]


# -- DRACOON: filter=name:cn:foo|type:eq:room  sort=name:asc --------------------------------

NODES = "/api/v4/nodes"


def _node(n: int, name: str, kind: str, size: int, encrypted: bool = False) -> dict:
    return {"id": n, "name": name, "type": kind, "size": size, "isEncrypted": encrypted}


DRACOON_NODES = [
    _node(1, "Budget 2024", "room", 300),
    _node(2, "budget notes", "folder", 100),
    _node(3, "photos", "room", 200, encrypted=True),
    _node(4, "Budget.xlsx", "file", 50),
    _node(5, "archive", "folder", 400),
]


def test_dracoon_filter_and_sort(stocked: Any) -> None:
    client = stocked("dracoon", "nodes", DRACOON_NODES, "id")
    body = client.get(
        NODES,
        params={"filter": "name:cn:budget|type:eq:room:folder", "sort": "name:desc"},
        headers=BEARER,
    ).json()
    assert _ids(body, "items", "id") == [2, 1]  # case-insensitive contains, OR of types
    assert body["range"]["total"] == 2
    body = client.get(NODES, params={"sort": "size:desc"}, headers=BEARER).json()
    assert _ids(body, "items", "id") == [5, 1, 3, 2, 4]
    body = client.get(
        NODES, params={"filter": "type:neq:file|size:ge:200", "sort": "name:asc"}, headers=BEARER
    ).json()
    assert _ids(body, "items", "id") == [5, 1, 3]
    body = client.get(NODES, params={"filter": "encrypted:eq:true"}, headers=BEARER).json()
    assert _ids(body, "items", "id") == [3]


def test_dracoon_filtered_range_pages_the_filtered_list(stocked: Any) -> None:
    client = stocked("dracoon", "nodes", DRACOON_NODES, "id")
    body = client.get(
        NODES,
        params={"filter": "type:eq:room:folder", "sort": "name:asc", "limit": "2", "offset": "1"},
        headers=BEARER,
    ).json()
    assert body["range"] == {"offset": 1, "limit": 2, "total": 4}
    assert _ids(body, "items", "id") == [1, 2]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"filter": "colour:eq:red"}, "'colour'"),
        ({"filter": "name:like:foo"}, "'like'"),
        ({"filter": "name:cn"}, "FIELD_NAME:OPERATOR:VALUE"),
        ({"sort": "name:upwards"}, "name:upwards"),
        ({"sort": "colour:asc"}, "colour:asc"),
    ],
)
def test_dracoon_bad_expressions_get_its_error_shape(
    stocked: Any, query: dict[str, str], fragment: str
) -> None:
    client = stocked("dracoon", "nodes", DRACOON_NODES, "id")
    response = client.get(NODES, params=query, headers=BEARER)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "message", "debugInfo", "errorCode"}
    assert body["code"] == 400 and body["errorCode"] < 0
    assert fragment in body["debugInfo"]


# -- DigitalNZ: and[category][]=, or[...], without[...] -------------------------------------

RECORDS = "/records.json"


def _record(n: int, categories: list[str], usage: list[str], creator: list[str]) -> dict:
    return {
        "id": n,
        "title": f"record {n}",
        "category": categories,
        "usage": usage,
        "creator": creator,
    }


DIGITALNZ_RECORDS = [
    _record(1, ["Images"], ["Share"], ["Rita Angus"]),
    _record(2, ["Images", "Articles"], ["Unknown"], ["Nicholas Chevalier"]),
    _record(3, ["Books"], ["Share", "Modify"], ["Revelle Jackson"]),
    _record(4, ["Articles"], ["Share"], ["Rita Angus"]),
]


def _records(client: TwinClient, query: list[tuple[str, str]]) -> Any:
    return client.get(RECORDS, params=[("api_key", "key"), *query])


def test_digitalnz_bracketed_filters(stocked: Any) -> None:
    client = stocked("digitalnz", "records", DIGITALNZ_RECORDS, "id")
    both = _records(client, [("and[category][]", "Images"), ("and[category][]", "Articles")])
    assert both.status_code == 200
    assert _ids(both.json(), "records", "id") == [2]  # every and[] value must hold
    either = _records(client, [("or[category][]", "Books"), ("or[category][]", "Articles")])
    assert _ids(either.json(), "records", "id") == [2, 3, 4]
    excluded = _records(client, [("and[usage][]", "Share"), ("without[creator][]", "Rita*")])
    assert _ids(excluded.json(), "records", "id") == [3]  # trailing * matches a prefix
    nested_or = _records(
        client, [("and[or][creator][]", "rita angus"), ("and[or][creator][]", "x")]
    )
    assert _ids(nested_or.json(), "records", "id") == [1, 4]


def test_digitalnz_unknown_field_is_its_field_error(stocked: Any) -> None:
    client = stocked("digitalnz", "records", DIGITALNZ_RECORDS, "id")
    response = _records(client, [("and[colour][]", "red")])
    assert response.status_code == 400
    assert "No field configured for Record with name colour" in response.text


# -- Nookipedia: repeated parameters, every value must hold --------------------------------

VILLAGERS = "/villagers"
NOOK = {"X-API-KEY": "0d4a8e0c-6f6e-4a47-9e4b-2a3e5e6f7a8b"}


def _villager(name: str, species: str, games: list[str], month: str) -> dict:
    return {"name": name, "species": species, "appearances": games, "birthday_month": month}


VILLAGER_ITEMS = [
    _villager("Ribbot", "Frog", ["NH", "PC", "WW"], "February"),
    _villager("Bob", "Cat", ["NH", "WW"], "January"),
    _villager("Tangy", "Cat", ["PC", "NL"], "June"),
    _villager("Raymond", "Cat", ["NH", "PC"], "October"),
]


def test_nookipedia_repeated_game_means_all_of_them(stocked: Any) -> None:
    client = stocked("nookipedia", "villagers", VILLAGER_ITEMS, "name")
    body = client.get(VILLAGERS, params=[("game", "NH"), ("game", "PC")], headers=NOOK).json()
    assert [v["name"] for v in body] == ["Ribbot", "Raymond"]
    cats = client.get(VILLAGERS, params=[("species", "cat"), ("game", "NH")], headers=NOOK)
    assert [v["name"] for v in cats.json()] == ["Bob", "Raymond"]  # species case-insensitive
    for month in ("jan", "January", "1", "01"):
        born = client.get(VILLAGERS, params={"birthmonth": month}, headers=NOOK).json()
        assert [v["name"] for v in born] == ["Bob"]


def test_nookipedia_unreadable_month_is_refused_in_its_shape(stocked: Any) -> None:
    client = stocked("nookipedia", "villagers", VILLAGER_ITEMS, "name")
    response = client.get(VILLAGERS, params={"birthmonth": "smarch"}, headers=NOOK)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"title", "details"}
    assert "smarch" in body["details"]


def test_lists_without_a_filter_keep_every_item_in_order(stocked: Any) -> None:
    client = stocked("dracoon", "nodes", DRACOON_NODES, "id")
    body = client.get(NODES, headers=BEARER).json()
    assert _ids(body, "items", "id") == [1, 2, 3, 4, 5]


# -- dnd5e: level=1,2 or level=1&level=2, school, challenge_rating ------------------------


def _spell(index: str, level: int, school: str) -> dict:
    return {
        "index": index,
        "name": index.title(),
        "url": f"/api/spells/{index}",
        "level": level,
        "school": {"index": school.lower(), "name": school, "url": f"/api/magic-schools/{school}"},
    }


SPELLS = [
    _spell("fire-bolt", 0, "Evocation"),
    _spell("magic-missile", 1, "Evocation"),
    _spell("shield", 1, "Abjuration"),
    _spell("misty-step", 2, "Conjuration"),
]


def test_dnd5e_spells_filter_by_levels_and_school(stocked: Any) -> None:
    client = stocked("dnd5e", "spells", SPELLS, "index")
    listed = client.get("/api/spells", params=[("level", "1"), ("level", "2")]).json()
    assert [r["index"] for r in listed["results"]] == ["magic-missile", "shield", "misty-step"]
    assert listed["count"] == 3
    assert set(listed["results"][0]) == {"index", "name", "url"}  # APIReferences
    zero = client.get("/api/spells", params=[("level", "0"), ("level", "2")]).json()
    assert [r["index"] for r in zero["results"]] == ["fire-bolt", "misty-step"]
    school = client.get("/api/spells", params={"school": "evocation", "level": "1"}).json()
    assert [r["index"] for r in school["results"]] == ["magic-missile"]
