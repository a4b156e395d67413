"""Every bundled twin driven in-process over HTTP, as a client of the real API drives it:
routing errors and validation errors in the API's own shape, and the documented success
responses."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import tarfile
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from apitwin.app import create_app
from apitwin.engine.twin import TwinOptions, build_twin
from apitwin.server.app import TwinApp
from apitwin.twins.registry import bundled_names, bundled_profile, spec_path

BEARER = {"Authorization": "Bearer any-token"}
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@cache
def twin(name: str, seed: int = 0) -> TwinApp:
    return create_app(name, seed=seed, stateful=False)


@cache
def spec(name: str) -> dict[str, Any]:
    """The vendored document itself: what the API documents, independent of the twin."""
    document: dict[str, Any] = json.loads(spec_path(bundled_profile(name)).read_bytes())
    return document


def call(app: TwinApp, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://twin") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def request(name: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return call(twin(name), method, path, **kwargs)


# -- error shapes ---------------------------------------------------------------------

ShapeCheck = Callable[[httpx.Response], str]
"""Asserts a response is in the API's error shape and returns the human-readable message."""


def _json(response: httpx.Response) -> Any:
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def _digitalocean(response: httpx.Response) -> str:
    body = _json(response)
    assert set(body) == {"id", "message", "request_id"}
    expected_id = {401: "unauthorized", 404: "not_found", 415: "unsupported_media_type"}
    if response.status_code in expected_id:
        assert body["id"] == expected_id[response.status_code]
    assert isinstance(body["id"], str) and body["id"]
    uuid.UUID(body["request_id"])
    return str(body["message"])


def _only(key: str) -> ShapeCheck:
    def check(response: httpx.Response) -> str:
        body = _json(response)
        assert set(body) == {key}
        assert isinstance(body[key], str) and body[key]
        return str(body[key])

    return check


def _docker_hub(response: httpx.Response) -> str:
    body = _json(response)
    assert set(body) == {"detail", "message"}
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["message"], str) and body["message"]
    return f"{body['detail']} {body['message']}"


def _dracoon(response: httpx.Response) -> str:
    body = _json(response)
    assert set(body) == {"code", "message", "debugInfo", "errorCode"}
    assert body["code"] == response.status_code  # an integer, not "404"
    assert isinstance(body["errorCode"], int) and body["errorCode"] < 0
    assert isinstance(body["message"], str) and isinstance(body["debugInfo"], str)
    return f"{body['message']} {body['debugInfo']}"


def _nookipedia(response: httpx.Response) -> str:
    body = _json(response)
    assert set(body) == {"title", "details"}
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["details"], str) and body["details"]
    return str(body["details"])


def _discourse(response: httpx.Response) -> str:
    body = _json(response)
    assert set(body) == {"errors", "error_type"}
    assert isinstance(body["errors"], list) and body["errors"]
    assert all(isinstance(e, str) for e in body["errors"])
    if response.status_code == 404:
        assert body["error_type"] == "not_found"
    assert isinstance(body["error_type"], str) and body["error_type"]
    return " ".join(body["errors"])


def _ebay(response: httpx.Response) -> str:
    body = _json(response)
    assert set(body) == {"errors"}
    assert isinstance(body["errors"], list) and len(body["errors"]) == 1
    error = body["errors"][0]
    assert {"errorId", "domain", "category", "message"} <= set(error)
    assert isinstance(error["errorId"], int)
    assert isinstance(error["domain"], str) and isinstance(error["category"], str)
    return str(error["message"])


def _dweet(response: httpx.Response) -> str:
    body = _json(response)
    assert set(body) == {"this", "with", "because"}
    assert body["this"] == "failed"
    assert body["with"] == response.status_code
    assert isinstance(body["because"], str) and body["because"]
    return str(body["because"])


def _digitalnz(response: httpx.Response) -> str:
    assert "xml" in response.headers["content-type"]
    root = ET.fromstring(response.content)
    assert root.tag == "hash"
    errors = root.find("errors")
    assert errors is not None and errors.text
    return errors.text


SHAPES: dict[str, ShapeCheck] = {
    "digitalocean": _digitalocean,
    "docker-engine": _only("message"),
    "docker-hub": _docker_hub,
    "docker-dvp": _only("detail"),
    "discourse": _discourse,
    "dnd5e": _only("error"),
    "nookipedia": _nookipedia,
    "digitalnz": _digitalnz,
    "dracoon": _dracoon,
    "drchrono": _only("detail"),
    "dweet": _dweet,
    "ebay-browse": _ebay,
    "ebay-deal": _ebay,
}

# (base path a client uses, a documented path, a method that path does not document)
ROUTES: dict[str, tuple[str, str, str]] = {
    "digitalocean": ("", "/v2/account", "DELETE"),
    "docker-engine": ("/v1.33", "/_ping", "POST"),
    "docker-hub": ("", "/v2/access-tokens", "DELETE"),
    "docker-dvp": ("/api/publisher/analytics/v1", "/namespaces/{namespace}", "POST"),
    "discourse": ("", "/admin/backups.json", "DELETE"),
    "dnd5e": ("", "/api/ability-scores/{index}", "POST"),
    "nookipedia": ("", "/nh/fish", "POST"),
    "digitalnz": ("", "/records.{format}", "POST"),
    "dracoon": ("/api", "/v4/auth/ping", "DELETE"),
    "drchrono": ("", "/api/allergies", "DELETE"),
    "dweet": ("", "/get/dweets/for/{thing}", "DELETE"),
    "ebay-browse": ("/buy/browse/v1", "/item/{item_id}", "DELETE"),
    "ebay-deal": ("/buy/deal/v1", "/deal_item", "POST"),
}

_SAMPLE = {
    "{namespace}": "acme",
    "{index}": "cha",
    "{format}": "json",
    "{thing}": "my-thing",
    "{item_id}": "v1|110551991|0",
}


def concrete(template: str) -> str:
    for placeholder, value in _SAMPLE.items():
        template = template.replace(placeholder, value)
    return template


def test_every_bundled_twin_is_covered() -> None:
    assert set(SHAPES) == set(bundled_names()) == set(ROUTES)
    assert len(bundled_names()) == 13


@pytest.mark.parametrize("name", bundled_names())
def test_unknown_path_is_404_in_the_api_error_shape(name: str) -> None:
    base = ROUTES[name][0]
    response = request(name, "GET", f"{base}/no-such-resource/anywhere")
    assert response.status_code == 404
    SHAPES[name](response)


@pytest.mark.parametrize("name", bundled_names())
def test_undocumented_method_is_405_with_allow_in_the_api_error_shape(name: str) -> None:
    base, template, method = ROUTES[name]
    documented = {m.upper() for m in spec(name)["paths"][template] if m in HTTP_METHODS}
    assert method not in documented
    response = request(name, method, base + concrete(template))
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == documented
    SHAPES[name](response)


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("dracoon", "/api/v4/auth/ping"),
        ("ebay-deal", "/buy/deal/v1/deal_item"),
        ("docker-dvp", "/api/publisher/analytics/v1/namespaces/acme"),
    ],
)
def test_twin_answers_under_its_documented_base_path(name: str, path: str) -> None:
    assert request(name, "GET", path).status_code != 404
    base = ROUTES[name][0]
    outside = request(name, "GET", path[len(base) :])
    assert outside.status_code == 404
    SHAPES[name](outside)


def test_ebay_browse_answers_under_buy_browse_v1() -> None:
    path = "/buy/browse/v1/item/v1%7C110551991%7C0"
    assert request("ebay-browse", "GET", path, headers=BEARER).status_code == 200
    assert (
        request("ebay-browse", "GET", "/item/v1%7C110551991%7C0", headers=BEARER).status_code == 404
    )


def test_error_text_is_escaped_in_xml_errors() -> None:
    response = request("digitalnz", "GET", "/a%3Cb%3E%26c")
    assert response.status_code == 404
    assert "<b>&c" in _digitalnz(response)


@pytest.mark.parametrize(
    ("name", "path", "code_field"),
    [("dracoon", "/api/v4/auth/ping", "errorCode"), ("ebay-browse", "/buy/browse/v1/item/", "")],
)
def test_defect_of_the_twin_is_500_in_the_api_error_shape(
    name: str, path: str, code_field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(name, stateful=False)
    match = app.twin.router.match("GET", path[len(ROUTES[name][0]) :])
    assert match is not None and match.target is not None

    def broken(accept: str | None) -> Any:
        raise RuntimeError("defect")

    monkeypatch.setattr(match.target.responder, "render", broken)
    response = call(app, "GET", path, headers=BEARER)
    assert response.status_code == 500
    SHAPES[name](response)
    # the profile's code for internal errors, not the one for bad requests
    codes = bundled_profile(name).error["error_codes"]
    body = response.json()
    code = body[code_field] if code_field else body["errors"][0]["errorId"]
    assert code == codes["internal"] != codes["bad_request"]


def test_base_path_is_a_whole_segment() -> None:
    response = request("dracoon", "GET", "/apiv4/auth/ping")
    assert response.status_code == 404
    SHAPES["dracoon"](response)


def test_docker_version_prefix_is_a_whole_segment() -> None:
    # /v1.330 is version 1.330, not /v1.33 followed by "0/_ping": the daemon refuses it
    response = request("docker-engine", "GET", "/v1.330/_ping")
    assert response.status_code == 400
    assert "1.330 is too new" in SHAPES["docker-engine"](response)


def test_docker_engine_answers_unversioned_ping() -> None:
    response = request("docker-engine", "GET", "/_ping")
    assert response.status_code == 200
    assert response.text == "OK"


def test_docker_image_name_with_encoded_slash() -> None:
    response = request("docker-engine", "GET", "/v1.33/images/library%2Fubuntu/json")
    assert response.status_code == 200
    assert "Id" in response.json()


def test_docker_image_name_with_plain_slash() -> None:
    # The daemon routes /images/{name:.*}/json and the docker client sends repository
    # names unescaped; the profile lets the {name} of image paths span segments.
    response = request("docker-engine", "GET", "/v1.33/images/library/ubuntu/json")
    assert response.status_code == 200
    deleted = request("docker-engine", "DELETE", "/v1.33/images/library/ubuntu:22.04")
    assert deleted.status_code == 200
    tagged = request("docker-engine", "POST", "/v1.33/images/my/repo/app/tag?repo=x&tag=y")
    assert tagged.status_code == 201


# -- validation -----------------------------------------------------------------------


def test_query_parameter_over_its_maximum_names_parameter_and_rule() -> None:
    response = request("digitalocean", "GET", "/v2/droplets?per_page=500", headers=BEARER)
    assert 400 <= response.status_code < 500
    message = _digitalocean(response)
    assert "per_page" in message
    assert "maximum" in message and "200" in message


def test_query_parameter_of_the_wrong_type_names_parameter_and_type() -> None:
    response = request("digitalocean", "GET", "/v2/droplets?per_page=many", headers=BEARER)
    assert 400 <= response.status_code < 500
    message = _digitalocean(response)
    assert "per_page" in message and "integer" in message


def test_path_parameter_of_the_wrong_type_is_refused() -> None:
    # DigitalNZ record ids are integers
    response = request("digitalnz", "GET", "/records/abc.json?api_key=key")
    assert 400 <= response.status_code < 500
    assert "record_id" in _digitalnz(response)


def test_path_suffix_outside_its_enum_is_refused() -> None:
    # DigitalNZ: /records.{format}, format one of json, xml
    response = request("digitalnz", "GET", "/records.csv?api_key=key")
    assert 400 <= response.status_code < 500
    message = _digitalnz(response)
    assert "format" in message and "enum" in message
    assert request("digitalnz", "GET", "/records.json?api_key=key").status_code == 200


def test_digitalnz_xml_suffix_answers_xml() -> None:
    response = request("digitalnz", "GET", "/records.xml?api_key=key")
    assert response.status_code == 200
    assert "xml" in response.headers["content-type"]
    ET.fromstring(response.content)


def test_missing_required_query_parameter_is_named() -> None:
    # Docker Engine: POST /containers/{id}/rename requires ?name=
    app = create_app("docker-engine", stateful=False)
    created = call(app, "POST", "/v1.33/containers/create", json={"Image": "ubuntu"})
    container = created.json()["Id"]
    response = call(app, "POST", f"/v1.33/containers/{container}/rename")
    assert response.status_code == 400
    message = SHAPES["docker-engine"](response)
    assert "name" in message and "required" in message
    renamed = call(app, "POST", f"/v1.33/containers/{container}/rename?name=db")
    assert renamed.status_code == 204


def test_value_outside_an_enum_is_refused() -> None:
    path = "/v2/namespaces/acme/repositories/web/images"
    response = request("docker-hub", "GET", f"{path}?status=deleted")
    assert response.status_code == 400
    message = _docker_hub(response)
    assert "status" in message and "enum" in message
    assert request("docker-hub", "GET", f"{path}?status=active").status_code == 200


def test_unknown_query_parameters_are_ignored() -> None:
    plain = request("dnd5e", "GET", "/api/ability-scores/cha")
    extra = request("dnd5e", "GET", "/api/ability-scores/cha?utm_source=test&x=1")
    assert plain.status_code == extra.status_code == 200
    assert extra.content == plain.content


def test_body_that_is_not_json_is_400() -> None:
    response = request(
        "digitalocean",
        "POST",
        "/v2/account/keys",
        content=b'{"name": "laptop", "public_key": ',
        headers={**BEARER, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "JSON" in _digitalocean(response)


def test_body_failing_its_schema_names_the_json_path() -> None:
    response = request(
        "digitalocean",
        "POST",
        "/v2/account/keys",
        json={"name": 5, "public_key": "ssh-rsa AAAAB3NzaC1yc2E example"},
        headers=BEARER,
    )
    assert response.status_code in (400, 422)
    message = _digitalocean(response)
    assert "$.name" in message and "string" in message


def test_body_missing_a_required_property_names_it() -> None:
    response = request("docker-engine", "POST", "/v1.33/networks/create", json={"Driver": "bridge"})
    assert response.status_code == 400
    assert "Name" in SHAPES["docker-engine"](response)


def test_digitalocean_invalid_body_is_422_unprocessable_entity() -> None:
    response = request(
        "digitalocean",
        "POST",
        "/v2/account/keys",
        json={"public_key": "ssh-rsa AAAAB3NzaC1yc2E example"},
        headers=BEARER,
    )
    assert response.status_code == 422
    assert response.json()["id"] == "unprocessable_entity"


def test_unsupported_content_type_is_415() -> None:
    response = request(
        "digitalocean",
        "POST",
        "/v2/account/keys",
        content=b"name=laptop",
        headers={**BEARER, "Content-Type": "text/plain"},
    )
    assert response.status_code == 415
    assert "application/json" in _digitalocean(response)


def test_json_content_type_with_charset_is_accepted() -> None:
    response = request(
        "digitalocean",
        "POST",
        "/v2/account/keys",
        content=b'{"name": "laptop", "public_key": "ssh-rsa AAAAB3NzaC1yc2E example"}',
        headers={**BEARER, "Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201


@pytest.fixture(scope="module")
def small_limit_twin() -> TwinApp:
    profile = bundled_profile("discourse")
    return TwinApp(build_twin(profile, spec_path(profile), TwinOptions(max_body_bytes=64)))


POST_BODY = {"title": "A topic title long enough", "raw": "The first post of the topic, " * 3}


def test_body_over_the_limit_is_413(small_limit_twin: TwinApp) -> None:
    response = call(small_limit_twin, "POST", "/posts.json", json=POST_BODY)
    assert response.status_code == 413
    _discourse(response)


def test_streamed_body_over_the_limit_is_413(small_limit_twin: TwinApp) -> None:
    async def chunks() -> Any:
        data = json.dumps(POST_BODY).encode()
        for start in range(0, len(data), 16):
            yield data[start : start + 16]

    response = call(
        small_limit_twin,
        "POST",
        "/posts.json",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    _discourse(response)


def test_body_under_the_limit_is_served(small_limit_twin: TwinApp) -> None:
    response = call(small_limit_twin, "POST", "/posts.json", json={"title": "t", "raw": "r"})
    assert response.status_code == 200


UPLOAD = {"file": ("avatar.png", b"\x89PNG\r\n\x1a\n", "image/png")}


def test_multipart_body_is_accepted_and_validated() -> None:
    accepted = request(
        "discourse", "POST", "/uploads.json", data={"type": "avatar", "user_id": "7"}, files=UPLOAD
    )
    assert accepted.status_code == 200
    assert isinstance(accepted.json()["id"], int)
    wrong_enum = request("discourse", "POST", "/uploads.json", data={"type": "x"}, files=UPLOAD)
    assert wrong_enum.status_code == 400
    assert "$.type" in _discourse(wrong_enum)
    wrong_type = request(
        "discourse", "POST", "/uploads.json", data={"type": "avatar", "user_id": "me"}, files=UPLOAD
    )
    assert wrong_type.status_code == 400
    assert "$.user_id" in _discourse(wrong_type)
    missing = request("discourse", "POST", "/uploads.json", data={"user_id": "7"}, files=UPLOAD)
    assert missing.status_code == 400
    assert "type" in _discourse(missing)


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_discourse_accepts_form_bodies_on_every_write(encoding: str) -> None:
    fields = {"title": "A topic title long enough", "raw": "The first post of the topic"}
    files = {"raw": (None, fields["raw"])} if encoding == "multipart" else None
    data = {"title": fields["title"]} if files else fields
    response = request("discourse", "POST", "/posts.json", data=data, files=files)
    assert response.status_code == 200


FORM_DOC = """\
openapi: 3.0.3
info: {title: forms, version: '1'}
paths:
  /subscriptions:
    post:
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              required: [email, weeks]
              properties:
                email: {type: string, format: email}
                weeks: {type: integer, minimum: 1}
                topics: {type: array, items: {type: string, enum: [news, sales]}}
      responses:
        '201':
          description: created
          content:
            application/json:
              schema:
                type: object
                properties: {id: {type: integer}}
  /reports/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
      responses:
        '200':
          description: a report
          content:
            application/xml:
              schema: {type: string}
              example: <report><id>1</id><total>3</total></report>
            text/csv:
              schema: {type: string}
              example: "id,total\\n1,3\\n"
            application/x-yaml:
              schema: {type: string}
              example: "id: 1\\ntotal: 3\\n"
"""


@pytest.fixture(scope="module")
def forms_twin(tmp_path_factory: pytest.TempPathFactory) -> TwinApp:
    path: Path = tmp_path_factory.mktemp("forms") / "forms.yaml"
    path.write_text(FORM_DOC)
    return create_app(path, stateful=False)


def test_form_urlencoded_body_is_accepted_and_validated(forms_twin: TwinApp) -> None:
    ok = call(
        forms_twin,
        "POST",
        "/subscriptions",
        data={"email": "a@example.com", "weeks": "4", "topics": ["news", "sales"]},
    )
    assert ok.status_code == 201
    wrong = call(
        forms_twin, "POST", "/subscriptions", data={"email": "a@example.com", "weeks": "0"}
    )
    assert wrong.status_code == 400
    assert "weeks" in wrong.json()["message"] and "minimum" in wrong.json()["message"]
    missing = call(forms_twin, "POST", "/subscriptions", data={"weeks": "4"})
    assert missing.status_code == 400
    assert "email" in missing.json()["message"]
    bad_item = call(
        forms_twin, "POST", "/subscriptions", data={"email": "a@b.c", "weeks": "1", "topics": "x"}
    )
    assert bad_item.status_code == 400
    assert "topics" in bad_item.json()["message"]


@pytest.mark.parametrize(
    ("name", "method", "path", "credentials"),
    [
        ("digitalocean", "GET", "/v2/account", BEARER),
        ("dracoon", "GET", "/api/v4/user/account", BEARER),
        ("drchrono", "GET", "/api/patients", BEARER),
        ("docker-dvp", "GET", "/api/publisher/analytics/v1/namespaces/acme", BEARER),
        ("ebay-browse", "GET", "/buy/browse/v1/item/v1%7C110551991%7C0", BEARER),
    ],
)
def test_missing_credentials_are_401_in_the_api_error_shape(
    name: str, method: str, path: str, credentials: dict[str, str]
) -> None:
    response = request(name, method, path)
    assert response.status_code == 401
    SHAPES[name](response)
    assert request(name, method, path, headers=credentials).status_code == 200


def test_public_operation_needs_no_credentials() -> None:
    # DRACOON: /v4/auth/* is `security: []`
    assert request("dracoon", "GET", "/api/v4/auth/ping").status_code == 200


def test_dracoon_accepts_its_legacy_auth_token_header() -> None:
    response = request(
        "dracoon", "GET", "/api/v4/user/account", headers={"X-Sds-Auth-Token": "token"}
    )
    assert response.status_code == 200


def test_nookipedia_missing_api_key_is_401() -> None:
    response = request("nookipedia", "GET", "/nh/fish", headers={"Accept-Version": "1.6.0"})
    assert response.status_code == 401
    _nookipedia(response)


def test_nookipedia_serves_requests_without_accept_version() -> None:
    key = {"X-API-KEY": str(uuid.UUID(int=1))}
    assert request("nookipedia", "GET", "/nh/fish", headers=key).status_code == 200


# -- success responses ----------------------------------------------------------------


def test_create_answers_the_documented_202() -> None:
    documented = spec("digitalocean")["paths"]["/v2/droplets"]["post"]["responses"]
    assert "202" in documented and "201" not in documented
    body = {"name": "web-1", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-22-04-x64"}
    response = request("digitalocean", "POST", "/v2/droplets", json=body, headers=BEARER)
    assert response.status_code == 202
    assert response.headers["content-type"] == "application/json"
    assert isinstance(response.json(), dict)


def test_create_answers_the_documented_201() -> None:
    response = request(
        "docker-engine", "POST", "/v1.33/containers/create", json={"Image": "ubuntu"}
    )
    assert response.status_code == 201
    assert isinstance(response.json()["Id"], str)


def assert_no_content(response: httpx.Response) -> None:
    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers


def test_digitalocean_delete_is_204_with_an_empty_body() -> None:
    app = create_app("digitalocean", stateful=False)
    key = {"name": "laptop", "public_key": "ssh-rsa AAAAB3NzaC1yc2E example"}
    created = call(app, "POST", "/v2/account/keys", json=key, headers=BEARER)
    assert created.status_code == 201
    key_id = created.json()["ssh_key"]["id"]
    assert_no_content(call(app, "DELETE", f"/v2/account/keys/{key_id}", headers=BEARER))


def test_docker_container_actions_are_204_with_an_empty_body() -> None:
    app = create_app("docker-engine", stateful=False)
    created = call(app, "POST", "/v1.33/containers/create?name=web", json={"Image": "ubuntu"})
    assert created.status_code == 201
    container = created.json()["Id"]
    assert_no_content(call(app, "POST", f"/v1.33/containers/{container}/start"))
    assert_no_content(call(app, "DELETE", f"/v1.33/containers/{container}?force=true"))


def test_valid_example_of_the_document_is_returned_as_is() -> None:
    media = spec("dnd5e")["paths"]["/api/ability-scores/{index}"]["get"]["responses"]["200"]
    example = media["content"]["application/json"]["example"]
    response = request("dnd5e", "GET", "/api/ability-scores/cha")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == example


def test_same_seed_gives_the_same_bytes_and_another_seed_other_bytes() -> None:
    path = "/v1.33/nodes/node-1"  # no example in the document: the body is synthesized
    first = call(create_app("docker-engine", seed=0, stateful=False), "GET", path)
    again = call(create_app("docker-engine", seed=0, stateful=False), "GET", path)
    other = call(create_app("docker-engine", seed=1, stateful=False), "GET", path)
    assert first.status_code == again.status_code == other.status_code == 200
    assert first.content == again.content
    assert other.content != first.content
    assert request("docker-engine", "GET", path).content == first.content


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("text/plain", "text/plain"),
        ("text/*", "text/plain"),
        ("text/plain;q=0.2, application/json;q=0.9", "application/json"),
        ("application/json;q=0.5, text/plain", "text/plain"),
        ("text/html, text/plain;q=0.8", "text/plain"),
    ],
)
def test_accept_chooses_between_documented_media_types(accept: str | None, expected: str) -> None:
    documented = spec("docker-engine")["paths"]["/nodes/{id}"]["get"]["responses"]["200"]
    assert set(documented["content"]) == {"application/json", "text/plain"}
    headers = {"Accept": accept} if accept else {}
    response = request("docker-engine", "GET", "/v1.33/nodes/node-1", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == expected
    assert isinstance(json.loads(response.content)["ID"], str)  # Docker sends JSON either way


def test_csv_download_is_csv() -> None:
    path = "/v2/customers/my/invoices/22737513-0ea7-4206-8ceb-98a575af7681/csv"
    response = request("digitalocean", "GET", path, headers=BEARER)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == "text/csv"
    rows = list(csv.reader(io.StringIO(response.text)))
    assert len(rows) >= 2
    assert {len(row) for row in rows} == {len(rows[0])}
    documented = spec("digitalocean")["paths"]["/v2/customers/my/invoices/{invoice_uuid}/csv"][
        "get"
    ]["responses"]["200"]["content"]["text/csv"]["example"]
    assert response.text == documented


def test_pdf_download_is_a_pdf() -> None:
    path = "/v2/customers/my/invoices/22737513-0ea7-4206-8ceb-98a575af7681/pdf"
    response = request("digitalocean", "GET", path, headers=BEARER)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert response.content.rstrip().endswith(b"%%EOF")


def test_kubeconfig_is_yaml_a_client_can_load() -> None:
    path = "/v2/kubernetes/clusters/bd5f5959-5e1e-4205-a714-a914373942af/kubeconfig"
    response = request("digitalocean", "GET", path, headers=BEARER)
    assert response.status_code == 200
    assert "yaml" in response.headers["content-type"]
    config = yaml.safe_load(response.content)
    assert isinstance(config, dict)
    assert config["apiVersion"] == "v1"
    assert config["kind"] == "Config"
    assert isinstance(config["clusters"], list)


def test_ping_is_plain_text_ok() -> None:
    response = request("docker-engine", "GET", "/v1.33/_ping")
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == "text/plain"
    assert response.text == "OK"
    assert "api-version" in response.headers  # documented response header


def test_image_export_is_an_empty_tar_archive() -> None:
    response = request("docker-engine", "GET", "/v1.33/images/ubuntu/get")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-tar"
    assert response.content == b"\0" * 1024
    with tarfile.open(fileobj=io.BytesIO(response.content)) as archive:
        assert archive.getmembers() == []


def test_string_examples_of_text_media_types_are_the_body(forms_twin: TwinApp) -> None:
    as_xml = call(forms_twin, "GET", "/reports/1", headers={"Accept": "application/xml"})
    assert as_xml.headers["content-type"] == "application/xml"
    report = ET.fromstring(as_xml.content)
    assert report.tag == "report" and report.findtext("total") == "3"
    as_csv = call(forms_twin, "GET", "/reports/1", headers={"Accept": "text/csv"})
    assert list(csv.reader(io.StringIO(as_csv.text))) == [["id", "total"], ["1", "3"]]
    as_yaml = call(forms_twin, "GET", "/reports/1", headers={"Accept": "application/x-yaml"})
    assert as_yaml.headers["content-type"] == "application/x-yaml"
    assert yaml.safe_load(as_yaml.content) == {"id": 1, "total": 3}


def test_documented_rate_limit_headers_are_sent() -> None:
    response = request("digitalocean", "GET", "/v2/account", headers=BEARER)
    assert response.status_code == 200
    for name in ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"):
        assert int(response.headers[name]) >= 0  # documented as integers


def test_documented_header_examples_are_used() -> None:
    path = "/v2/customers/my/invoices/22737513-0ea7-4206-8ceb-98a575af7681/csv"
    response = request("digitalocean", "GET", path, headers=BEARER)
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.headers["ratelimit-limit"] == "5000"


@pytest.mark.parametrize(
    ("name", "path", "headers"),
    [
        ("digitalocean", "/v2/account", BEARER),
        ("docker-engine", "/v1.33/_ping", {}),
        ("dnd5e", "/api/ability-scores/cha", {}),
    ],
)
def test_head_on_a_get_path_answers_headers_without_body(
    name: str, path: str, headers: dict[str, str]
) -> None:
    get = request(name, "GET", path, headers=headers)
    head = request(name, "HEAD", path, headers=headers)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == str(len(get.content))


def test_head_is_validated_like_get() -> None:
    response = request("digitalocean", "HEAD", "/v2/droplets?per_page=500", headers=BEARER)
    assert 400 <= response.status_code < 500
    assert response.content == b""
