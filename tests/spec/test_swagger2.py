"""Swagger 2.0 documents are converted to the OpenAPI 3.0 tree the engine walks."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from apitwin.spec.document import SpecError
from apitwin.spec.loader import load_document
from apitwin.spec.swagger2 import convert_swagger2


def petstore() -> dict[str, Any]:
    """A Swagger 2.0 petstore touching every conversion rule."""
    return {
        "swagger": "2.0",
        "info": {"title": "Petstore", "version": "1.0"},
        "host": "petstore.example.com",
        "basePath": "/v2",
        "schemes": ["https", "http"],
        "consumes": ["application/json", "application/xml"],
        "produces": ["application/json"],
        "x-audience": "public",
        "tags": [{"name": "pet"}],
        "paths": {
            "x-paths-note": {"keep": True},
            "/pets": {
                "get": {
                    "operationId": "listPets",
                    "x-rate-limit": 10,
                    "parameters": [
                        {
                            "name": "tags",
                            "in": "query",
                            "type": "array",
                            "items": {"type": "string", "enum": ["a", "b"]},
                            "collectionFormat": "multi",
                        },
                        {
                            "name": "ids",
                            "in": "query",
                            "type": "array",
                            "items": {"type": "integer", "format": "int64"},
                        },
                        {
                            "name": "words",
                            "in": "query",
                            "type": "array",
                            "items": {"type": "string"},
                            "collectionFormat": "ssv",
                        },
                        {
                            "name": "flags",
                            "in": "query",
                            "type": "array",
                            "items": {"type": "string"},
                            "collectionFormat": "pipes",
                        },
                        {
                            "name": "cols",
                            "in": "query",
                            "type": "array",
                            "items": {"type": "string"},
                            "collectionFormat": "tsv",
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "type": "integer",
                            "format": "int32",
                            "minimum": 1,
                            "maximum": 100,
                            "default": 20,
                            "allowEmptyValue": True,
                            "x-example": 5,
                        },
                        {"$ref": "#/parameters/traceHeader"},
                    ],
                    "responses": {
                        "200": {
                            "description": "pets",
                            "schema": {
                                "type": "array",
                                "items": {"$ref": "#/definitions/Pet"},
                            },
                            "headers": {
                                "X-Next": {"type": "string", "description": "next page"},
                                "X-Total": {"type": "integer", "x-nullable": True},
                            },
                            "examples": {
                                "application/json": [{"id": 1, "name": "Rex"}],
                                "text/plain": "Rex",
                            },
                        },
                        "default": {"$ref": "#/responses/Error"},
                    },
                },
                "post": {
                    "operationId": "createPet",
                    "parameters": [
                        {
                            "name": "pet",
                            "in": "body",
                            "required": True,
                            "description": "the pet",
                            "schema": {"$ref": "#/definitions/Pet"},
                            "x-body": 1,
                        }
                    ],
                    "responses": {"201": {"description": "created"}},
                },
            },
            "/pets/{petId}": {
                "parameters": [{"name": "petId", "in": "path", "required": True, "type": "string"}],
                "get": {
                    "produces": ["application/xml"],
                    "responses": {
                        "200": {"description": "a pet", "schema": {"$ref": "#/definitions/Pet"}}
                    },
                },
                "put": {
                    "consumes": ["application/merge-patch+json"],
                    "parameters": [{"$ref": "#/parameters/PetBody"}],
                    "responses": {"204": {"description": "updated"}},
                },
            },
            "/pets/{petId}/photo": {
                "post": {
                    "operationId": "uploadPhoto",
                    "parameters": [
                        {"name": "petId", "in": "path", "required": True, "type": "integer"},
                        {"name": "note", "in": "formData", "type": "string"},
                        {
                            "name": "file",
                            "in": "formData",
                            "type": "file",
                            "required": True,
                            "description": "the photo",
                        },
                    ],
                    "responses": {"200": {"description": "the photo", "schema": {"type": "file"}}},
                }
            },
            "/login": {
                "post": {
                    "operationId": "login",
                    "parameters": [
                        {"name": "user", "in": "formData", "type": "string", "required": True},
                        {
                            "name": "roles",
                            "in": "formData",
                            "type": "array",
                            "items": {"type": "string"},
                        },
                        {"$ref": "#/parameters/remember"},
                    ],
                    "responses": {"204": {"description": "logged in"}},
                }
            },
        },
        "definitions": {
            "Pet": {
                "type": "object",
                "required": ["name"],
                "discriminator": "kind",
                "properties": {
                    "id": {"type": "integer", "format": "int64"},
                    "name": {"type": "string"},
                    "kind": {"type": "string"},
                    "owner": {"$ref": "#/definitions/Owner"},
                    "nick": {"type": "string", "x-nullable": True},
                    "default": {"type": "string", "example": "a property named default"},
                    "tags": {"type": "array", "items": {"$ref": "#/definitions/Tag"}},
                },
                "additionalProperties": {"$ref": "#/definitions/Tag"},
                "x-entity": "pet",
            },
            "Owner": {"allOf": [{"$ref": "#/definitions/Tag"}, {"type": "object"}]},
            "Tag": {"type": "object", "properties": {"name": {"type": "string"}}},
            "Error": {"type": "object", "properties": {"message": {"type": "string"}}},
        },
        "parameters": {
            "traceHeader": {"name": "X-Trace", "in": "header", "type": "string"},
            "PetBody": {
                "name": "body",
                "in": "body",
                "required": True,
                "schema": {"$ref": "#/definitions/Pet"},
            },
            "remember": {"name": "remember", "in": "formData", "type": "boolean"},
        },
        "responses": {"Error": {"description": "error", "schema": {"$ref": "#/definitions/Error"}}},
        "securityDefinitions": {
            "basicAuth": {"type": "basic", "description": "user and password"},
            "key": {"type": "apiKey", "name": "X-Key", "in": "header"},
            "implicit": {
                "type": "oauth2",
                "flow": "implicit",
                "authorizationUrl": "https://auth.example.com/authorize",
                "scopes": {"read": "read pets"},
            },
            "password": {
                "type": "oauth2",
                "flow": "password",
                "tokenUrl": "https://auth.example.com/token",
                "scopes": {},
            },
            "app": {
                "type": "oauth2",
                "flow": "application",
                "tokenUrl": "https://auth.example.com/token",
                "scopes": {"admin": "everything"},
            },
            "code": {
                "type": "oauth2",
                "flow": "accessCode",
                "authorizationUrl": "https://auth.example.com/authorize",
                "tokenUrl": "https://auth.example.com/token",
                "scopes": {"read": "read pets"},
            },
        },
        "security": [{"key": []}],
    }


@pytest.fixture(scope="module")
def converted() -> tuple[dict[str, Any], list[tuple[str, str]]]:
    return convert_swagger2(petstore(), "petstore.json")


def params_by_name(params: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in params if "name" in p}


def test_top_level(converted: tuple[dict[str, Any], list[tuple[str, str]]]) -> None:
    tree, _ = converted
    assert tree["openapi"].startswith("3.0.")
    assert "swagger" not in tree
    for gone in ("host", "basePath", "schemes", "consumes", "produces", "definitions"):
        assert gone not in tree
    assert tree["servers"] == [
        {"url": "https://petstore.example.com/v2"},
        {"url": "http://petstore.example.com/v2"},
    ]
    assert tree["info"] == {"title": "Petstore", "version": "1.0"}
    assert tree["x-audience"] == "public"
    assert tree["tags"] == [{"name": "pet"}]
    assert tree["security"] == [{"key": []}]
    assert tree["paths"]["x-paths-note"] == {"keep": True}


def test_input_is_not_modified() -> None:
    raw = petstore()
    before = copy.deepcopy(raw)
    convert_swagger2(raw, "petstore.json")
    assert raw == before


def test_definitions_become_component_schemas(
    converted: tuple[dict[str, Any], list[tuple[str, str]]],
) -> None:
    schemas = converted[0]["components"]["schemas"]
    pet = schemas["Pet"]
    assert pet["properties"]["owner"] == {"$ref": "#/components/schemas/Owner"}
    assert pet["properties"]["tags"]["items"] == {"$ref": "#/components/schemas/Tag"}
    assert pet["additionalProperties"] == {"$ref": "#/components/schemas/Tag"}
    assert pet["properties"]["nick"] == {"type": "string", "nullable": True}
    assert pet["properties"]["default"]["example"] == "a property named default"
    assert pet["discriminator"] == {"propertyName": "kind"}
    assert pet["x-entity"] == "pet"
    assert schemas["Owner"]["allOf"][0] == {"$ref": "#/components/schemas/Tag"}


def test_query_parameters_get_schema_and_style(
    converted: tuple[dict[str, Any], list[tuple[str, str]]],
) -> None:
    tree, warnings = converted
    params = params_by_name(tree["paths"]["/pets"]["get"]["parameters"])
    assert params["tags"] == {
        "name": "tags",
        "in": "query",
        "schema": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        "style": "form",
        "explode": True,
    }
    # Swagger's default collectionFormat is csv, which is not OpenAPI 3's default.
    assert params["ids"]["style"] == "form"
    assert params["ids"]["explode"] is False
    assert params["ids"]["schema"]["items"] == {"type": "integer", "format": "int64"}
    assert (params["words"]["style"], params["words"]["explode"]) == ("spaceDelimited", False)
    assert params["flags"]["style"] == "pipeDelimited"
    assert (params["cols"]["style"], params["cols"]["explode"]) == ("form", False)
    assert params["limit"] == {
        "name": "limit",
        "in": "query",
        "allowEmptyValue": True,
        "x-example": 5,
        "schema": {
            "type": "integer",
            "format": "int32",
            "minimum": 1,
            "maximum": 100,
            "default": 20,
        },
    }
    assert {"$ref": "#/components/parameters/traceHeader"} in tree["paths"]["/pets"]["get"][
        "parameters"
    ]
    tsv = [m for p, m in warnings if p == "/paths/~1pets/get/parameters/4/collectionFormat"]
    assert len(tsv) == 1
    assert "tsv" in tsv[0]


def test_responses_get_content_per_produces(
    converted: tuple[dict[str, Any], list[tuple[str, str]]],
) -> None:
    tree = converted[0]
    ok = tree["paths"]["/pets"]["get"]["responses"]["200"]
    schema = {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}}
    assert ok["content"] == {
        "application/json": {"schema": schema, "example": [{"id": 1, "name": "Rex"}]},
        "text/plain": {"schema": schema, "example": "Rex"},
    }
    assert ok["headers"] == {
        "X-Next": {"description": "next page", "schema": {"type": "string"}},
        "X-Total": {"schema": {"type": "integer", "nullable": True}},
    }
    assert "schema" not in ok
    assert "examples" not in ok
    assert tree["paths"]["/pets"]["get"]["responses"]["default"] == {
        "$ref": "#/components/responses/Error"
    }
    # operation-level produces wins over the global one
    pet = tree["paths"]["/pets/{petId}"]["get"]
    assert list(pet["responses"]["200"]["content"]) == ["application/xml"]
    assert "produces" not in pet
    # no schema, no content
    assert tree["paths"]["/pets"]["post"]["responses"]["201"] == {"description": "created"}


def test_body_parameter_becomes_request_body(
    converted: tuple[dict[str, Any], list[tuple[str, str]]],
) -> None:
    post = converted[0]["paths"]["/pets"]["post"]
    ref = {"$ref": "#/components/schemas/Pet"}
    assert post["requestBody"] == {
        "description": "the pet",
        "content": {"application/json": {"schema": ref}, "application/xml": {"schema": ref}},
        "required": True,
        "x-body": 1,
    }
    assert "parameters" not in post


def test_referenced_body_parameter_becomes_request_body_ref(
    converted: tuple[dict[str, Any], list[tuple[str, str]]],
) -> None:
    tree = converted[0]
    put = tree["paths"]["/pets/{petId}"]["put"]
    assert put["requestBody"] == {"$ref": "#/components/requestBodies/PetBody"}
    assert "consumes" not in put
    components = tree["components"]
    assert "PetBody" not in components["parameters"]
    assert components["requestBodies"]["PetBody"] == {
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Pet"}},
            "application/xml": {"schema": {"$ref": "#/components/schemas/Pet"}},
        },
        "required": True,
    }
    assert components["parameters"]["traceHeader"] == {
        "name": "X-Trace",
        "in": "header",
        "schema": {"type": "string"},
    }
    # formData parameters are inlined where used, never left as in: formData
    assert "remember" not in components["parameters"]


def test_form_with_file_is_multipart(
    converted: tuple[dict[str, Any], list[tuple[str, str]]],
) -> None:
    op = converted[0]["paths"]["/pets/{petId}/photo"]["post"]
    assert op["parameters"] == [
        {"name": "petId", "in": "path", "required": True, "schema": {"type": "integer"}}
    ]
    assert op["requestBody"] == {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "note": {"type": "string"},
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "the photo",
                        },
                    },
                    "required": ["file"],
                }
            }
        },
        "required": True,
    }
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": "string",
        "format": "binary",
    }


def test_form_without_file_is_urlencoded(
    converted: tuple[dict[str, Any], list[tuple[str, str]]],
) -> None:
    op = converted[0]["paths"]["/login"]["post"]
    assert "parameters" not in op
    media = op["requestBody"]["content"]
    assert list(media) == ["application/x-www-form-urlencoded"]
    schema = media["application/x-www-form-urlencoded"]["schema"]
    assert schema == {
        "type": "object",
        "properties": {
            "user": {"type": "string"},
            "roles": {"type": "array", "items": {"type": "string"}},
            "remember": {"type": "boolean"},
        },
        "required": ["user"],
    }
    assert media["application/x-www-form-urlencoded"]["encoding"] == {
        "roles": {"style": "form", "explode": False}
    }


def test_form_consumes_multipart() -> None:
    raw = {
        "swagger": "2.0",
        "info": {},
        "consumes": ["multipart/form-data"],
        "paths": {
            "/f": {
                "post": {
                    "parameters": [{"name": "a", "in": "formData", "type": "string"}],
                    "responses": {},
                }
            }
        },
    }
    tree, _ = convert_swagger2(raw, "f.json")
    assert list(tree["paths"]["/f"]["post"]["requestBody"]["content"]) == ["multipart/form-data"]


def test_path_level_parameters(converted: tuple[dict[str, Any], list[tuple[str, str]]]) -> None:
    item = converted[0]["paths"]["/pets/{petId}"]
    assert item["parameters"] == [
        {"name": "petId", "in": "path", "required": True, "schema": {"type": "string"}}
    ]


def test_path_level_body_parameter_reaches_each_operation() -> None:
    raw = {
        "swagger": "2.0",
        "info": {},
        "paths": {
            "/things": {
                "parameters": [{"name": "b", "in": "body", "schema": {"type": "object"}}],
                "put": {"responses": {}},
                "post": {
                    "parameters": [{"name": "b", "in": "body", "schema": {"type": "string"}}],
                    "responses": {},
                },
            }
        },
    }
    tree, _ = convert_swagger2(raw, "t.json")
    item = tree["paths"]["/things"]
    assert "parameters" not in item
    put = item["put"]["requestBody"]["content"]["application/json"]["schema"]
    post = item["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert put == {"type": "object"}
    assert post == {"type": "string"}


def test_security_definitions(converted: tuple[dict[str, Any], list[tuple[str, str]]]) -> None:
    schemes = converted[0]["components"]["securitySchemes"]
    assert schemes["basicAuth"] == {
        "type": "http",
        "scheme": "basic",
        "description": "user and password",
    }
    assert schemes["key"] == {"type": "apiKey", "name": "X-Key", "in": "header"}
    assert schemes["implicit"]["flows"] == {
        "implicit": {
            "authorizationUrl": "https://auth.example.com/authorize",
            "scopes": {"read": "read pets"},
        }
    }
    assert schemes["password"]["flows"] == {
        "password": {"tokenUrl": "https://auth.example.com/token", "scopes": {}}
    }
    assert schemes["app"]["flows"] == {
        "clientCredentials": {
            "tokenUrl": "https://auth.example.com/token",
            "scopes": {"admin": "everything"},
        }
    }
    assert schemes["code"] == {
        "type": "oauth2",
        "flows": {
            "authorizationCode": {
                "authorizationUrl": "https://auth.example.com/authorize",
                "tokenUrl": "https://auth.example.com/token",
                "scopes": {"read": "read pets"},
            }
        },
    }


def test_components_responses(converted: tuple[dict[str, Any], list[tuple[str, str]]]) -> None:
    assert converted[0]["components"]["responses"]["Error"] == {
        "description": "error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def test_extensions_are_kept(converted: tuple[dict[str, Any], list[tuple[str, str]]]) -> None:
    get = converted[0]["paths"]["/pets"]["get"]
    assert get["x-rate-limit"] == 10
    assert get["operationId"] == "listPets"


def test_servers_without_host() -> None:
    tree, _ = convert_swagger2({"swagger": "2.0", "basePath": "/api/v1", "paths": {}}, "s.json")
    assert tree["servers"] == [{"url": "/api/v1"}]
    tree, _ = convert_swagger2({"swagger": "2.0", "paths": {}}, "s.json")
    assert tree["servers"] == [{"url": "/"}]


def test_server_default_scheme_and_root_base_path() -> None:
    tree, _ = convert_swagger2({"swagger": "2.0", "host": "api.example.com", "basePath": "/"}, "s")
    assert tree["servers"] == [{"url": "https://api.example.com"}]
    assert tree["paths"] == {}


def test_operation_not_a_mapping_raises() -> None:
    raw = {"swagger": "2.0", "paths": {"/a": {"get": "nope"}}}
    with pytest.raises(SpecError) as info:
        convert_swagger2(raw, "bad.json")
    assert info.value.pointer == "/paths/~1a/get"


def test_load_document_converts_swagger(tmp_path: Any) -> None:
    path = tmp_path / "petstore.json"
    path.write_bytes(orjson.dumps(petstore()))
    doc = load_document(path)
    assert doc.openapi_version == "3.0"
    assert doc.original_version == "2.0"
    assert not doc.is_31
    assert doc.raw["components"]["schemas"]["Pet"]["discriminator"] == {"propertyName": "kind"}
    # converter warnings are reported on the document
    assert any(w.pointer.endswith("/collectionFormat") for w in doc.warnings)
    # normalization runs on the converted tree: missing ids are generated
    assert doc.raw["paths"]["/pets/{petId}"]["get"]["operationId"] == "get_pets_petId"
    # every $ref of the converted tree resolves
    for ref_holder in (
        doc.raw["paths"]["/pets"]["get"]["responses"]["default"],
        doc.raw["paths"]["/pets/{petId}"]["put"]["requestBody"],
        doc.raw["components"]["schemas"]["Pet"]["properties"]["owner"],
    ):
        assert isinstance(doc.resolve(ref_holder), dict)


def test_unquoted_swagger_version_in_yaml() -> None:
    doc = load_document("s.yaml", b"swagger: 2.0\ninfo: {title: t, version: '1'}\npaths: {}\n")
    assert doc.original_version == "2.0"
    assert doc.openapi_version == "3.0"
