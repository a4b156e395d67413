"""Path suffixes over HTTP: DigitalNZ's ``.{format}`` and Discourse's optional ``.json``."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from tests.conventions.conftest import TwinClient

Open = Callable[..., TwinClient]

DISCOURSE = {"Api-Key": "key", "Api-Username": "system"}
JSON_UTF8 = "application/json; charset=utf-8"


# -- DigitalNZ: /records.{format}, json or xml --------------------------------------------


def test_digitalnz_json_and_xml_suffixes_carry_the_same_answer(twin: Open) -> None:
    client = twin("digitalnz")
    as_json = client.get("/records.json?api_key=key&text=kiwi")
    as_xml = client.get("/records.xml?api_key=key&text=kiwi")
    assert as_json.status_code == as_xml.status_code == 200
    assert as_json.headers["content-type"].startswith("application/json")
    assert as_xml.headers["content-type"] == "application/xml; charset=utf-8"
    body = as_json.json()
    root = ET.fromstring(as_xml.content)
    assert root.tag == "hash"
    # Rails' to_xml: dashed names, typed scalars, arrays of singular elements
    per_page = root.find("per-page")
    assert per_page is not None and per_page.get("type") == "integer"
    assert int(per_page.text or "") == body["per_page"]
    records = root.find("records")
    assert records is not None and records.get("type") == "array"
    assert len(records.findall("record")) == len(body["records"])
    first = records.find("record")
    assert first is not None
    assert first.findtext("description") == body["records"][0]["description"]


def test_digitalnz_record_in_xml(twin: Open) -> None:
    client = twin("digitalnz")
    record = client.get("/records/23.json?api_key=key").json()
    root = ET.fromstring(client.get("/records/23.xml?api_key=key").content)
    categories = root.find("category")
    assert categories is not None and categories.get("type") == "array"
    assert [c.text for c in categories.findall("category")] == record["category"]


def test_digitalnz_errors_stay_in_the_documented_xml(twin: Open) -> None:
    client = twin("digitalnz")
    for suffix in ("json", "xml"):
        response = client.get(f"/records/abc.{suffix}?api_key=key")
        assert response.status_code == 400
        assert ET.fromstring(response.content).tag == "hash"
