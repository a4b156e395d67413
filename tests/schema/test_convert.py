"""OpenAPI schema objects compiled to self-contained JSON Schema 2020-12."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from apitwin.schema.convert import DRAFT_2020_12, Direction, SchemaCompiler, compile_schema
from apitwin.schema.validate import CompiledValidator, build_validator
from apitwin.spec.document import SpecDocument, SpecError, join_pointer

SPECS = sorted((Path(__file__).parents[2] / "src" / "apitwin" / "twins" / "specs").glob("*.json"))


def make_doc(
    schemas: dict[str, Any], *, version: str = "3.0.3", paths: dict[str, Any] | None = None
) -> SpecDocument:
    raw = {
        "openapi": version,
        "info": {"title": "t", "version": "1"},
        "paths": paths or {},
        "components": {"schemas": schemas},
    }
    return SpecDocument(
        source="api.json",
        raw=raw,
        openapi_version="3.1" if version.startswith("3.1") else "3.0",
        original_version=version,
    )


def validator_for(
    doc: SpecDocument, name: str, direction: Direction = "response"
) -> CompiledValidator:
    pointer = join_pointer("/components/schemas", name)
    return build_validator(compile_schema(doc, doc.lookup(pointer), pointer, direction))


def messages(doc: SpecDocument) -> list[tuple[str, str]]:
    return [(w.pointer, w.message) for w in doc.warnings]


# -- OpenAPI 3.0 keywords ---------------------------------------------------------------


def test_root_is_a_2020_12_schema() -> None:
    doc = make_doc({"Name": {"type": "string"}})
    compiled = compile_schema(doc, doc.lookup("/components/schemas/Name"), "/x", "request")
    assert compiled["$schema"] == DRAFT_2020_12
    assert compiled["type"] == "string"


def test_nullable_with_type_accepts_null() -> None:
    doc = make_doc({"Name": {"type": "string", "nullable": True, "maxLength": 3}})
    check = validator_for(doc, "Name")
    assert check.is_valid(None)
    assert check.is_valid("abc")
    assert not check.is_valid("abcd")
    assert not check.is_valid(5)


def test_nullable_enum_accepts_null_but_no_other_value() -> None:
    doc = make_doc({"Size": {"type": "string", "enum": ["s", "m"], "nullable": True}})
    check = validator_for(doc, "Size")
    assert check.is_valid(None)
    assert check.is_valid("m")
    assert not check.is_valid("xl")


def test_without_nullable_null_is_rejected() -> None:
    doc = make_doc({"Name": {"type": "string"}})
    assert not validator_for(doc, "Name").is_valid(None)


def test_nullable_reference_accepts_null_and_keeps_the_target() -> None:
    doc = make_doc(
        {
            "Id": {"type": "integer", "minimum": 1},
            "Holder": {
                "type": "object",
                "properties": {"parent": {"$ref": "#/components/schemas/Id", "nullable": True}},
            },
        }
    )
    check = validator_for(doc, "Holder")
    assert check.is_valid({"parent": None})
    assert check.is_valid({"parent": 4})
    assert not check.is_valid({"parent": 0})


def test_nullable_without_type_wraps_composition() -> None:
    doc = make_doc(
        {
            "Id": {"type": "integer"},
            "MaybeId": {"nullable": True, "allOf": [{"$ref": "#/components/schemas/Id"}]},
        }
    )
    check = validator_for(doc, "MaybeId")
    assert check.is_valid(None)
    assert check.is_valid(3)
    assert not check.is_valid("3")


def test_boolean_exclusive_bounds_become_numeric() -> None:
    doc = make_doc(
        {
            "Ratio": {
                "type": "number",
                "minimum": 0,
                "exclusiveMinimum": True,
                "maximum": 1,
                "exclusiveMaximum": False,
            }
        }
    )
    check = validator_for(doc, "Ratio")
    assert not check.is_valid(0)
    assert check.is_valid(0.5)
    assert check.is_valid(1)
    assert not check.is_valid(1.5)


def test_reference_siblings_are_ignored_in_3_0() -> None:
    doc = make_doc(
        {
            "Code": {"type": "string"},
            "Short": {"$ref": "#/components/schemas/Code", "maxLength": 2, "description": "d"},
        }
    )
    check = validator_for(doc, "Short")
    assert check.is_valid("much longer than two")
    assert not check.is_valid(7)


def test_reference_siblings_apply_in_3_1() -> None:
    doc = make_doc(
        {
            "Code": {"type": "string"},
            "Short": {"$ref": "#/components/schemas/Code", "maxLength": 2},
        },
        version="3.1.0",
    )
    check = validator_for(doc, "Short")
    assert check.is_valid("ab")
    assert not check.is_valid("abc")


def test_circular_schema_validates_nested_instances() -> None:
    doc = make_doc(
        {
            "Node": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                },
            }
        }
    )
    check = validator_for(doc, "Node")
    good = {"name": "a", "children": [{"name": "b", "children": [{"name": "c"}]}]}
    assert check.is_valid(good)
    bad = {"name": "a", "children": [{"name": "b", "children": [{"name": "c"}, {"name": 3}]}]}
    issues = check.issues(bad)
    assert [(i.path, i.rule) for i in issues] == [("$.children[0].children[1].name", "type")]


def test_reference_into_paths_is_carried_at_its_pointer() -> None:
    item = {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}
    paths = {
        "/items/{id}": {
            "get": {
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": item}}}
                }
            }
        }
    }
    target = "#/paths/~1items~1%7Bid%7D/get/responses/200/content/application~1json/schema"
    doc = make_doc({"List": {"type": "array", "items": {"$ref": target}}}, paths=paths)
    compiled = compile_schema(
        doc, doc.lookup("/components/schemas/List"), "/components/schemas/List", "response"
    )
    placed = compiled["paths"]["/items/{id}"]["get"]["responses"]["200"]["content"]
    assert placed["application/json"]["schema"]["required"] == ["id"]
    check = build_validator(compiled)
    assert check.is_valid([{"id": 1}])
    assert not check.is_valid([{"id": "1"}])
    assert not check.is_valid([{}])


def test_reference_with_literal_braces_still_builds() -> None:
    # A "{" may not appear raw in a URI fragment; the emitted reference must be encoded.
    paths = {"/v/{id}": {"get": {"parameters": [{"name": "id", "schema": {"type": "integer"}}]}}}
    doc = make_doc({"Ref": {"$ref": "#/paths/~1v~1{id}/get/parameters/0/schema"}}, paths=paths)
    check = validator_for(doc, "Ref")
    assert check.is_valid(1)
    assert not check.is_valid("1")


def test_target_nested_inside_another_target() -> None:
    doc = make_doc(
        {
            "Monster": {
                "type": "object",
                "properties": {
                    "actions": {
                        "type": "array",
                        "items": {"type": "object", "required": ["name"]},
                    },
                    "boss": {"$ref": "#/components/schemas/Monster"},
                },
            },
            "Action": {"$ref": "#/components/schemas/Monster/properties/actions/items"},
            "Pair": {
                "type": "array",
                "items": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/Action"},
                        {"$ref": "#/components/schemas/Monster"},
                    ]
                },
            },
        }
    )
    check = validator_for(doc, "Pair")
    assert check.is_valid([{"name": "bite"}, {"actions": [{"name": "x"}]}])
    assert not check.is_valid([{"actions": [{}]}])
    assert validator_for(doc, "Action").issues({})[0].rule == "required"


def test_reference_into_an_extension_does_not_leak_into_other_schemas() -> None:
    doc = make_doc(
        {
            "Holder": {
                "type": "object",
                "x-parts": {"Count": {"type": "integer"}},
                "properties": {"next": {"$ref": "#/components/schemas/Holder"}},
            },
            "Counts": {
                "type": "object",
                "properties": {
                    "holder": {"$ref": "#/components/schemas/Holder"},
                    "counts": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/Holder/x-parts/Count"},
                    },
                },
            },
            "Plain": {"type": "array", "items": {"$ref": "#/components/schemas/Holder"}},
        }
    )
    compiler = SchemaCompiler(doc)

    def compiled(name: str) -> dict[str, Any]:
        pointer = f"/components/schemas/{name}"
        return compiler.compile(doc.lookup(pointer), pointer, "response")

    counts = build_validator(compiled("Counts"))
    assert counts.is_valid({"holder": {"next": {}}, "counts": [1, 2]})
    assert not counts.is_valid({"counts": ["1"]})
    assert "x-parts" not in compiled("Plain")["components"]["schemas"]["Holder"]


def test_read_only_is_not_required_in_requests() -> None:
    doc = make_doc(
        {
            "Id": {"type": "integer", "readOnly": True},
            "User": {
                "type": "object",
                "required": ["id", "created", "name", "password"],
                "properties": {
                    "id": {"$ref": "#/components/schemas/Id"},
                    "created": {"type": "string", "readOnly": True},
                    "name": {"type": "string"},
                    "password": {"type": "string", "writeOnly": True},
                },
            },
        }
    )
    request = validator_for(doc, "User", "request")
    assert request.is_valid({"name": "a", "password": "p"})
    assert request.is_valid({"id": 1, "created": "now", "name": "a", "password": "p"})
    assert not request.is_valid({"name": "a"})
    assert not request.is_valid({"name": "a", "password": "p", "id": "x"})
    response = validator_for(doc, "User", "response")
    assert response.is_valid({"id": 1, "created": "now", "name": "a"})
    assert not response.is_valid({"name": "a"})


def test_read_only_found_through_all_of() -> None:
    doc = make_doc(
        {
            "Stamp": {"type": "string", "readOnly": True},
            "Base": {"type": "object", "properties": {"id": {"type": "integer", "readOnly": True}}},
            "Pet": {
                "allOf": [{"$ref": "#/components/schemas/Base"}],
                "required": ["id", "name", "born"],
                "properties": {
                    "name": {"type": "string"},
                    "born": {"allOf": [{"$ref": "#/components/schemas/Stamp"}]},
                },
            },
        }
    )
    assert validator_for(doc, "Pet", "request").is_valid({"name": "rex"})
    response = validator_for(doc, "Pet", "response")
    assert response.is_valid({"name": "rex", "id": 1, "born": "today"})
    assert not response.is_valid({"name": "rex", "born": "today"})
    assert not response.is_valid({"name": "rex", "id": 1})


def test_openapi_annotations_are_dropped_and_format_kept() -> None:
    doc = make_doc(
        {
            "Pet": {
                "type": "object",
                "discriminator": {"propertyName": "kind"},
                "xml": {"name": "pet"},
                "externalDocs": {"url": "https://example.com"},
                "example": {"kind": "cat"},
                "examples": [{"kind": "dog"}],
                "x-internal": True,
                "properties": {"x-count": {"type": "integer", "format": "int32"}},
            }
        }
    )
    compiled = compile_schema(doc, doc.lookup("/components/schemas/Pet"), "/p", "response")
    body = {k: v for k, v in compiled.items() if k != "$schema"}
    # A property literally named "x-..." is data, not an extension; int32 becomes its range.
    assert body == {
        "type": "object",
        "properties": {
            "x-count": {
                "type": "integer",
                "format": "int32",
                "minimum": -(2**31),
                "maximum": 2**31 - 1,
            }
        },
    }


def test_integer_formats_bound_their_range() -> None:
    doc = make_doc(
        {
            "Size": {"type": "integer", "format": "int32", "minimum": 1},
            "Big": {"type": "integer", "format": "int64", "maximum": 10},
        }
    )
    size = validator_for(doc, "Size", "request")
    big = validator_for(doc, "Big", "request")
    assert size.is_valid(1) and size.is_valid(2**31 - 1)
    assert not size.is_valid(0)  # the document's own tighter bound stays
    assert not size.is_valid(2**31)
    assert big.is_valid(-(2**63)) and not big.is_valid(-(2**63) - 1)
    assert not big.is_valid(11)


# -- OpenAPI 3.1 -------------------------------------------------------------------------


def test_3_1_passes_type_lists_const_and_examples_through() -> None:
    doc = make_doc(
        {
            "Thing": {
                "type": "object",
                "properties": {
                    "label": {"type": ["string", "null"], "examples": ["x"]},
                    "kind": {"const": "thing"},
                },
                "required": ["kind"],
            }
        },
        version="3.1.0",
    )
    compiled = compile_schema(doc, doc.lookup("/components/schemas/Thing"), "/t", "request")
    assert compiled["properties"]["label"] == {"type": ["string", "null"], "examples": ["x"]}
    check = build_validator(compiled)
    assert check.is_valid({"kind": "thing", "label": None})
    assert not check.is_valid({"kind": "other"})
    assert not check.is_valid({"kind": "thing", "label": 3})
    assert doc.warnings == []


def test_nullable_is_not_a_3_1_keyword() -> None:
    doc = make_doc({"Name": {"type": "string", "nullable": True}}, version="3.1.0")
    assert not validator_for(doc, "Name").is_valid(None)


# -- defects become warnings -------------------------------------------------------------


def test_unsupported_pattern_is_dropped_with_a_warning() -> None:
    doc = make_doc(
        {
            "Codes": {
                "type": "object",
                "properties": {
                    "bad": {"type": "string", "pattern": "(?<=a"},
                    "good": {"type": "string", "pattern": "^[a-z]+$"},
                },
            }
        }
    )
    check = validator_for(doc, "Codes")
    assert check.is_valid({"bad": "anything at all"})
    assert not check.is_valid({"good": "ABC"})
    pointers = [pointer for pointer, _ in messages(doc)]
    assert pointers == ["/components/schemas/Codes/properties/bad/pattern"]


def test_unknown_types_are_dropped_with_a_warning() -> None:
    doc = make_doc(
        {
            "Upload": {"type": "file"},
            "Mixed": {"type": ["integer", "strnig"]},
        }
    )
    assert validator_for(doc, "Upload").is_valid("any value")
    mixed = validator_for(doc, "Mixed")
    assert mixed.is_valid(3)
    assert not mixed.is_valid("3")
    assert {p for p, _ in messages(doc)} == {
        "/components/schemas/Upload/type",
        "/components/schemas/Mixed/type",
    }


def test_malformed_schemas_accept_anything_with_a_warning() -> None:
    doc = make_doc(
        {
            "Odd": {
                "type": "object",
                "properties": {
                    "text": "string",
                    "gone": {"$ref": "#/components/schemas/Missing"},
                    "count": {"type": "integer", "required": True, "minimum": "0"},
                },
            }
        }
    )
    check = validator_for(doc, "Odd")
    assert check.is_valid({"text": 1, "gone": [], "count": -5})
    assert not check.is_valid({"count": "5"})
    pointers = {p for p, _ in messages(doc)}
    assert pointers == {
        "/components/schemas/Odd/properties/text",
        "/components/schemas/Odd/properties/gone",
        "/components/schemas/Odd/properties/count/required",
        "/components/schemas/Odd/properties/count/minimum",
    }


def test_external_reference_raises_spec_error() -> None:
    doc = make_doc({"Far": {"$ref": "other.yaml#/Thing"}})
    with pytest.raises(SpecError):
        validator_for(doc, "Far")


def test_compiling_leaves_the_document_untouched() -> None:
    doc = make_doc(
        {
            "Node": {
                "type": "object",
                "nullable": True,
                "required": ["id"],
                "properties": {
                    "id": {"type": "integer", "readOnly": True},
                    "next": {"$ref": "#/components/schemas/Node"},
                    "low": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
                },
            }
        }
    )
    before = copy.deepcopy(doc.raw)
    compiler = SchemaCompiler(doc)
    schema = doc.lookup("/components/schemas/Node")
    for direction in ("request", "response"):
        compiler.compile(schema, "/components/schemas/Node", direction)
    assert doc.raw == before


def test_warnings_are_not_repeated_for_each_compile() -> None:
    doc = make_doc({"Bad": {"type": "file"}})
    compiler = SchemaCompiler(doc)
    schema = doc.lookup("/components/schemas/Bad")
    for _ in range(3):
        compiler.compile(schema, "/components/schemas/Bad", "request")
        compiler.compile(schema, "/components/schemas/Bad", "response")
    assert len(doc.warnings) == 1


# -- the bundled documents ---------------------------------------------------------------

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def body_schemas(doc: SpecDocument) -> Iterator[tuple[Any, str, Direction]]:
    """Every request-body and 2xx response schema, with its pointer and direction."""
    for path, item in doc.raw.get("paths", {}).items():
        item, item_at = doc.resolve_with_pointer(item, join_pointer("/paths", path))
        for method in METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            at = join_pointer(item_at, method)
            places: list[tuple[Any, str, Direction]] = []
            if "requestBody" in operation:
                places.append(
                    (operation["requestBody"], join_pointer(at, "requestBody"), "request")
                )
            for code, response in operation.get("responses", {}).items():
                if str(code).startswith("2"):
                    places.append((response, join_pointer(at, "responses", code), "response"))
            for node, node_at, direction in places:
                node, node_at = doc.resolve_with_pointer(node, node_at)
                for media_type, media in (node.get("content") or {}).items():
                    if isinstance(media, dict) and "schema" in media:
                        pointer = join_pointer(node_at, "content", media_type, "schema")
                        yield media["schema"], pointer, direction


def load_spec(path: Path) -> SpecDocument:
    raw = orjson.loads(path.read_bytes())
    version = raw["openapi"]
    return SpecDocument(
        source=path.name,
        raw=raw,
        openapi_version="3.1" if version.startswith("3.1") else "3.0",
        original_version=version,
    )


def test_every_bundled_body_schema_compiles_and_builds() -> None:
    assert len(SPECS) == 13
    total = 0
    for path in SPECS:
        doc = load_spec(path)
        compiler = SchemaCompiler(doc)
        for schema, pointer, direction in body_schemas(doc):
            build_validator(compiler.compile(schema, pointer, direction))
            total += 1
    assert total > 1000


def test_one_of_with_a_discriminator_accepts_a_value_its_branches_share() -> None:
    """The discriminator picks the branch, so overlapping branches do not refuse a value
    (DigitalOcean's droplet actions by tag: {"type": "power_off"} fits two branches)."""
    doc = make_doc(
        {
            "Base": {"type": "object", "properties": {"type": {"type": "string"}}},
            "Named": {
                "allOf": [
                    {"$ref": "#/components/schemas/Base"},
                    {"properties": {"name": {"type": "string"}}},
                ]
            },
            "Action": {
                "discriminator": {"propertyName": "type"},
                "oneOf": [
                    {"$ref": "#/components/schemas/Base"},
                    {"$ref": "#/components/schemas/Named"},
                ],
            },
            "Plain": {
                "oneOf": [
                    {"$ref": "#/components/schemas/Base"},
                    {"$ref": "#/components/schemas/Named"},
                ],
            },
        }
    )
    assert validator_for(doc, "Action", "request").is_valid({"type": "power_off"})
    assert not validator_for(doc, "Action", "request").is_valid({"type": 5})
    assert not validator_for(doc, "Plain", "request").is_valid({"type": "power_off"})
