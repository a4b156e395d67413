"""eBay Browse and Deal checklist items not covered by the pagination, filter and auth tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conventions.conftest import BEARER, TwinClient

US = {"X-EBAY-C-MARKETPLACE-ID": "EBAY_US"}


@pytest.fixture
def deal() -> Iterator[TwinClient]:
    client = TwinClient("ebay-deal")
    yield client
    client.close()


def test_deal_refuses_a_request_without_the_marketplace_header(deal: TwinClient) -> None:
    response = deal.get("/buy/deal/v1/event", headers=BEARER)
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["domain"] == "API_DEAL"
    assert "X-EBAY-C-MARKETPLACE-ID" in error["message"]


def test_deal_event_by_id_and_unknown_event(deal: TwinClient) -> None:
    events = deal.get("/buy/deal/v1/event", headers={**BEARER, **US}).json()["events"]
    first = events[0]
    found = deal.get(f"/buy/deal/v1/event/{first['eventId']}", headers={**BEARER, **US})
    assert found.status_code == 200 and found.json() == first
    missing = deal.get("/buy/deal/v1/event/no-such-event", headers={**BEARER, **US})
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["errorId"] == 150001


def test_browse_unknown_item_is_11001() -> None:
    client = TwinClient("ebay-browse")
    try:
        response = client.get("/buy/browse/v1/item/v1%7C999%7C0", headers=BEARER)
    finally:
        client.close()
    assert response.status_code == 404
    (error,) = response.json()["errors"]
    assert (error["errorId"], error["domain"]) == (11001, "API_BROWSE")
