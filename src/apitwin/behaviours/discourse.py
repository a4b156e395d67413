"""Discourse's forum: categories, topics made of posts, the latest list and search.

The document names the operations but cannot say how they hang together: a topic is
created by ``POST /posts.json`` with a ``title`` (a reply by the same call with a
``topic_id``), ``/t/{id}.json`` shows its posts in a ``post_stream``, ``/latest.json``
lists topics by last activity, and ``/search.json`` finds posts by their words. What
the service checks on a new topic (title at least 15 characters, body at least 20) is
checked here too, with its messages.

Answers are built on the document's own example or synthesized value for each operation
(so every documented field is present), with the fields that carry state filled from
the store. Times come from the twin clock; the acting user is the ``Api-Username``.
"""

from __future__ import annotations

import copy
import html
import re
import zlib
from typing import TYPE_CHECKING, Any

from apitwin.behaviours.base import Behaviour, json_reply, reject
from apitwin.conventions.clock import TwinClock
from apitwin.engine.context import Reply, RequestContext
from apitwin.state.store import Transaction

if TYPE_CHECKING:
    from apitwin.engine.twin import Twin

__all__ = ["install"]

CATEGORIES = "categories"
TOPICS = "t"  # the family the generic semantics use for /t/{id}.json actions
POSTS = "posts"
LATEST_TOPIC = (
    "/paths/~1latest.json/get/responses/200/content/application~1json/schema"
    "/properties/topic_list/properties/topics/items"
)

MIN_TITLE = 15  # Discourse's min_topic_title_length default
MIN_POST = 20  # min_first_post_length default
MIN_REPLY = 20  # min_post_length default
PER_PAGE = 30  # topics per page of /latest.json
MAX_TAG = 20  # max_tag_length default
_LEADING_ID = re.compile(r"\s*[+-]?[0-9]+")
_TAG_STRIPPED = re.compile(r"[/?#\[\]@!$&'()*+,;=.%\\`^|{}\"<>]+")
NOT_FOUND = "The requested URL or resource could not be found."
NOT_PERMITTED = "You are not permitted to view the requested resource."
TOPIC_NOT_FOUND = "Topic not found"  # a reply's refusal: 422, as a failed validation
# Deletes answer 200 with an empty body, as the service's ``render body: nil`` does.
EMPTY_OK = Reply(200, [(b"content-type", b"text/plain; charset=utf-8")])


def install(twin: Twin) -> None:
    if twin.semantics is not None:  # a stateless twin answers from the document alone
        Forum(twin)


def _slug(text: str, default: str = "topic") -> str:
    """The service's ``Slug.for``: a slug of digits alone is refused for ``default``, as it
    could not be told from an id (a category's default is empty)."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug if slug and not slug.isdigit() else default


def _tags(given: Any) -> list[str]:
    """Tag names as the service keeps them (``DiscourseTagging.clean_tag``): lower case,
    spaces as dashes, without the characters it strips, at most 20 characters; once each."""
    names = given if isinstance(given, list) else [] if given is None else [given]
    kept: list[str] = []
    for name in names:
        tag = re.sub(r"\s+", "-", str(name).strip().lower())
        tag = re.sub(r"-+", "-", _TAG_STRIPPED.sub("", tag)).strip("-_.")[:MAX_TAG]
        if tag and tag not in kept:
            kept.append(tag)
    return kept


def _cooked(raw: str) -> str:
    """Markdown-ish rendering: one paragraph per blank-line separated block."""
    blocks = [block.strip() for block in re.split(r"\n\s*\n", raw) if block.strip()]
    return "\n".join(f"<p>{html.escape(block).replace(chr(10), '<br>')}</p>" for block in blocks)


def _user_id(username: str) -> int:
    """``system`` is -1 in every Discourse; other names get a stable positive id."""
    return -1 if username == "system" else 1 + zlib.crc32(username.encode()) % 1_000_000


def _stamp(moment: float) -> str:
    from datetime import UTC, datetime

    text = datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


class Forum(Behaviour):
    def __init__(self, twin: Twin) -> None:
        super().__init__(twin)
        assert twin.semantics is not None and twin.auth is not None
        self.semantics = twin.semantics
        self.clock: TwinClock = twin.auth.clock
        self._templates: dict[str, Any] = {}
        self.bind_all(
            {
                "createCategory": self.create_category,
                "listCategories": self.list_categories,
                "getCategory": self.get_category,
                "updateCategory": self.update_category,
                "deleteCategory": self.delete_category,  # the profile's supplement
                "createTopicPostPM": self.create_post,
                "getPost": self.get_post,
                "updatePost": self.update_post,
                "deletePost": self.delete_post,
                "listPosts": self.list_posts,
                "getTopic": self.get_topic,
                "getTopicBySlug": self.get_topic,  # the supplement's /t/{slug}/{id}.json
                "removeTopic": self.remove_topic,
                "updateTopicStatus": self.topic_status,
                "getSpecificPostsFromTopic": self.topic_posts,
                "listLatestTopics": self.latest,
                "search": self.search,
            }
        )

    # -- helpers -------------------------------------------------------------------------

    def _template(self, operation_id: str) -> Any:
        """The documented answer of an operation, computed once and copied per use."""
        if operation_id not in self._templates:
            value = self.operations[operation_id].responder.base_value()
            self._templates[operation_id] = value if value is not None else {}
        return copy.deepcopy(self._templates[operation_id])

    def _tx(self) -> Any:
        return self.semantics.store.transaction(self.twin.name)

    @staticmethod
    def _username(context: RequestContext) -> str:
        return context.parts.headers.get("api-username") or "system"

    @staticmethod
    def _id(context: RequestContext, name: str = "id") -> str:
        return str(context.params[name])

    @staticmethod
    def _body(context: RequestContext) -> dict[str, Any]:
        body = context.request.body
        return body if isinstance(body, dict) else {}

    def _user(self, username: str) -> dict[str, Any]:
        return {
            "id": _user_id(username),
            "username": username,
            "name": username,
            "avatar_template": f"/letter_avatar_proxy/v4/letter/{username[:1]}/bbce88/{{size}}.png",
        }

    # -- categories ----------------------------------------------------------------------

    def _category_view(self, stored: dict[str, Any]) -> dict[str, Any]:
        view = self._template("createCategory").get("category", {})
        view.update({k: v for k, v in stored.items() if k in view or k in _CATEGORY_FIELDS})
        return view

    def create_category(self, context: RequestContext) -> Reply:
        body = self._body(context)
        name = str(body.get("name") or "").strip()
        if not name:
            raise reject(422, "Name can't be blank")
        with self._tx() as tx:
            taken = any(c["name"].lower() == name.lower() for c in tx.list(CATEGORIES).items)
            if taken:
                raise reject(422, "Category Name has already been taken")
            parent = body.get("parent_category_id")
            if parent is not None and tx.get(CATEGORIES, str(parent)) is None:
                raise reject(422, "Parent category does not exist")
            number = tx.next_id(CATEGORIES)
            stored = {
                "id": number,
                "name": name,
                "slug": _slug(name, ""),
                "color": str(body.get("color") or "0088CC").lstrip("#"),
                "text_color": str(body.get("text_color") or "FFFFFF").lstrip("#"),
                "description": body.get("description"),
                "parent_category_id": parent,
                "position": number,
                "topic_count": 0,
                "post_count": 0,
                "read_restricted": False,
                "permission": 1,
                "topic_url": None,
            }
            tx.put(CATEGORIES, str(number), stored)
        return json_reply({"category": self._category_view(stored)})

    def list_categories(self, context: RequestContext) -> Reply:
        answer = self._template("listCategories")
        with self._tx() as tx:
            stored = tx.list(CATEGORIES).items
        category_list = answer.setdefault("category_list", {})
        item_template = (category_list.get("categories") or [{}])[0]
        items = []
        for category in stored:
            item = copy.deepcopy(item_template)
            item.update({k: v for k, v in category.items() if k in item or k in _CATEGORY_FIELDS})
            items.append(item)
        category_list["categories"] = items
        return json_reply(answer)

    def _category(self, tx: Transaction, context: RequestContext) -> dict[str, Any]:
        """The category a path names by slug or by id, as the service's ``fetch_category``
        looks: a top-level category's slug first, then the id (the path's leading digits,
        Ruby's ``to_i``)."""
        given = self._id(context)
        if not (given.isascii() and given.isdigit()):  # no slug is digits alone (``_slug``)
            for category in tx.list(CATEGORIES).items:
                if category.get("slug") == given and category.get("parent_category_id") is None:
                    given = str(category["id"])
                    break
        digits = _LEADING_ID.match(given)
        stored = tx.get(CATEGORIES, str(int(digits.group())), for_update=True) if digits else None
        if stored is None:
            raise reject(404, NOT_FOUND)
        return stored

    def get_category(self, context: RequestContext) -> Reply:
        with self._tx() as tx:
            stored = self._category(tx, context)
        return json_reply({"category": self._category_view(stored)})

    def update_category(self, context: RequestContext) -> Reply:
        body = self._body(context)
        with self._tx() as tx:
            stored = self._category(tx, context)
            for field in ("name", "color", "text_color", "description", "parent_category_id"):
                if field in body:
                    stored[field] = body[field]
            if "name" in body:
                stored["slug"] = _slug(str(body["name"]), "")
            tx.put(CATEGORIES, str(stored["id"]), stored)
        return json_reply({"success": "OK", "category": self._category_view(stored)})

    def delete_category(self, context: RequestContext) -> Reply:
        """The service deletes only an empty category: none of its topics and no
        subcategory (``can_delete_category?``), else 403 ``invalid_access``."""
        with self._tx() as tx:
            stored = self._category(tx, context)
            children = any(
                c.get("parent_category_id") == stored["id"] for c in tx.list(CATEGORIES).items
            )
            if stored.get("topic_count", 0) > 0 or children:
                raise reject(403, NOT_PERMITTED, code="invalid_access")
            tx.delete(CATEGORIES, str(stored["id"]))
        return json_reply({"success": "OK"})

    # -- posts ---------------------------------------------------------------------------

    def create_post(self, context: RequestContext) -> Reply:
        body = self._body(context)
        raw = str(body.get("raw") or "")
        username = self._username(context)
        topic_id = body.get("topic_id")
        with self._tx() as tx:
            now = _stamp(self.clock.now_in(tx))
            if topic_id is None:
                topic = self._new_topic(tx, body, raw, username, now)
            else:
                topic = tx.get(TOPICS, str(topic_id), for_update=True)
                # PostCreator refuses a topic that is gone and one the user may not post
                # in alike (Guardian#can_create_post_on_topic?: a closed one, but for an
                # admin; ``system`` is one in every Discourse)
                if topic is None or (topic.get("closed") and username != "system"):
                    raise reject(422, TOPIC_NOT_FOUND)
                if len(raw.strip()) < MIN_REPLY:
                    raise reject(422, f"Body is too short (minimum is {MIN_REPLY} characters)")
            post = self._new_post(tx, topic, body, raw, username, now)
            topic["posts_count"] = topic.get("posts_count", 0) + 1
            topic["highest_post_number"] = post["post_number"]
            topic["reply_count"] = topic["posts_count"] - 1
            topic["last_posted_at"] = topic["bumped_at"] = now
            topic["last_poster_username"] = username
            topic["post_ids"] = [*topic.get("post_ids", []), post["id"]]
            topic["word_count"] = topic.get("word_count", 0) + len(raw.split())
            if username not in topic.setdefault("posters", []):
                topic["posters"].append(username)
            tx.put(TOPICS, str(topic["id"]), topic)
            self._count_in_category(tx, topic.get("category_id"), topics=0, posts=1)
        answer = self._template("createTopicPostPM")
        answer.update(post)
        return json_reply(answer)

    def _new_topic(
        self, tx: Transaction, body: dict[str, Any], raw: str, username: str, now: str
    ) -> dict[str, Any]:
        title = str(body.get("title") or "").strip()
        if len(title) < MIN_TITLE:
            raise reject(422, f"Title is too short (minimum is {MIN_TITLE} characters)")
        if len(raw.strip()) < MIN_POST:
            raise reject(422, f"Body is too short (minimum is {MIN_POST} characters)")
        category = body.get("category")
        if category is not None and tx.get(CATEGORIES, str(category)) is None:
            raise reject(422, "Category can't be blank")  # the service's message for an unknown id
        number = tx.next_id(TOPICS)
        topic: dict[str, Any] = {
            "id": number,
            "title": title,
            "fancy_title": html.escape(title),
            "slug": _slug(title),
            "category_id": category,
            "user_id": _user_id(username),
            "created_by": username,
            "created_at": now,
            "archetype": str(body.get("archetype") or "regular"),
            "posts_count": 0,
            "reply_count": 0,
            "highest_post_number": 0,
            "views": 0,
            "like_count": 0,
            "word_count": 0,
            "visible": True,
            "closed": False,
            "archived": False,
            "tags": _tags(body.get("tags")),
            "post_ids": [],
            "posters": [],
        }
        self._count_in_category(tx, category, topics=1, posts=0)
        return topic

    def _new_post(
        self,
        tx: Transaction,
        topic: dict[str, Any],
        body: dict[str, Any],
        raw: str,
        username: str,
        now: str,
    ) -> dict[str, Any]:
        number = tx.next_id(POSTS)
        user = self._user(username)
        replying_to = self._replied(tx, topic, body.get("reply_to_post_number"))
        post = {
            "id": number,
            "name": username,
            "username": username,
            "display_username": username,
            "avatar_template": user["avatar_template"],
            "user_id": user["id"],
            "created_at": now,
            "updated_at": now,
            "raw": raw,
            "cooked": _cooked(raw),
            "post_number": topic.get("highest_post_number", 0) + 1,
            "post_type": 1,
            "reply_count": 0,
            "reply_to_post_number": replying_to,
            "quote_count": 0,
            "reads": 0,
            "readers_count": 0,
            "score": 0,
            "topic_id": topic["id"],
            "topic_slug": topic["slug"],
            "version": 1,
            "edit_reason": None,
            "deleted_at": None,
            "hidden": False,
            "wiki": False,
            "yours": True,
            "can_edit": True,
            "can_delete": True,
            "can_recover": False,
            "user_deleted": False,
        }
        tx.put(POSTS, str(number), post)
        return post

    def _replied(self, tx: Transaction, topic: dict[str, Any], number: Any) -> int | None:
        """The post number a reply answers; the post it names counts one more reply. The
        first post of a new topic has nothing to answer."""
        if not isinstance(number, int) or not topic.get("post_ids"):
            return None
        for post_id in topic["post_ids"]:
            post = tx.get(POSTS, str(post_id), for_update=True)
            if post is not None and post.get("post_number") == number:
                post["reply_count"] = post.get("reply_count", 0) + 1
                tx.put(POSTS, str(post_id), post)
        return number

    def _count_in_category(
        self, tx: Transaction, category: Any, *, topics: int, posts: int
    ) -> None:
        if category is None:
            return
        stored = tx.get(CATEGORIES, str(category), for_update=True)
        if stored is not None:
            stored["topic_count"] = stored.get("topic_count", 0) + topics
            stored["post_count"] = stored.get("post_count", 0) + posts
            tx.put(CATEGORIES, str(category), stored)

    def _post(self, tx: Transaction, post_id: str) -> dict[str, Any]:
        post = tx.get(POSTS, post_id, for_update=True)
        if post is None:
            raise reject(404, NOT_FOUND)
        return post

    def _post_view(self, operation_id: str, post: dict[str, Any]) -> dict[str, Any]:
        view = self._template(operation_id)
        if operation_id == "updatePost":
            inner = view.get("post", {})
            inner.update(post)
            return {"post": inner}
        view.update(post)
        return view

    def get_post(self, context: RequestContext) -> Reply:
        with self._tx() as tx:
            post = self._post(tx, self._id(context))
        return json_reply(self._post_view("getPost", post))

    def update_post(self, context: RequestContext) -> Reply:
        body = self._body(context)
        given = body.get("post")
        change: dict[str, Any] = given if isinstance(given, dict) else {}
        raw = change.get("raw")
        if not isinstance(raw, str) or len(raw.strip()) < MIN_REPLY:
            raise reject(422, f"Body is too short (minimum is {MIN_REPLY} characters)")
        with self._tx() as tx:
            post = self._post(tx, self._id(context))
            post["raw"] = raw
            post["cooked"] = _cooked(raw)
            post["version"] = post.get("version", 1) + 1
            post["edit_reason"] = change.get("edit_reason") or None
            post["updated_at"] = _stamp(self.clock.now_in(tx))
            tx.put(POSTS, str(post["id"]), post)
        return json_reply(self._post_view("updatePost", post))

    def delete_post(self, context: RequestContext) -> Reply:
        with self._tx() as tx:
            post = self._post(tx, self._id(context))
            topic = tx.get(TOPICS, str(post.get("topic_id")), for_update=True)
            if post.get("post_number") == 1 and topic is not None:
                self._delete_topic(tx, str(topic["id"]))  # the first post takes its topic
            else:
                tx.delete(POSTS, str(post["id"]))
                if topic is not None:
                    topic["post_ids"] = [n for n in topic.get("post_ids", []) if n != post["id"]]
                    topic["posts_count"] = max(topic.get("posts_count", 1) - 1, 0)
                    tx.put(TOPICS, str(topic["id"]), topic)
                    self._count_in_category(tx, topic.get("category_id"), topics=0, posts=-1)
        return Reply(EMPTY_OK.status, list(EMPTY_OK.headers))

    def list_posts(self, context: RequestContext) -> Reply:
        before = context.params.get("before")
        with self._tx() as tx:
            posts = tx.list(POSTS).items
        if isinstance(before, int):
            posts = [p for p in posts if p["id"] < before]
        posts.sort(key=lambda p: -p["id"])
        # the list types some fields otherwise than the post (`score`): state/answers.py
        view = self.semantics.answer_for(self.semantics.runtimes[POSTS], "list")
        answer = self._template("listPosts")
        answer["latest_posts"] = [view.apply(p) if view else p for p in posts[:50]]
        return json_reply(answer)

    # -- topics --------------------------------------------------------------------------

    def _topic(self, tx: Transaction, topic_id: str) -> dict[str, Any]:
        topic = tx.get(TOPICS, topic_id, for_update=True)
        if topic is None:
            raise reject(404, NOT_FOUND)
        return topic

    def _topic_posts(self, tx: Transaction, topic: dict[str, Any]) -> list[dict[str, Any]]:
        posts = [tx.get(POSTS, str(number)) for number in topic.get("post_ids", [])]
        return [p for p in posts if p is not None]

    def get_topic(self, context: RequestContext) -> Reply:
        with self._tx() as tx:
            topic = self._topic(tx, self._id(context))
            posts = self._topic_posts(tx, topic)
            topic["views"] = topic.get("views", 0) + 1
            tx.put(TOPICS, str(topic["id"]), topic)
        answer = self._template("getTopic")
        answer.update({k: v for k, v in topic.items() if k in answer})
        stream = answer.setdefault("post_stream", {})
        stream["posts"] = posts
        stream["stream"] = [p["id"] for p in posts]
        details = answer.setdefault("details", {})
        details["created_by"] = self._user(str(topic.get("created_by", "system")))
        details["last_poster"] = self._user(str(topic.get("last_poster_username", "system")))
        details["participants"] = [self._user(name) for name in topic.get("posters", [])]
        answer["suggested_topics"] = []
        return json_reply(answer)

    def topic_posts(self, context: RequestContext) -> Reply:
        with self._tx() as tx:
            topic = self._topic(tx, self._id(context))
            posts = self._topic_posts(tx, topic)
        wanted = self._body(context).get("post_ids[]") or context.parts.query.get("post_ids[]")
        if wanted:
            ids = {int(v) for v in (wanted if isinstance(wanted, list) else [wanted])}
            posts = [p for p in posts if p["id"] in ids]
        return json_reply({"post_stream": {"posts": posts}, "id": topic["id"]})

    def _delete_topic(self, tx: Transaction, topic_id: str) -> None:
        topic = self._topic(tx, topic_id)
        for post in self._topic_posts(tx, topic):
            tx.delete(POSTS, str(post["id"]))
        tx.delete(TOPICS, topic_id)
        self._count_in_category(
            tx, topic.get("category_id"), topics=-1, posts=-len(topic.get("post_ids", []))
        )

    def remove_topic(self, context: RequestContext) -> Reply:
        with self._tx() as tx:
            self._delete_topic(tx, self._id(context))
        return Reply(EMPTY_OK.status, list(EMPTY_OK.headers))

    def topic_status(self, context: RequestContext) -> Reply:
        """Close, archive, list or pin a topic (``enabled`` "true" or "false"). The service
        asks the guardian about the topic it found, so a topic that does not exist is 403
        ``invalid_access``, not 404."""
        body = self._body(context)
        status = str(body.get("status"))
        with self._tx() as tx:
            topic = tx.get(TOPICS, self._id(context), for_update=True)
            if topic is None:
                raise reject(403, NOT_PERMITTED, code="invalid_access")
            topic[status] = str(body.get("enabled")).lower() == "true"
            tx.put(TOPICS, str(topic["id"]), topic)
        return json_reply({"success": "OK", "topic_status_update": None})

    def _topic_item(self, topic: dict[str, Any]) -> dict[str, Any]:
        fields = [
            "id",
            "title",
            "fancy_title",
            "slug",
            "posts_count",
            "reply_count",
            "highest_post_number",
            "created_at",
            "last_posted_at",
            "bumped_at",
            "archetype",
            "visible",
            "closed",
            "archived",
            "views",
            "like_count",
            "category_id",
            "last_poster_username",
            "tags",
        ]
        item = {field: topic[field] for field in fields if field in topic}
        # a topic seeded through the generic semantics, valid for the topic's schema, may
        # lack a field the list requires or hold one it types otherwise (a null poster)
        runtime = self.semantics.runtimes[TOPICS]
        view = self.semantics.answer_through(runtime, LATEST_TOPIC)
        item = view.apply(item) if view is not None else item
        item.update(
            {
                "bumped": True,
                "pinned": False,
                "unpinned": None,
                "unseen": False,
                "bookmarked": False,  # the API user has neither bookmarked nor liked it
                "liked": False,
                "has_summary": False,
                "pinned_globally": False,
                "featured_link": None,
                # no image_url and no posters' extras: the twin has none to show, and the
                # document types both as strings
                "posters": [
                    {"user_id": _user_id(name), "description": "Poster"}
                    for name in topic.get("posters", [])
                ],
            }
        )
        return item

    def latest(self, context: RequestContext) -> Reply:
        # the document declares no page parameter, the service takes one (from 0)
        given = context.parts.query.get("page") or ["0"]
        page = int(given[0]) if given[0].isdigit() else 0
        with self._tx() as tx:
            topics = [t for t in tx.list(TOPICS).items if "title" in t]
        topics.sort(key=lambda t: (t.get("bumped_at") or "", t["id"]), reverse=True)
        shown = topics[page * PER_PAGE : (page + 1) * PER_PAGE]
        answer = self._template("listLatestTopics")
        topic_list = answer.setdefault("topic_list", {})
        topic_list["per_page"] = PER_PAGE
        topic_list["topics"] = [self._topic_item(t) for t in shown]
        if len(topics) > (page + 1) * PER_PAGE:
            topic_list["more_topics_url"] = f"/latest?page={page + 1}"
        else:
            topic_list.pop("more_topics_url", None)
        names = {name for t in shown for name in t.get("posters", [])}
        answer["users"] = [self._user(name) for name in sorted(names)]
        answer["primary_groups"] = []
        return json_reply(answer)

    # -- search --------------------------------------------------------------------------

    def search(self, context: RequestContext) -> Reply:
        term = str(context.params.get("q") or "")
        words = [w.lower() for w in term.split() if ":" not in w]
        with self._tx() as tx:
            topics = {t["id"]: t for t in tx.list(TOPICS).items if "title" in t}
            posts = [p for p in tx.list(POSTS).items if p.get("topic_id") in topics]
        found = []
        for post in posts:
            text = f"{topics[post['topic_id']]['title']} {post.get('raw', '')}".lower()
            if words and all(word in text for word in words):
                found.append(post)
        found.sort(key=lambda p: -p["id"])
        answer = self._template("search")
        answer["posts"] = [
            {
                "id": p["id"],
                "name": p["name"],
                "username": p["username"],
                "avatar_template": p["avatar_template"],
                "created_at": p["created_at"],
                "like_count": 0,
                "blurb": p.get("raw", "")[:200],
                "post_number": p["post_number"],
                "topic_id": p["topic_id"],
            }
            for p in found
        ]
        found_topics = sorted({p["topic_id"] for p in found})
        # the service sends the topics of the posts it found, though the document omits them
        answer["topics"] = [self._topic_item(topics[t]) for t in found_topics]
        for key in ("users", "categories", "tags", "groups"):
            answer[key] = []
        grouped = answer.setdefault("grouped_search_result", {})
        grouped.update(
            {
                "term": term,
                "post_ids": [p["id"] for p in found],
                "user_ids": [],
                "category_ids": [],
                "tag_ids": [],
                "group_ids": [],
                "more_posts": None,
                "more_users": None,
                "more_categories": None,
                "more_full_page_results": None,
                "error": None,
            }
        )
        return json_reply(answer)


_CATEGORY_FIELDS = frozenset(
    [
        "id",
        "name",
        "slug",
        "color",
        "text_color",
        "description",
        "parent_category_id",
        "position",
        "topic_count",
        "post_count",
        "read_restricted",
        "permission",
    ]
)
