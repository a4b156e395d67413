"""pydiscourse, Discourse's Python client, against the Discourse twin on a loopback port:
a forum session from category to deleted topic, as a user of the client writes it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydiscourse import DiscourseClient
from pydiscourse.exceptions import DiscourseClientError

from tests.conftest import ServedTwin, start_twin, stop_twin

API_KEY = "a" * 64


@pytest.fixture
def served() -> Iterator[ServedTwin]:
    twin = start_twin("discourse", "--empty")
    yield twin
    stop_twin(twin)


@pytest.fixture
def client(served: ServedTwin) -> DiscourseClient:
    return DiscourseClient(served.base_url.rstrip("/"), api_username="system", api_key=API_KEY)


def test_a_forum_session_from_category_to_deleted_topic(client: DiscourseClient) -> None:
    category = client.create_category("Twin testing", "49d9e9")["category"]
    assert category["name"] == "Twin testing" and category["slug"] == "twin-testing"
    assert [c["name"] for c in client.categories()] == ["Twin testing"]

    first = client.create_post(
        "The first post of this topic, long enough to pass.",
        category_id=category["id"],
        title="A topic started through pydiscourse",
    )
    assert first["post_number"] == 1 and first["username"] == "system"
    topic_id = first["topic_id"]
    reply = client.create_post("A reply, long enough to be accepted.", topic_id=topic_id)
    assert (reply["topic_id"], reply["post_number"]) == (topic_id, 2)

    # read: the topic's posts in order, one post by id, the latest list, the category
    posts = client.topic_posts(topic_id)["post_stream"]["posts"]
    assert [p["id"] for p in posts] == [first["id"], reply["id"]]
    assert client.post_by_id(reply["id"])["raw"] == "A reply, long enough to be accepted."
    (listed,) = client.latest_topics()["topic_list"]["topics"]
    assert (listed["id"], listed["title"], listed["posts_count"]) == (
        topic_id,
        "A topic started through pydiscourse",
        2,
    )
    shown = client.category(category["id"])["category"]
    assert (shown["topic_count"], shown["post_count"]) == (1, 2)

    edited = client.update_post(reply["id"], "An edited reply that mentions a kiwi.", "typo")
    assert edited["post"]["raw"] == "An edited reply that mentions a kiwi."
    assert edited["post"]["version"] == 2
    assert (
        client.post_by_id(reply["id"])["cooked"] == "<p>An edited reply that mentions a kiwi.</p>"
    )

    found = client.search("kiwi")
    assert [p["id"] for p in found["posts"]] == [reply["id"]]
    assert found["grouped_search_result"]["post_ids"] == [reply["id"]]
    assert [t["id"] for t in found["topics"]] == [topic_id]
    assert client.search("pineapple")["posts"] == []

    assert client.delete_topic(topic_id) is None  # 200 with an empty body
    assert client.latest_topics()["topic_list"]["topics"] == []
    assert client.search("kiwi")["posts"] == []
    with pytest.raises(DiscourseClientError) as gone:
        client.post_by_id(reply["id"])
    assert gone.value.response.status_code == 404


def test_refused_topic_names_the_rule_and_creates_nothing(client: DiscourseClient) -> None:
    with pytest.raises(DiscourseClientError, match=r"Title is too short \(minimum is 15"):
        client.create_post("A body that is long enough to pass.", title="Too short")
    with pytest.raises(DiscourseClientError, match=r"Body is too short \(minimum is 20"):
        client.create_post("tiny", title="A title that is long enough")
    assert client.latest_topics()["topic_list"]["topics"] == []


def test_reply_to_a_missing_topic_is_refused_as_topic_not_found(client: DiscourseClient) -> None:
    # PostCreator's validation, not a 404: 422 {"errors": [...]}, without an error_type
    with pytest.raises(DiscourseClientError, match="^Topic not found$") as missing:
        client.create_post("A reply to nothing at all, long enough.", topic_id=404)
    assert missing.value.response.status_code == 422
    assert missing.value.response.json() == {"errors": ["Topic not found"]}


def test_duplicate_category_name_is_refused(client: DiscourseClient) -> None:
    client.create_category("Announcements", "0088CC")
    with pytest.raises(DiscourseClientError, match="already been taken"):
        client.create_category("announcements", "0088CC")
    assert len(client.categories()) == 1


def test_reply_to_a_post_of_a_tagged_topic_read_by_slug(client: DiscourseClient) -> None:
    first = client.create_post(
        "A tagged topic, with a body long enough.",
        title="Release notes for the next version",
        tags=["Release Notes", "python", "release-notes"],
    )
    topic_id = first["topic_id"]
    reply = client.create_post(
        "A reply to the first post, long enough.", topic_id=topic_id, reply_to_post_number=1
    )
    assert reply["reply_to_post_number"] == 1

    topic = client.topic(first["topic_slug"], topic_id)
    assert (topic["id"], topic["slug"]) == (topic_id, "release-notes-for-the-next-version")
    assert topic["tags"] == ["release-notes", "python"]  # as the service cleans them
    posts = {p["post_number"]: p for p in topic["post_stream"]["posts"]}
    assert (posts[1]["reply_count"], posts[2]["reply_to_post_number"]) == (1, 1)
    assert client.topic("another-slug", topic_id)["title"] == topic["title"]
    (listed,) = client.latest_topics()["topic_list"]["topics"]
    assert listed["tags"] == ["release-notes", "python"]

    with pytest.raises(DiscourseClientError) as missing:
        client.topic(first["topic_slug"], topic_id + 100)
    assert missing.value.response.status_code == 404
    assert missing.value.response.json()["error_type"] == "not_found"


def test_deleting_a_category_takes_it_off_the_list(client: DiscourseClient) -> None:
    kept = client.create_category("Kept", "0088CC")["category"]
    gone = client.create_category("Short lived", "49d9e9")["category"]
    assert client.delete_category(gone["id"]) == {"success": "OK"}
    assert [c["name"] for c in client.categories()] == ["Kept"]
    with pytest.raises(DiscourseClientError) as shown:
        client.category(gone["id"])
    assert shown.value.response.status_code == 404

    with pytest.raises(DiscourseClientError) as unknown:
        client.delete_category(gone["id"])
    assert unknown.value.response.status_code == 404
    assert unknown.value.response.json()["error_type"] == "not_found"
    with pytest.raises(DiscourseClientError) as unknown_slug:
        client.delete_category(gone["slug"])
    assert unknown_slug.value.response.status_code == 404

    # the service deletes only a category without topics
    client.create_post(
        "A topic that keeps its category alive.",
        category_id=kept["id"],
        title="A topic in the kept category",
    )
    with pytest.raises(DiscourseClientError, match="not permitted") as refused:
        client.delete_category(kept["id"])
    assert refused.value.response.status_code == 403
    assert [c["name"] for c in client.categories()] == ["Kept"]


def test_a_category_is_deleted_by_its_slug_or_its_id(client: DiscourseClient) -> None:
    by_slug = client.create_category("Release notes", "0088CC")["category"]
    by_id = client.create_category("Support desk", "49d9e9")["category"]
    kept = client.create_category("General talk", "49d9e9")["category"]
    assert by_slug["slug"] == "release-notes"
    assert client.delete_category("release-notes") == {"success": "OK"}
    assert client.delete_category(by_id["id"]) == {"success": "OK"}
    assert [c["name"] for c in client.categories()] == ["General talk"]
    # the slug of a category that is gone names nothing, and another's slug is its own
    with pytest.raises(DiscourseClientError) as gone:
        client.delete_category("release-notes")
    assert gone.value.response.status_code == 404
    assert gone.value.response.json()["error_type"] == "not_found"
    assert client.category(kept["id"])["category"]["slug"] == "general-talk"
