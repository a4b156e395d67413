"""Loading documents: parsing, version checks, errors and normalization."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from apitwin.spec.document import SpecDocument, SpecError
from apitwin.spec.loader import load_document

SPECS = sorted((Path(__file__).parents[2] / "src" / "apitwin" / "twins" / "specs").glob("*.json"))


def doc_bytes(paths: dict[str, Any], **extra: Any) -> bytes:
    tree: dict[str, Any] = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}}
    tree["paths"] = paths
    tree.update(extra)
    return orjson.dumps(tree)


def load(paths: dict[str, Any], **extra: Any) -> SpecDocument:
    return load_document("api.json", doc_bytes(paths, **extra))


def warnings_at(doc: SpecDocument, pointer: str) -> list[str]:
    return [w.message for w in doc.warnings if w.pointer == pointer]


def error(source: str, data: bytes | None = None) -> SpecError:
    with pytest.raises(SpecError) as info:
        load_document(source, data)
    return info.value


# -- parsing --------------------------------------------------------------------------

YAML_DOC = b"""\
openapi: 3.1.0
info:
  title: dates
  version: '1'
paths:
  /events/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    get:
      responses:
        200:
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  day: {type: string, format: date, example: 2020-01-01}
                  at: {type: string, example: 2020-01-01T10:00:00Z}
                  answer: {type: string, enum: [yes, no, on, off]}
                  clock: {type: string, example: 12:30}
                  count: {type: integer, example: 0o17}
                  ratio: {type: number, example: 1.5e3}
                  tagged: {type: string, example: !!timestamp 2021-02-03}
                  nothing: {example: ~}
                  flag: {type: boolean, example: true}
        404:
          description: missing
"""


def test_yaml_dates_stay_strings_and_int_keys_become_strings() -> None:
    doc = load_document("events.yaml", YAML_DOC)
    assert doc.openapi_version == "3.1"
    assert doc.original_version == "3.1.0"
    responses = doc.raw["paths"]["/events/{id}"]["get"]["responses"]
    assert list(responses) == ["200", "404"]
    props = responses["200"]["content"]["application/json"]["schema"]["properties"]
    assert props["day"]["example"] == "2020-01-01"
    assert props["at"]["example"] == "2020-01-01T10:00:00Z"
    assert props["tagged"]["example"] == "2021-02-03"
    # YAML 1.2 core scalars: no yes/no booleans, no sexagesimal numbers
    assert props["answer"]["enum"] == ["yes", "no", "on", "off"]
    assert props["clock"]["example"] == "12:30"
    assert props["count"]["example"] == 15
    assert props["ratio"]["example"] == 1500.0
    assert props["nothing"]["example"] is None
    assert props["flag"]["example"] is True


def test_yaml_file_by_extension(tmp_path: Path) -> None:
    path = tmp_path / "events.yml"
    path.write_bytes(YAML_DOC)
    doc = load_document(path)
    assert doc.source == str(path)
    assert "/events/{id}" in doc.raw["paths"]
    assert doc.warnings == []


def test_json_named_yaml_and_yaml_named_json_fall_back() -> None:
    as_yaml = load_document("api.yaml", doc_bytes({}))
    assert as_yaml.raw["openapi"] == "3.0.3"
    as_json = load_document("api.json", YAML_DOC)
    assert as_json.openapi_version == "3.1"
    notes = warnings_at(as_json, "/")
    assert len(notes) == 1
    assert "invalid JSON at line 1" in notes[0]
    assert "read as YAML" in notes[0]


def test_unknown_extension_is_sniffed() -> None:
    assert load_document("spec", doc_bytes({})).openapi_version == "3.0"
    assert load_document("spec", YAML_DOC).openapi_version == "3.1"


def test_yaml_aliases_give_each_operation_its_own_id() -> None:
    text = b"""\
openapi: 3.0.0
info: {title: t, version: '1'}
paths:
  /a:
    get: &op
      responses: {'200': {description: ok}}
  /b:
    get: *op
"""
    doc = load_document("alias.yaml", text)
    paths = doc.raw["paths"]
    assert paths["/a"]["get"]["operationId"] == "get_a"
    assert paths["/b"]["get"]["operationId"] == "get_b"


def test_utf8_bom_is_accepted() -> None:
    assert load_document("bom.json", b"\xef\xbb\xbf" + doc_bytes({})).openapi_version == "3.0"


# -- errors ---------------------------------------------------------------------------


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    err = error(str(missing))
    assert err.source == str(missing)
    assert err.pointer == "/"
    assert "cannot read" in err.message
    assert str(err) == f"{missing}: /: {err.message}"


def test_invalid_json_names_line_and_column() -> None:
    err = error("bad.json", b'{\n  "openapi": "3.0.0",\n  "paths": {,}\n}')
    assert err.pointer == "/"
    assert err.message.startswith("invalid JSON at line 3, column")
    assert str(err).startswith("bad.json: /: invalid JSON at line 3")


def test_invalid_yaml_names_line_and_column() -> None:
    err = error("bad.yaml", b"openapi: 3.0.0\npaths:\n  /a: [\n")
    assert err.pointer == "/"
    assert err.message.startswith("invalid YAML at line 4, column 1")


@pytest.mark.parametrize(
    ("data", "kind"),
    [(b"[1, 2]", "a list"), (b'"text"', "a string"), (b"null", "null")],
)
def test_top_level_not_a_mapping(data: bytes, kind: str) -> None:
    err = error("top.json", data)
    assert err.pointer == "/"
    assert err.message == f"the document must be a mapping, got {kind}"


def test_no_version_field() -> None:
    err = error("x.json", b'{"info": {}, "paths": {}}')
    assert err.pointer == "/"
    assert "no 'openapi' or 'swagger' field" in err.message


@pytest.mark.parametrize(
    ("data", "pointer", "shown"),
    [
        (b'{"swagger": "1.2", "paths": {}}', "/swagger", "'1.2'"),
        (b'{"openapi": "4.0", "paths": {}}', "/openapi", "'4.0'"),
        (b'{"openapi": "3.2.0", "paths": {}}', "/openapi", "'3.2.0'"),
        (b'{"openapi": "2.0", "paths": {}}', "/openapi", "'2.0'"),
    ],
)
def test_unsupported_version(data: bytes, pointer: str, shown: str) -> None:
    err = error("v.json", data)
    assert err.pointer == pointer
    assert err.message.startswith("unsupported")
    assert shown in err.message


def test_version_must_be_a_string() -> None:
    err = error("v.json", b'{"openapi": [3], "paths": {}}')
    assert err.pointer == "/openapi"
    assert "got a list" in err.message


@pytest.mark.parametrize(
    ("version", "expected"),
    [("3.0.0", "3.0"), ("3.0.3", "3.0"), ("3.0", "3.0"), ("3.1.0", "3.1"), ("3.1.1", "3.1")],
)
def test_supported_versions(version: str, expected: str) -> None:
    doc = load_document("v.json", orjson.dumps({"openapi": version, "paths": {}}))
    assert doc.openapi_version == expected
    assert doc.original_version == version


def test_paths_not_a_mapping() -> None:
    err = error("p.json", b'{"openapi": "3.0.0", "paths": ["/a"]}')
    assert err.pointer == "/paths"
    assert err.message == "paths must be a mapping, got a list"


def test_missing_paths_is_a_warning() -> None:
    doc = load_document("p.json", b'{"openapi": "3.1.0", "webhooks": {}}')
    assert doc.raw["paths"] == {}
    assert len(warnings_at(doc, "/paths")) == 1


def test_operation_not_a_mapping() -> None:
    err = error("o.json", doc_bytes({"/a/b": {"get": {"responses": {}}, "post": "create"}}))
    assert err.pointer == "/paths/~1a~1b/post"
    assert err.message == "operation must be a mapping, got a string"
    assert str(err) == "o.json: /paths/~1a~1b/post: operation must be a mapping, got a string"


def test_path_item_not_a_mapping() -> None:
    err = error("o.yaml", b"openapi: 3.0.0\npaths:\n  /a:\n")
    assert err.pointer == "/paths/~1a"
    assert err.message == "path item must be a mapping, got null"


def test_swagger_operation_not_a_mapping() -> None:
    err = error("s.json", b'{"swagger": "2.0", "paths": {"/a": {"get": [1]}}}')
    assert err.pointer == "/paths/~1a/get"


# -- normalization warnings -----------------------------------------------------------


def test_media_type_without_schema() -> None:
    doc = load(
        {
            "/a": {
                "post": {
                    "requestBody": {"content": {"application/json": {}}},
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "text/plain": {"example": "hi"},
                                "application/json": {"schema": {"type": "string"}},
                            },
                        }
                    },
                }
            }
        },
        components={
            "responses": {"Empty": {"description": "e", "content": {"text/csv": None}}},
            "requestBodies": {
                "B": {"content": {"application/xml": {"schema": {}}}},
                "C": {"content": {"text/html": "oops"}},
            },
        },
    )
    assert warnings_at(doc, "/paths/~1a/post/requestBody/content/application~1json") == [
        "media type 'application/json' has no schema"
    ]
    assert len(warnings_at(doc, "/paths/~1a/post/responses/200/content/text~1plain")) == 1
    assert len(warnings_at(doc, "/components/responses/Empty/content/text~1csv")) == 1
    assert doc.raw["components"]["responses"]["Empty"]["content"]["text/csv"] == {}
    odd = warnings_at(doc, "/components/requestBodies/C/content/text~1html")
    assert odd == ["media type object must be a mapping, got a string; it has no schema"]
    assert doc.raw["components"]["requestBodies"]["C"]["content"]["text/html"] == {}
    assert len(doc.warnings) == 4


def test_relative_oauth2_urls() -> None:
    doc = load(
        {},
        components={
            "securitySchemes": {
                "o": {
                    "type": "oauth2",
                    "flows": {
                        "authorizationCode": {
                            "authorizationUrl": "/oauth/authorize",
                            "tokenUrl": "https://auth.example.com/token",
                            "refreshUrl": "refresh",
                            "scopes": {},
                        }
                    },
                }
            }
        },
    )
    base = "/components/securitySchemes/o/flows/authorizationCode"
    auth = warnings_at(doc, base + "/authorizationUrl")
    assert len(auth) == 1
    assert "'/oauth/authorize'" in auth[0]
    assert "base URL" in auth[0]
    assert warnings_at(doc, base + "/tokenUrl") == []
    assert len(warnings_at(doc, base + "/refreshUrl")) == 1


def test_path_and_operation_servers() -> None:
    doc = load(
        {
            "/a": {
                "servers": [{"url": "https://other.example.com"}],
                "get": {"servers": [{"url": "https://x.example.com"}], "responses": {}},
                "put": {"responses": {}},
            }
        }
    )
    assert len(warnings_at(doc, "/paths/~1a/servers")) == 1
    assert len(warnings_at(doc, "/paths/~1a/get/servers")) == 1
    assert "own base URL" in warnings_at(doc, "/paths/~1a/get/servers")[0]
    assert len(doc.warnings) == 2


def test_undeclared_path_parameter_is_added_as_string() -> None:
    doc = load(
        {
            "/users/{userId}/posts/{postId}": {
                "get": {
                    "parameters": [
                        {"name": "postId", "in": "path", "required": True, "schema": {}}
                    ],
                    "responses": {},
                }
            }
        }
    )
    pointer = "/paths/~1users~1{userId}~1posts~1{postId}"
    assert warnings_at(doc, pointer) == [
        "path parameter 'userId' is not declared; it is treated as a string"
    ]
    item = doc.raw["paths"]["/users/{userId}/posts/{postId}"]
    assert item["parameters"] == [
        {"name": "userId", "in": "path", "required": True, "schema": {"type": "string"}}
    ]


def test_path_parameter_declared_through_ref_counts() -> None:
    doc = load(
        {"/u/{id}": {"get": {"parameters": [{"$ref": "#/components/parameters/Id"}]}}},
        components={"parameters": {"Id": {"name": "id", "in": "path", "required": True}}},
    )
    assert doc.warnings == []
    assert "parameters" not in doc.raw["paths"]["/u/{id}"]


def test_declared_path_parameter_not_in_template_is_dropped() -> None:
    doc = load(
        {
            "/items": {
                "parameters": [{"name": "shop", "in": "path", "required": True}],
                "get": {
                    "parameters": [
                        {"name": "id", "in": "path", "required": True},
                        {"name": "id", "in": "query"},
                    ],
                    "responses": {},
                },
            }
        }
    )
    item = doc.raw["paths"]["/items"]
    assert item["get"]["parameters"] == [{"name": "id", "in": "query"}]
    assert item["parameters"] == []
    assert len(warnings_at(doc, "/paths/~1items/get/parameters/0")) == 1
    assert "'id'" in warnings_at(doc, "/paths/~1items/get/parameters/0")[0]
    assert len(warnings_at(doc, "/paths/~1items/parameters/0")) == 1


def test_clean_document_has_no_warnings() -> None:
    doc = load(
        {
            "/pets/{id}": {
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "get": {
                    "operationId": "getPet",
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                },
            }
        }
    )
    assert doc.warnings == []


# -- operationIds ---------------------------------------------------------------------


def test_generated_operation_ids() -> None:
    doc = load(
        {
            "/api/ability-scores/{index}": {"get": {"responses": {}}},
            "/": {"get": {"responses": {}}},
            "/api/ability_scores/{index}": {"get": {"responses": {}}},
            "/api/ability.scores/{index}": {"get": {"responses": {}}, "post": {}},
        }
    )
    paths = doc.raw["paths"]
    assert paths["/api/ability-scores/{index}"]["get"]["operationId"] == (
        "get_api_ability_scores_index"
    )
    assert paths["/"]["get"]["operationId"] == "get_root"
    assert paths["/api/ability_scores/{index}"]["get"]["operationId"] == (
        "get_api_ability_scores_index_2"
    )
    assert paths["/api/ability.scores/{index}"]["get"]["operationId"] == (
        "get_api_ability_scores_index_3"
    )
    assert paths["/api/ability.scores/{index}"]["post"]["operationId"] == (
        "post_api_ability_scores_index"
    )
    # generating names is normal, not a defect
    assert not [w for w in doc.warnings if "operationId" in w.pointer]


def test_generated_id_does_not_take_an_existing_name() -> None:
    doc = load(
        {
            "/a": {"get": {"responses": {}}},
            "/b": {"get": {"operationId": "get_a", "responses": {}}},
        }
    )
    assert doc.raw["paths"]["/b"]["get"]["operationId"] == "get_a"
    assert doc.raw["paths"]["/a"]["get"]["operationId"] == "get_a_2"


def test_duplicate_operation_ids_are_renamed() -> None:
    doc = load(
        {
            "/a": {"get": {"operationId": "list", "responses": {}}},
            "/b": {"get": {"operationId": "list", "responses": {}}},
            "/c": {"get": {"operationId": "list", "responses": {}}},
            "/d": {"get": {"operationId": "list_2", "responses": {}}},
        }
    )
    ids = [doc.raw["paths"][p]["get"]["operationId"] for p in ("/a", "/b", "/c", "/d")]
    assert ids == ["list", "list_3", "list_4", "list_2"]
    assert len(set(ids)) == 4
    second = warnings_at(doc, "/paths/~1b/get/operationId")
    assert len(second) == 1
    assert "duplicate operationId 'list'" in second[0]
    assert "'list_3'" in second[0]
    assert len(warnings_at(doc, "/paths/~1c/get/operationId")) == 1
    assert warnings_at(doc, "/paths/~1a/get/operationId") == []


# -- bundled specs --------------------------------------------------------------------


def test_bundled_specs_are_present() -> None:
    assert len(SPECS) == 13


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_bundled_spec_loads(path: Path) -> None:
    doc = load_document(path)
    assert doc.openapi_version in ("3.0", "3.1")
    ids = [
        op["operationId"]
        for item in doc.raw["paths"].values()
        for method, op in item.items()
        if method in ("get", "put", "post", "delete", "options", "head", "patch", "trace")
    ]
    assert ids
    assert len(ids) == len(set(ids))
    assert all(isinstance(i, str) and i for i in ids)


if __name__ == "__main__":  # manual check: warning counts per bundled spec
    for spec in SPECS:
        began = time.perf_counter()
        loaded = load_document(spec)
        took = (time.perf_counter() - began) * 1000
        print(f"{spec.name:22} {took:6.1f} ms  {len(loaded.warnings):4} warnings")
        for warning in loaded.warnings:
            print("   ", warning)
