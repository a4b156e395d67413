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
    listed = client.get("/records.json?api_key=key").json()["records"][0]["id"]
    record = client.get(f"/records/{listed}.json?api_key=key").json()
    root = ET.fromstring(client.get(f"/records/{listed}.xml?api_key=key").content)
    categories = root.find("category")
    assert categories is not None and categories.get("type") == "array"
    assert [c.text for c in categories.findall("category")] == record["category"]


def test_digitalnz_errors_stay_in_the_documented_xml(twin: Open) -> None:
    client = twin("digitalnz")
    for suffix in ("json", "xml"):
        response = client.get(f"/records/abc.{suffix}?api_key=key")
        assert response.status_code == 400
        assert ET.fromstring(response.content).tag == "hash"


# -- Discourse: /path and /path.json alike, JSON with its exact content type ---------------


def _topic(client: TwinClient) -> int:
    created = client.post(
        "/posts",  # pydiscourse posts without .json, as a form
        data={"title": "A topic long enough to pass", "raw": "A body long enough to pass."},
        headers=DISCOURSE,
    )
    assert created.status_code == 200, created.text
    return int(created.json()["topic_id"])


def test_discourse_answers_with_and_without_json_suffix(twin: Open) -> None:
    client = twin("discourse", empty=True)
    topic = _topic(client)
    for plain, suffixed in [("/latest", "/latest.json"), (f"/t/{topic}", f"/t/{topic}.json")]:
        bare = client.get(plain, headers={**DISCOURSE, "Accept": "application/json"})
        with_suffix = client.get(suffixed, headers=DISCOURSE)
        assert bare.status_code == with_suffix.status_code == 200
        assert bare.headers["content-type"] == with_suffix.headers["content-type"] == JSON_UTF8
        assert (
            bare.json()["id" if "/t/" in plain else "topic_list"]
            == (with_suffix.json()["id" if "/t/" in plain else "topic_list"])
        )
    head = client.request("HEAD", "/latest", headers=DISCOURSE)
    assert head.status_code == 200 and head.content == b""


def test_discourse_plain_path_for_a_client_that_wants_html_is_refused(twin: Open) -> None:
    client = twin("discourse", empty=True)
    refused = client.get("/latest", headers={**DISCOURSE, "Accept": "text/html"})
    assert refused.status_code == 406
    assert refused.headers["content-type"] == JSON_UTF8
    assert refused.json()["errors"]
    # the suffix decides on its own
    assert (
        client.get("/latest.json", headers={**DISCOURSE, "Accept": "text/html"}).status_code == 200
    )


def test_discourse_errors_carry_the_exact_content_type(twin: Open) -> None:
    client = twin("discourse", empty=True)
    for path in ("/t/999.json", "/t/999"):
        missing = client.get(path, headers=DISCOURSE)
        assert missing.status_code == 404
        assert missing.headers["content-type"] == JSON_UTF8
        assert set(missing.json()) == {"errors", "error_type"}


def test_discourse_delete_without_suffix(twin: Open) -> None:
    client = twin("discourse", empty=True)
    topic = _topic(client)
    assert client.request("DELETE", f"/t/{topic}", headers=DISCOURSE).status_code == 200
    assert client.get(f"/t/{topic}.json", headers=DISCOURSE).status_code == 404


def test_discourse_category_paths_do_not_shadow_each_other(twin: Open) -> None:
    client = twin("discourse", empty=True)
    created = client.post(
        "/categories", data={"name": "Help", "color": "FF0000"}, headers=DISCOURSE
    )
    assert created.status_code == 200, created.text
    number = created.json()["category"]["id"]
    for path in (f"/c/{number}/show", f"/c/{number}/show.json"):
        shown = client.get(path, headers=DISCOURSE)
        assert shown.status_code == 200, (path, shown.text)
        assert shown.json()["category"]["name"] == "Help"
