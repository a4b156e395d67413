"""Routing of (method, raw path) to the documented operation, as a client of the API sees it."""

from __future__ import annotations

import itertools

import pytest

from apitwin.spec.router import Router


def router_of(*routes: tuple[str, str]) -> Router[str]:
    """A router whose targets name the route: ``"GET /containers/{id}"``."""
    router: Router[str] = Router()
    for method, template in routes:
        router.add(method, template, f"{method} {template}")
    return router


def target(router: Router[str], method: str, path: str) -> tuple[str | None, dict[str, str]]:
    match = router.match(method, path)
    assert match is not None, f"{method} {path} found no route"
    return match.target, match.params


DOCKER = [
    ("GET", "/containers/json"),
    ("GET", "/containers/{id}"),
    ("GET", "/containers/{id}/json"),
    ("POST", "/containers/create"),
]


@pytest.mark.parametrize("order", list(itertools.permutations(DOCKER)))
def test_literal_segment_beats_template_whatever_the_document_order(
    order: tuple[tuple[str, str], ...],
) -> None:
    router = router_of(*order)
    assert target(router, "GET", "/containers/json") == ("GET /containers/json", {})
    assert target(router, "GET", "/containers/abc123") == ("GET /containers/{id}", {"id": "abc123"})
    assert target(router, "GET", "/containers/abc123/json") == (
        "GET /containers/{id}/json",
        {"id": "abc123"},
    )


def test_dead_end_literal_branch_falls_back_to_the_template_sibling() -> None:
    router = router_of(
        ("GET", "/repos/mine/settings"),
        ("GET", "/repos/{name}/tags"),
    )
    # "mine" matches the literal, but only /settings lives below it
    assert target(router, "GET", "/repos/mine/tags") == ("GET /repos/{name}/tags", {"name": "mine"})
    assert target(router, "GET", "/repos/mine/settings") == ("GET /repos/mine/settings", {})


def test_backtracking_across_template_siblings_with_different_names() -> None:
    router = router_of(
        ("GET", "/users/{id}"),
        ("GET", "/users/{username}/posts"),
    )
    assert target(router, "GET", "/users/7") == ("GET /users/{id}", {"id": "7"})
    assert target(router, "GET", "/users/bob/posts") == (
        "GET /users/{username}/posts",
        {"username": "bob"},
    )


def test_failed_branch_leaves_no_parameters_behind() -> None:
    router = router_of(
        ("GET", "/a/{x}/b/{y}/c"),
        ("GET", "/a/{z}/b/{w}"),
    )
    assert target(router, "GET", "/a/1/b/2") == ("GET /a/{z}/b/{w}", {"z": "1", "w": "2"})


def test_mixed_segments_split_the_parameters_at_their_literal_text() -> None:
    router = router_of(
        ("GET", "/records.{format}"),
        ("GET", "/records/{record_id}.{format}"),
        ("GET", "/records/{record_id}/more_like_this.{format}"),
    )
    assert target(router, "GET", "/records.json") == ("GET /records.{format}", {"format": "json"})
    assert target(router, "GET", "/records/123.xml") == (
        "GET /records/{record_id}.{format}",
        {"record_id": "123", "format": "xml"},
    )
    assert target(router, "GET", "/records/123/more_like_this.json") == (
        "GET /records/{record_id}/more_like_this.{format}",
        {"record_id": "123", "format": "json"},
    )
    # the literal text must be there, and every parameter needs at least one character
    assert router.match("GET", "/records") is None
    assert router.match("GET", "/records/123") is None
    assert router.match("GET", "/records/.json") is None


def test_suffix_template_next_to_a_plain_one_on_the_same_level() -> None:
    # Discourse: /posts/{id}.json next to /posts/{id}/replies.json
    router = router_of(
        ("GET", "/posts/{id}.json"),
        ("GET", "/posts/{id}/replies.json"),
    )
    assert target(router, "GET", "/posts/12.json") == ("GET /posts/{id}.json", {"id": "12"})
    assert target(router, "GET", "/posts/12/replies.json") == (
        "GET /posts/{id}/replies.json",
        {"id": "12"},
    )


@pytest.mark.parametrize("reverse", [False, True])
def test_segment_with_literal_text_beats_a_bare_parameter(reverse: bool) -> None:
    # "Concrete paths are matched before their templated counterparts": a segment with
    # literal text in it is more concrete than a bare {name}.
    routes = [("GET", "/reports/{name}"), ("GET", "/reports/{id}.csv")]
    router = router_of(*(reversed(routes) if reverse else routes))
    assert target(router, "GET", "/reports/5.csv") == ("GET /reports/{id}.csv", {"id": "5"})
    assert target(router, "GET", "/reports/summary") == ("GET /reports/{name}", {"name": "summary"})


def test_percent_encoded_slash_stays_inside_the_parameter() -> None:
    router = router_of(("GET", "/images/{name}/json"), ("GET", "/images/{name}"))
    assert target(router, "GET", "/images/library%2Fubuntu/json") == (
        "GET /images/{name}/json",
        {"name": "library/ubuntu"},
    )
    assert target(router, "GET", "/images/library%2Fubuntu") == (
        "GET /images/{name}",
        {"name": "library/ubuntu"},
    )


def test_parameters_are_percent_decoded() -> None:
    router = router_of(("GET", "/nh/fish/{fish}"))
    assert target(router, "GET", "/nh/fish/sea%20bass") == (
        "GET /nh/fish/{fish}",
        {"fish": "sea bass"},
    )
    assert target(router, "GET", "/nh/fish/caf%C3%A9") == ("GET /nh/fish/{fish}", {"fish": "café"})


def test_encoded_literal_segment_matches_the_literal() -> None:
    router = router_of(("GET", "/containers/json"), ("GET", "/containers/{id}"))
    assert target(router, "GET", "/containers/%6Ason") == ("GET /containers/json", {})


def test_trailing_slash_is_the_same_path() -> None:
    # eBay documents /item/ with a trailing slash; clients call both spellings
    router = router_of(("GET", "/item/"), ("GET", "/item/{item_id}"))
    assert target(router, "GET", "/item") == ("GET /item/", {})
    assert target(router, "GET", "/item/") == ("GET /item/", {})
    assert target(router, "GET", "/item/v1|1|0") == ("GET /item/{item_id}", {"item_id": "v1|1|0"})


def test_path_known_with_other_methods_reports_them_for_405() -> None:
    router = router_of(
        ("GET", "/droplets"),
        ("POST", "/droplets"),
        ("DELETE", "/droplets/{id}"),
        ("GET", "/droplets/{id}"),
    )
    match = router.match("PUT", "/droplets")
    assert match is not None
    assert match.target is None
    assert set(match.allowed) == {"GET", "POST"}
    item = router.match("PATCH", "/droplets/42")
    assert item is not None and item.target is None
    assert set(item.allowed) == {"DELETE", "GET"}
    assert item.template == "/droplets/{id}"


def test_method_is_case_insensitive() -> None:
    router = router_of(("get", "/ping"))
    assert target(router, "GET", "/ping") == ("get /ping", {})
    assert target(router, "get", "/ping") == ("get /ping", {})


def test_unknown_paths_do_not_match() -> None:
    router = router_of(("GET", "/containers/{id}/json"), ("GET", "/_ping"))
    assert router.match("GET", "/containers") is None  # only a prefix of a route
    assert router.match("GET", "/containers/abc/json/extra") is None
    assert router.match("GET", "/volumes") is None
    assert router.match("GET", "/") is None
    assert router.match("GET", "/containers//json") is None  # an empty id is no id


def test_root_path_is_a_route_of_its_own() -> None:
    router = router_of(("GET", "/"), ("GET", "/namespaces/{namespace}"))
    assert target(router, "GET", "/") == ("GET /", {})
    assert target(router, "GET", "/namespaces/acme") == (
        "GET /namespaces/{namespace}",
        {"namespace": "acme"},
    )


def spanning_router() -> Router[str]:
    """Docker's image routes, with ``{name}`` allowed to span segments."""
    router: Router[str] = Router(spanning=["/images/{name}"])
    for method, template in [
        ("GET", "/images/json"),
        ("GET", "/images/{name}/json"),
        ("POST", "/images/{name}/tag"),
        ("DELETE", "/images/{name}"),
        ("GET", "/containers/{id}/json"),
    ]:
        router.add(method, template, f"{method} {template}")
    return router


def test_spanning_parameter_takes_a_repository_name_with_slashes() -> None:
    router = spanning_router()
    assert target(router, "GET", "/images/library/ubuntu/json") == (
        "GET /images/{name}/json",
        {"name": "library/ubuntu"},
    )
    assert target(router, "POST", "/images/registry:5000/team/app:v1/tag") == (
        "POST /images/{name}/tag",
        {"name": "registry:5000/team/app:v1"},
    )
    assert target(router, "DELETE", "/images/team/app") == (
        "DELETE /images/{name}",
        {"name": "team/app"},
    )
    assert target(router, "GET", "/images/json") == ("GET /images/json", {})


def test_spanning_parameter_prefers_the_route_with_the_method() -> None:
    router = spanning_router()
    # "team/json" is an image name for DELETE, though GET /images/team/json exists
    assert target(router, "DELETE", "/images/team/json") == (
        "DELETE /images/{name}",
        {"name": "team/json"},
    )
    assert target(router, "GET", "/images/team/json") == (
        "GET /images/{name}/json",
        {"name": "team"},
    )


def test_parameters_not_declared_spanning_keep_to_one_segment() -> None:
    router = spanning_router()
    assert router.match("GET", "/containers/a/b/json") is None


def test_template_sibling_with_the_method_beats_a_literal_without_it() -> None:
    # Discourse: PUT /t/-/{id}.json updates a topic, GET /t/-/{id}.json shows the topic of
    # slug "-" through /t/{slug}/{id}.json
    router = router_of(
        ("PUT", "/t/-/{id}.json"),
        ("GET", "/t/{slug}/{id}.json"),
        ("GET", "/t/{id}.json"),
    )
    assert target(router, "GET", "/t/-/42.json") == (
        "GET /t/{slug}/{id}.json",
        {"slug": "-", "id": "42"},
    )
    assert target(router, "PUT", "/t/-/42.json") == ("PUT /t/-/{id}.json", {"id": "42"})
    # no route of the path has DELETE: the literal's route answers, with its methods
    refused = router.match("DELETE", "/t/-/42.json")
    assert refused is not None and refused.target is None
    assert refused.allowed == ("PUT",)
    assert refused.template == "/t/-/{id}.json"
    assert refused.params == {"id": "42"}


def test_method_preference_reaches_below_the_first_matching_level() -> None:
    router = router_of(
        ("GET", "/repos/mine/settings"),
        ("DELETE", "/repos/{name}/settings"),
    )
    assert target(router, "DELETE", "/repos/mine/settings") == (
        "DELETE /repos/{name}/settings",
        {"name": "mine"},
    )
    assert target(router, "GET", "/repos/mine/settings") == ("GET /repos/mine/settings", {})
