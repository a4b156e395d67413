"""The Discourse twin's forum over raw HTTP: topics made of posts, the latest list and its
next-page URL (without .json, as the service sends it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conventions.conftest import TwinClient

HEADERS = {"Api-Key": "key", "Api-Username": "alice", "Accept": "application/json"}


@pytest.fixture
def client() -> Iterator[TwinClient]:
    forum = TwinClient("discourse", empty=True)
    yield forum
    forum.close()


def _topic(client: TwinClient, number: int) -> dict:
    response = client.post(
        "/posts.json",
        json={
            "title": f"Topic number {number:03d} of the test",
            "raw": f"The body of topic number {number}.",
        },
        headers=HEADERS,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_latest_pages_newest_first_and_its_next_url_works_without_suffix(
    client: TwinClient,
) -> None:
    for number in range(31):
        _topic(client, number)
    first = client.get("/latest.json", headers=HEADERS).json()["topic_list"]
    assert len(first["topics"]) == 30
    assert first["topics"][0]["title"] == "Topic number 030 of the test"
    assert first["more_topics_url"] == "/latest?page=1"
    second = client.get(first["more_topics_url"], headers=HEADERS).json()["topic_list"]
    assert [t["title"] for t in second["topics"]] == ["Topic number 000 of the test"]
    assert "more_topics_url" not in second


def test_topic_shows_its_posts_and_the_acting_user(client: TwinClient) -> None:
    first = _topic(client, 1)
    reply = client.post(
        "/posts.json",
        json={
            "topic_id": first["topic_id"],
            "raw": "A reply long enough to pass.",
        },
        headers={**HEADERS, "Api-Username": "bob"},
    )
    assert reply.status_code == 200, reply.text
    topic = client.get(f"/t/{first['topic_id']}.json", headers=HEADERS).json()
    assert topic["title"] == "Topic number 001 of the test"
    assert topic["posts_count"] == 2
    assert topic["post_stream"]["stream"] == [first["id"], reply.json()["id"]]
    assert [p["username"] for p in topic["post_stream"]["posts"]] == ["alice", "bob"]
    assert [u["username"] for u in topic["details"]["participants"]] == ["alice", "bob"]


def test_refused_post_uses_the_service_error_shape(client: TwinClient) -> None:
    response = client.post("/posts.json", json={"title": "short", "raw": "x" * 30}, headers=HEADERS)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json()["errors"] == ["Title is too short (minimum is 15 characters)"]
    assert client.get("/latest.json", headers=HEADERS).json()["topic_list"]["topics"] == []


def test_deleting_a_reply_keeps_the_topic_and_the_first_post_takes_it(
    client: TwinClient,
) -> None:
    first = _topic(client, 1)
    reply = client.post(
        "/posts.json",
        json={"topic_id": first["topic_id"], "raw": "A reply long enough to pass."},
        headers=HEADERS,
    ).json()
    assert (
        client.request("DELETE", f"/posts/{reply['id']}.json", headers=HEADERS).status_code == 200
    )
    assert client.get(f"/posts/{reply['id']}.json", headers=HEADERS).status_code == 404
    topic = client.get(f"/t/{first['topic_id']}.json", headers=HEADERS).json()
    assert topic["posts_count"] == 1
    assert topic["post_stream"]["stream"] == [first["id"]]
    assert client.request("DELETE", f"/posts/{first['id']}", headers=HEADERS).status_code == 200
    assert client.get(f"/t/{first['topic_id']}.json", headers=HEADERS).status_code == 404


def test_topic_of_the_dash_slug_is_the_topic(client: TwinClient) -> None:
    # /t/-/{id}.json is documented for PUT only; Discourse shows the topic there (slug "-")
    first = _topic(client, 1)
    for path in (f"/t/-/{first['topic_id']}.json", f"/t/-/{first['topic_id']}"):
        shown = client.get(path, headers=HEADERS)
        assert shown.status_code == 200, shown.text
        assert shown.json()["title"] == "Topic number 001 of the test"
    missing = client.get(f"/t/-/{first['topic_id'] + 1}.json", headers=HEADERS)
    assert missing.status_code == 404
    assert missing.json()["error_type"] == "not_found"
    # the documented PUT still reaches its operation
    update = client.request(
        "PUT",
        f"/t/-/{first['topic_id']}.json",
        json={"topic": {"title": "A new title for the topic"}},
        headers=HEADERS,
    )
    assert update.status_code == 200, update.text


def test_reply_to_a_closed_topic_is_refused_but_for_an_admin(client: TwinClient) -> None:
    first = _topic(client, 1)
    closed = client.request(
        "PUT",
        f"/t/{first['topic_id']}/status.json",
        json={"status": "closed", "enabled": "true"},
        headers=HEADERS,
    )
    assert closed.json() == {"success": "OK", "topic_status_update": None}
    assert client.get(f"/t/{first['topic_id']}.json", headers=HEADERS).json()["closed"] is True
    reply = {"topic_id": first["topic_id"], "raw": "A reply long enough to pass."}
    refused = client.post("/posts.json", json=reply, headers={**HEADERS, "Api-Username": "bob"})
    # PostCreator: the topic is not one bob may post in; a validation error, no error_type
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/json; charset=utf-8"
    assert refused.json() == {"errors": ["Topic not found"]}
    assert client.get(f"/t/{first['topic_id']}.json", headers=HEADERS).json()["posts_count"] == 1
    # an admin (system is one in every Discourse) still posts in a closed topic
    kept = client.post("/posts.json", json=reply, headers={**HEADERS, "Api-Username": "system"})
    assert kept.status_code == 200, kept.text
    assert client.get(f"/t/{first['topic_id']}.json", headers=HEADERS).json()["posts_count"] == 2
    # opened again, it takes bob's reply
    client.request(
        "PUT",
        f"/t/{first['topic_id']}/status",
        data={"status": "closed", "enabled": "false"},
        headers=HEADERS,
    )
    again = client.post("/posts.json", json=reply, headers={**HEADERS, "Api-Username": "bob"})
    assert again.status_code == 200, again.text


def test_status_of_a_topic_that_does_not_exist_is_invalid_access(client: TwinClient) -> None:
    # TopicsController#status asks the guardian about a nil topic: 403, not 404
    refused = client.request(
        "PUT", "/t/404/status.json", json={"status": "closed", "enabled": "true"}, headers=HEADERS
    )
    assert refused.status_code == 403
    assert refused.json()["error_type"] == "invalid_access"


def test_validation_refusals_carry_no_error_type(client: TwinClient) -> None:
    """render_json_error without a type: 422 {"errors": [...]} alone."""
    first = _topic(client, 1)
    refusals = [
        client.post("/posts.json", json={"title": "short", "raw": "x" * 30}, headers=HEADERS),
        client.request(
            "PUT", f"/posts/{first['id']}.json", json={"post": {"raw": "x"}}, headers=HEADERS
        ),
        client.post("/categories.json", json={"name": " "}, headers=HEADERS),
    ]
    for refused in refusals:
        assert refused.status_code == 422
        assert list(refused.json()) == ["errors"]
