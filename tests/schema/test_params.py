"""Parameter decoding: OpenAPI 3 styles, coercion toward the schema, raw parsing helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from apitwin.schema.params import (
    EMPTY,
    MISSING,
    RequestParts,
    build_shape,
    compile_parameter,
    parse_cookie_header,
    parse_query_string,
)
from apitwin.spec.document import SpecDocument
from apitwin.spec.operations import ParameterSpec, read_operations

SPECS = Path(__file__).resolve().parents[2] / "src" / "apitwin" / "twins" / "specs"

DOC = SpecDocument(
    source="test.json",
    raw={
        "openapi": "3.0.3",
        "components": {
            "schemas": {
                "Id": {"type": "integer"},
                "IdAlias": {"$ref": "#/components/schemas/Id"},
                "Color": {
                    "type": "object",
                    "properties": {
                        "R": {"type": "integer"},
                        "G": {"type": "integer"},
                        "B": {"type": "integer"},
                    },
                },
                "Node": {
                    "type": "object",
                    "properties": {
                        "depth": {"type": "integer"},
                        "child": {"$ref": "#/components/schemas/Node"},
                    },
                },
            }
        },
    },
    openapi_version="3.0",
    original_version="3.0.3",
)

STRINGS = {"type": "array", "items": {"type": "string"}}
INTS = {"type": "array", "items": {"type": "integer"}}
COLOR = {"$ref": "#/components/schemas/Color"}
RGB = {"R": 100, "G": 200, "B": 150}


def decoder(
    name: str,
    location: str,
    schema: Any,
    style: str | None = None,
    explode: bool | None = None,
    **extra: Any,
) -> Any:
    default_style = {"path": "simple", "query": "form", "header": "simple", "cookie": "form"}
    style = style or default_style[location]
    if explode is None:
        explode = style == "form"
    spec = ParameterSpec(
        name=name,
        location=location,
        required=location == "path",
        style=style,
        explode=explode,
        schema=schema,
        pointer="/paths/~1x/get/parameters/0/schema",
        **extra,
    )
    return compile_parameter(DOC, spec)


def parts(
    path: dict[str, str] | None = None,
    query: bytes = b"",
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
) -> RequestParts:
    return RequestParts(path or {}, parse_query_string(query), headers or {}, cookies or {})


# --------------------------------------------------------------------------- path


@pytest.mark.parametrize(
    ("style", "explode", "raw", "schema", "expected"),
    [
        ("simple", False, "5", {"type": "integer"}, 5),
        ("simple", False, "blue,black,brown", STRINGS, ["blue", "black", "brown"]),
        ("simple", False, "3,4,5", INTS, [3, 4, 5]),
        ("simple", False, "R,100,G,200,B,150", COLOR, RGB),
        ("simple", True, "R=100,G=200,B=150", COLOR, RGB),
        ("label", False, ".blue", {"type": "string"}, "blue"),
        ("label", False, ".blue,black,brown", STRINGS, ["blue", "black", "brown"]),
        ("label", True, ".blue.black.brown", STRINGS, ["blue", "black", "brown"]),
        ("label", False, ".R,100,G,200,B,150", COLOR, RGB),
        ("label", True, ".R=100.G=200.B=150", COLOR, RGB),
        ("matrix", False, ";color=blue", {"type": "string"}, "blue"),
        ("matrix", False, ";color", {"type": "string"}, ""),
        ("matrix", False, ";color=blue,black,brown", STRINGS, ["blue", "black", "brown"]),
        (
            "matrix",
            True,
            ";color=blue;color=black;color=brown",
            STRINGS,
            ["blue", "black", "brown"],
        ),
        ("matrix", False, ";color=R,100,G,200,B,150", COLOR, RGB),
        ("matrix", True, ";R=100;G=200;B=150", COLOR, RGB),
    ],
)
def test_path_styles(style: str, explode: bool, raw: str, schema: Any, expected: Any) -> None:
    decoded = decoder("color", "path", schema, style, explode).extract(parts(path={"color": raw}))
    assert decoded == expected


def test_path_value_without_its_style_prefix_is_left_for_the_validator() -> None:
    label = decoder("id", "path", {"type": "integer"}, "label", False)
    assert label.extract(parts(path={"id": "5"})) == "5"
    matrix = decoder("id", "path", INTS, "matrix", False)
    assert matrix.extract(parts(path={"id": ";other=5"})) == ";other=5"


def test_path_object_with_odd_pairs_stays_a_string() -> None:
    dec = decoder("color", "path", COLOR)
    assert dec.extract(parts(path={"color": "R,100,G"})) == "R,100,G"


def test_absent_path_parameter_is_missing() -> None:
    assert decoder("id", "path", {"type": "integer"}).extract(parts()) is MISSING


# --------------------------------------------------------------------------- query


def test_query_form_exploded_array_repeats_the_key() -> None:
    dec = decoder("color", "query", STRINGS)
    assert dec.extract(parts(query=b"color=blue&color=black&color=brown")) == [
        "blue",
        "black",
        "brown",
    ]


def test_query_form_exploded_array_keeps_commas_in_one_value() -> None:
    dec = decoder("color", "query", STRINGS)
    assert dec.extract(parts(query=b"color=blue,black")) == ["blue,black"]


def test_query_form_exploded_object_spreads_properties() -> None:
    dec = decoder("color", "query", COLOR)
    assert dec.extract(parts(query=b"R=100&G=200&B=150&other=1")) == RGB
    assert dec.extract(parts(query=b"other=1")) is MISSING


def test_query_form_not_exploded() -> None:
    arr = decoder("color", "query", STRINGS, "form", False)
    assert arr.extract(parts(query=b"color=blue,black,brown")) == ["blue", "black", "brown"]
    obj = decoder("color", "query", COLOR, "form", False)
    assert obj.extract(parts(query=b"color=R,100,G,200,B,150")) == RGB


def test_query_space_and_pipe_delimited() -> None:
    space = decoder("color", "query", STRINGS, "spaceDelimited", False)
    assert space.extract(parts(query=b"color=blue%20black%20brown")) == ["blue", "black", "brown"]
    assert space.extract(parts(query=b"color=blue+black")) == ["blue", "black"]
    pipe = decoder("color", "query", INTS, "pipeDelimited", False)
    assert pipe.extract(parts(query=b"color=1|2|3")) == [1, 2, 3]
    pipe_obj = decoder("color", "query", COLOR, "pipeDelimited", False)
    assert pipe_obj.extract(parts(query=b"color=R|100|G|200|B|150")) == RGB


def test_query_delimited_exploded_repeats_the_key() -> None:
    dec = decoder("color", "query", INTS, "pipeDelimited", True)
    assert dec.extract(parts(query=b"color=1&color=2")) == [1, 2]


def test_query_deep_object() -> None:
    dec = decoder("color", "query", COLOR, "deepObject", True)
    query = b"color[R]=100&color[G]=200&color[B]=150&colour[R]=1"
    assert dec.extract(parts(query=query)) == RGB
    assert dec.extract(parts(query=b"R=1")) is MISSING


def test_query_deep_object_nested_and_arrays() -> None:
    schema = {
        "type": "object",
        "properties": {
            "size": {"type": "object", "properties": {"min": {"type": "integer"}}},
            "tags": STRINGS,
            "ids": INTS,
        },
    }
    dec = decoder("filter", "query", schema, "deepObject", True)
    query = b"filter[size][min]=3&filter[tags]=a&filter[tags]=b&filter[ids][]=7"
    assert dec.extract(parts(query=query)) == {"size": {"min": 3}, "tags": ["a", "b"], "ids": [7]}


def test_query_bracketed_array_key_is_accepted() -> None:
    dec = decoder("ids", "query", INTS)
    assert dec.extract(parts(query=b"ids[]=1&ids[]=2")) == [1, 2]


def test_query_scalar_repeated_takes_the_last() -> None:
    dec = decoder("limit", "query", {"type": "integer"})
    assert dec.extract(parts(query=b"limit=1&limit=2")) == 2


def test_query_absent_is_missing() -> None:
    for schema in ({"type": "integer"}, STRINGS, COLOR):
        assert decoder("p", "query", schema).extract(parts(query=b"q=1")) is MISSING


def test_query_empty_values() -> None:
    query = parts(query=b"s=&n=&a=&flag")
    assert decoder("s", "query", {"type": "string"}).extract(query) == ""
    assert decoder("n", "query", {"type": "integer"}).extract(query) == ""
    assert decoder("flag", "query", {"type": "boolean"}).extract(query) == ""
    assert decoder("n", "query", {"type": "integer"}, allow_empty=True).extract(query) is EMPTY
    assert decoder("s", "query", {"type": "string"}, allow_empty=True).extract(query) == ""
    assert decoder("a", "query", INTS).extract(query) == []


# --------------------------------------------------------------------------- coercion


@pytest.mark.parametrize(
    ("schema", "raw", "expected"),
    [
        ({"type": "integer"}, "12", 12),
        ({"type": "integer"}, "-3", -3),
        ({"type": "integer"}, "12.5", "12.5"),
        ({"type": "integer"}, "abc", "abc"),
        ({"type": "integer"}, "1_000", "1_000"),
        ({"type": "integer"}, " 7", " 7"),
        ({"type": "number"}, "1.5", 1.5),
        ({"type": "number"}, "2", 2),
        ({"type": "number"}, "1e3", 1000.0),
        ({"type": "number"}, "1e999", "1e999"),
        ({"type": "number"}, "nan", "nan"),
        ({"type": "boolean"}, "true", True),
        ({"type": "boolean"}, "false", False),
        ({"type": "boolean"}, "True", "True"),
        ({"type": "boolean"}, "1", "1"),
        ({"type": "string"}, "12", "12"),
        ({}, "12", "12"),
        ({"type": "string", "nullable": True}, "null", "null"),
        ({"$ref": "#/components/schemas/IdAlias"}, "42", 42),
        ({"anyOf": [{"type": "integer"}, {"type": "string"}]}, "123", 123),
        ({"anyOf": [{"type": "integer"}, {"type": "string"}]}, "abc", "abc"),
        ({"oneOf": [{"type": "boolean"}, {"type": "number"}]}, "true", True),
        ({"oneOf": [{"type": "boolean"}, {"type": "number"}]}, "2.5", 2.5),
        ({"allOf": [{"$ref": "#/components/schemas/Id"}, {"minimum": 1}]}, "3", 3),
        ({"allOf": [{"type": "number"}, {"type": "integer"}]}, "3", 3),
        ({"type": ["integer", "null"]}, "8", 8),
        ({"enum": [1, 2, 3]}, "2", 2),
        ({"const": True}, "true", True),
    ],
)
def test_scalar_coercion(schema: Any, raw: str, expected: Any) -> None:
    decoded = decoder("p", "query", schema).extract(parts(query=b"p=" + raw.encode()))
    assert decoded == expected
    assert type(decoded) is type(expected)


def test_array_items_coerced_and_invalid_ones_left() -> None:
    dec = decoder("ids", "query", {"type": "array", "items": {"$ref": "#/components/schemas/Id"}})
    assert dec.extract(parts(query=b"ids=1&ids=x&ids=3")) == [1, "x", 3]


def test_array_of_booleans_in_path() -> None:
    dec = decoder("flags", "path", {"type": "array", "items": {"type": "boolean"}})
    assert dec.extract(parts(path={"flags": "true,false,yes"})) == [True, False, "yes"]


def test_string_or_array_schema_single_value_stays_scalar() -> None:
    schema = {"oneOf": [{"type": "string"}, STRINGS]}
    dec = decoder("tag", "query", schema)
    assert dec.extract(parts(query=b"tag=a")) == "a"
    assert dec.extract(parts(query=b"tag=a&tag=b")) == ["a", "b"]


def test_recursive_schema_compiles() -> None:
    shape = build_shape(DOC, {"$ref": "#/components/schemas/Node"}, "/x")
    assert shape.prop("child").prop("child") is shape.prop("child")
    dec = decoder("node", "query", {"$ref": "#/components/schemas/Node"}, "deepObject", True)
    query = b"node[depth]=1&node[child][depth]=2"
    assert dec.extract(parts(query=query)) == {"depth": 1, "child": {"depth": 2}}


def test_broken_reference_means_no_coercion() -> None:
    dec = decoder("p", "query", {"$ref": "#/components/schemas/Nope"})
    assert dec.extract(parts(query=b"p=5")) == "5"


# --------------------------------------------------------------------------- headers, cookies


def test_header_names_match_case_insensitively() -> None:
    dec = decoder("X-Rate-Limit", "header", {"type": "integer"})
    assert dec.extract(parts(headers={"x-rate-limit": "5"})) == 5
    assert dec.extract(parts(headers={"x-other": "5"})) is MISSING


def test_header_array_and_object() -> None:
    arr = decoder("X-Ids", "header", INTS)
    assert arr.extract(parts(headers={"x-ids": "1, 2,3"})) == [1, 2, 3]
    obj = decoder("X-Color", "header", COLOR, "simple", True)
    assert obj.extract(parts(headers={"x-color": "R=100, G=200, B=150"})) == RGB


def test_cookie_form_styles() -> None:
    cookies = parse_cookie_header('id=5; ids=3,4,5; color=R,100,G,200,B,150; R=1; G=2; B="3"')
    assert decoder("id", "cookie", {"type": "integer"}).extract(parts(cookies=cookies)) == 5
    assert decoder("ids", "cookie", INTS, "form", False).extract(parts(cookies=cookies)) == [
        3,
        4,
        5,
    ]
    obj = decoder("color", "cookie", COLOR, "form", False)
    assert obj.extract(parts(cookies=cookies)) == RGB
    exploded = decoder("color", "cookie", COLOR, "form", True)
    assert exploded.extract(parts(cookies=cookies)) == {"R": 1, "G": 2, "B": 3}
    assert decoder("sid", "cookie", {"type": "string"}).extract(parts(cookies=cookies)) is MISSING


# --------------------------------------------------------------------------- content


def test_json_content_parameter() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    dec = decoder("filter", "query", schema, content_type="application/json")
    assert dec.extract(parts(query=b"filter=%7B%22a%22%3A1%7D")) == {"a": 1}
    assert dec.extract(parts(query=b"filter={broken")) == "{broken"
    assert dec.extract(parts()) is MISSING
    header = decoder("X-Meta", "header", schema, content_type="application/vnd.x+json")
    assert header.extract(parts(headers={"x-meta": '{"a": [1]}'})) == {"a": [1]}
    text = decoder("q", "query", {"type": "string"}, content_type="text/plain")
    assert text.extract(parts(query=b"q=%7B%7D")) == "{}"


# --------------------------------------------------------------------------- raw parsing


def test_parse_query_string() -> None:
    assert parse_query_string(b"a=&b&c=1&c=2&d=x+y%2Bz&&e=%E2%82%AC&f=%zz") == {
        "a": [""],
        "b": [""],
        "c": ["1", "2"],
        "d": ["x y+z"],
        "e": ["\u20ac"],
        "f": ["%zz"],
    }
    assert parse_query_string(b"") == {}
    assert parse_query_string(b"k%5B%5D=1") == {"k[]": ["1"]}


def test_parse_cookie_header() -> None:
    assert parse_cookie_header('a=1; b="two words"; a=3; junk; =x; c=') == {
        "a": "1",
        "b": "two words",
        "c": "",
    }


# --------------------------------------------------------------------------- bundled specs


def _load(path: Path) -> SpecDocument:
    raw = orjson.loads(path.read_bytes())
    version = "3.1" if raw["openapi"].startswith("3.1") else "3.0"
    return SpecDocument(
        source=str(path), raw=raw, openapi_version=version, original_version=raw["openapi"]
    )


def test_every_bundled_parameter_compiles() -> None:
    paths = sorted(SPECS.glob("*.json"))
    assert len(paths) == 13
    docs = [_load(path) for path in paths]
    operations = [(doc, op) for doc in docs for op in read_operations(doc)]
    compiled = [compile_parameter(doc, p) for doc, op in operations for p in op.parameters]
    assert len(compiled) > 2900
    empty = parts()
    assert all(dec.extract(empty) is MISSING for dec in compiled)
    kinds = {dec.shape.kind for dec in compiled}
    assert "array" in kinds


def test_bundled_parameters_decode_real_values() -> None:
    dnd = _load(SPECS / "dnd5e.json")
    ops = {(op.method, op.path): op for op in read_operations(dnd)}
    level = next(p for p in ops[("GET", "/api/spells")].parameters if p.name == "level")
    assert compile_parameter(dnd, level).extract(parts(query=b"level=1&level=3")) == [1, 3]
    ocean = _load(SPECS / "digitalocean.json")
    ops = {(op.method, op.path): op for op in read_operations(ocean)}
    image = next(
        p for p in ops[("GET", "/v2/images/{image_id}")].parameters if p.name == "image_id"
    )
    dec = compile_parameter(ocean, image)
    assert dec.extract(parts(path={"image_id": "7555620"})) == 7555620
    assert dec.extract(parts(path={"image_id": "ubuntu-22-04-x64"})) == "ubuntu-22-04-x64"
