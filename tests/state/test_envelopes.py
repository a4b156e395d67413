"""Envelopes around stored resources, and wrapped request bodies."""

from __future__ import annotations

from typing import Any

import pytest

from apitwin.state.envelopes import (
    item_wrapper,
    list_wrapper,
    unwrap_request,
    wrap_item,
    wrap_list,
)
from apitwin.state.inference import Envelope

KEYED = Envelope("droplet", "/r/schema", "/c/droplet")
LIST_KEYED = Envelope("droplets", "/r/schema", "/c/droplet")
BARE = Envelope(None, "/r/schema", "/r/schema")
DROPLET = {"id": 7, "name": "web"}


def test_item_goes_under_its_key_next_to_the_base_fields() -> None:
    base = {"droplet": {"id": 1, "name": "synthesized"}, "links": {"actions": []}}
    body = wrap_item(KEYED, DROPLET, base)
    assert body == {"droplet": DROPLET, "links": {"actions": []}}
    # The base is shared by every answer of the operation: it must stay as it was.
    assert base["droplet"] == {"id": 1, "name": "synthesized"}


def test_list_goes_under_its_key_and_keeps_meta_and_links() -> None:
    base = {"droplets": [], "links": {"pages": {}}, "meta": {"total": 2}}
    body = wrap_list(LIST_KEYED, [DROPLET, DROPLET], base)
    assert body == {"droplets": [DROPLET, DROPLET], "links": {"pages": {}}, "meta": {"total": 2}}
    assert base["droplets"] == []


@pytest.mark.parametrize("envelope", [BARE, None])
def test_bare_envelopes_return_the_value_itself(envelope: Envelope | None) -> None:
    assert wrap_item(envelope, DROPLET, {"ignored": True}) is DROPLET
    items = [DROPLET]
    assert wrap_list(envelope, items, {"ignored": True}) is items


def test_without_a_base_only_the_key_is_written() -> None:
    assert wrap_item(KEYED, DROPLET) == {"droplet": DROPLET}
    assert wrap_list(LIST_KEYED, []) == {"droplets": []}


def test_compiled_wrappers_agree_with_the_functions() -> None:
    base = {"links": {}, "droplet": None}
    for envelope in (KEYED, BARE, None):
        assert item_wrapper(envelope)(DROPLET, base) == wrap_item(envelope, DROPLET, base)
        assert list_wrapper(envelope)([DROPLET], base) == wrap_list(envelope, [DROPLET], base)
    assert item_wrapper(KEYED)(DROPLET) == {"droplet": DROPLET}


@pytest.mark.parametrize(
    ("body", "key", "expected"),
    [
        ({"post": {"raw": "hello"}}, "post", {"raw": "hello"}),
        ({"raw": "hello"}, "post", {"raw": "hello"}),  # sent unwrapped: taken as is
        ({"post": "not an object"}, "post", {"post": "not an object"}),
        ({"post": {"raw": "x"}}, None, {"post": {"raw": "x"}}),
        ([1, 2], "post", [1, 2]),
        (None, "post", None),
    ],
)
def test_unwrap_request(body: Any, key: str | None, expected: Any) -> None:
    assert unwrap_request(body, key) == expected
