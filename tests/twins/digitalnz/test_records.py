"""DigitalNZ's records over HTTP: the search lists a seeded set, the record get and
more_like_this find exactly those records, and any other id is the documented 404."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest

from apitwin.behaviours.digitalnz import seed_records
from tests.conventions.conftest import TwinClient

Open = Callable[..., TwinClient]
KEY = {"api_key": "key"}


def _search(client: TwinClient, **params: Any) -> dict[str, Any]:
    response = client.get("/records.json", params={**KEY, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _every_record(client: TwinClient) -> list[dict[str, Any]]:
    first = _search(client, per_page=100)
    assert first["result_count"] == len(first["records"])
    return list(first["records"])


def test_a_listed_record_is_found_by_id_with_the_same_content(twin: Open) -> None:
    client = twin("digitalnz")
    records = _every_record(client)
    assert len(records) == 40 and len({r["id"] for r in records}) == 40
    for listed in records[:3] + records[-3:]:
        found = client.get(f"/records/{listed['id']}.json", params=KEY)
        assert found.status_code == 200
        assert found.json() == listed
    # pages of the search are slices of the same set, and say which page they are
    second = _search(client, page=2, per_page=15)
    assert (second["page"], second["per_page"], second["result_count"]) == (2, 15, 40)
    assert second["records"] == records[15:30]
    past = _search(client, page=2**70)  # past any integer type: an empty page
    assert past["records"] == [] and past["result_count"] == 40


def test_the_set_is_plausible_and_fixed_per_seed(twin: Open) -> None:
    client = twin("digitalnz", seed=2)
    runtime = client.app.twin.semantics.runtimes["records"]
    records = seed_records(2)
    assert records == seed_records(2) and records != seed_records(3)
    assert all(runtime.item_validator.is_valid(r) for r in records)
    assert _every_record(client) == records  # the search lists the seed's set
    # the document's example record and path examples are among them
    assert records[0]["title"] == "Election night crowd, Wellington, 1931"
    assert [r["id"] for r in records[:3]] == [1788754, 189089, 35806021]


@pytest.mark.parametrize("suffix", ["json", "xml"])
def test_an_unknown_id_is_the_documented_404(twin: Open, suffix: str) -> None:
    client = twin("digitalnz")
    listed = {r["id"] for r in _every_record(client)}
    unknown = 23 if 23 not in listed else 24
    for path in (f"/records/{unknown}.{suffix}", f"/records/{unknown}/more_like_this.{suffix}"):
        response = client.get(path, params=KEY)
        assert response.status_code == 404, path
        root = ET.fromstring(response.content)
        assert root.tag == "hash"
        assert root.findtext("errors") == f"Record with ID {unknown} was not found"


def test_more_like_this_answers_records_of_the_same_set(twin: Open) -> None:
    client = twin("digitalnz")
    records = {r["id"]: r for r in _every_record(client)}
    response = client.get("/records/1788754/more_like_this.json", params=KEY)
    assert response.status_code == 200
    body = response.json()
    assert 0 < len(body["records"]) <= body["per_page"]
    assert body["result_count"] >= len(body["records"])
    subjects = set(records[1788754]["subject"])
    title = {w for w in records[1788754]["title"].lower().replace(",", "").split() if len(w) > 3}
    for similar in body["records"]:
        assert similar["id"] != 1788754
        assert records[similar["id"]] == similar  # the same record the search lists
        words = set(similar["title"].lower().replace(",", "").split())
        assert subjects & set(similar["subject"]) or title & words
    # filtered like a search
    images = client.get(
        "/records/1788754/more_like_this.json",
        params={**KEY, "and[category][]": "Newspapers"},
    ).json()
    assert all(r["category"] == ["Newspapers"] for r in images["records"])


def test_fields_choose_what_search_record_and_more_like_this_answer(twin: Open) -> None:
    client = twin("digitalnz")
    listed = _search(client, fields="id,title,subject")["records"]
    assert listed and all(set(r) == {"id", "title", "subject"} for r in listed)
    record = client.get(f"/records/{listed[0]['id']}.json", params={**KEY, "fields": "title"})
    assert record.json() == {"title": listed[0]["title"]}
    alike = client.get(
        f"/records/{listed[0]['id']}/more_like_this.json", params={**KEY, "fields": "id"}
    ).json()
    assert all(set(r) == {"id"} for r in alike["records"])
    as_xml = client.get(f"/records/{listed[0]['id']}.xml", params={**KEY, "fields": "id,title"})
    root = ET.fromstring(as_xml.content)
    assert [child.tag for child in root] == ["id", "title"]
    for path in ("/records.json", f"/records/{listed[0]['id']}.json"):
        refused = client.get(path, params={**KEY, "fields": "title,colour"})
        assert refused.status_code == 400
        assert ET.fromstring(refused.content).findtext("errors") == (
            "No field configured for Record with name colour"
        )


def test_text_facets_and_request_url_describe_the_search(twin: Open) -> None:
    client = twin("digitalnz")
    records = _every_record(client)
    crowd = [r for r in records if "crowd" in r["title"].lower().replace(",", "").split()]
    found = _search(client, text="Crowd", facets="category,year")
    assert [r["id"] for r in found["records"]] == [r["id"] for r in crowd]
    assert sum(found["facets"]["category"].values()) == len(crowd)
    years = {r["date"][0][:4] for r in crowd}
    assert set(found["facets"]["year"]) == years
    assert found["request_url"].endswith("/records.json?text=Crowd&facets=category%2Cyear")
    without = _search(client, text="crowd -election")
    assert all("election" not in r["title"].lower() for r in without["records"])
    assert _search(client)["facets"] == {}
