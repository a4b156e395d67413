"""Form bodies: urlencoded and multipart decoding, coercion, bracket keys, malformed input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from apitwin.schema.forms import (
    FormError,
    compile_form,
    decode_multipart,
    decode_urlencoded,
    parse_multipart,
)
from apitwin.spec.document import SpecDocument
from apitwin.spec.operations import read_operations

SPECS = Path(__file__).resolve().parents[2] / "src" / "apitwin" / "twins" / "specs"

DOC = SpecDocument(
    source="test.json",
    raw={
        "openapi": "3.0.3",
        "components": {
            "schemas": {
                "Post": {
                    "type": "object",
                    "properties": {
                        "title": {"type": "string"},
                        "score": {"type": "integer"},
                    },
                },
                "Form": {
                    "type": "object",
                    "properties": {
                        "count": {"type": "integer"},
                        "ratio": {"type": "number"},
                        "active": {"type": "boolean"},
                        "name": {"type": "string"},
                        "ids": {"type": "array", "items": {"type": "integer"}},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "user": {
                            "type": "object",
                            "properties": {
                                "age": {"type": "integer"},
                                "address": {
                                    "type": "object",
                                    "properties": {"zip": {"type": "integer"}},
                                },
                            },
                        },
                        "posts": {"type": "array", "items": {"$ref": "#/components/schemas/Post"}},
                        "meta": {"type": "object", "properties": {"v": {"type": "integer"}}},
                        "avatar": {"type": "string", "format": "binary"},
                        "photos": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                        },
                        "attachment": {},
                        "literal[key]": {"type": "integer"},
                    },
                },
            }
        },
    },
    openapi_version="3.0",
    original_version="3.0.3",
)
FORM = compile_form(DOC, {"$ref": "#/components/schemas/Form"}, "/paths/~1x/post")
BOUNDARY = "----formBoundary7MA4YWxk"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def multipart(*parts: tuple[str, bytes, dict[str, str]], boundary: str = BOUNDARY) -> bytes:
    """Build a body by hand: (disposition params, content, extra headers) per part."""
    out = b""
    for disposition, content, headers in parts:
        out += f"--{boundary}\r\n".encode()
        out += f"Content-Disposition: form-data; {disposition}\r\n".encode()
        for key, value in headers.items():
            out += f"{key}: {value}\r\n".encode()
        out += b"\r\n" + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def field(name: str, value: str, **headers: str) -> tuple[str, bytes, dict[str, str]]:
    return (f'name="{name}"', value.encode(), headers)


def upload(
    name: str, filename: str, content: bytes, content_type: str = "application/octet-stream"
) -> tuple[str, bytes, dict[str, str]]:
    return (f'name="{name}"; filename="{filename}"', content, {"Content-Type": content_type})


# --------------------------------------------------------------------------- urlencoded


def test_urlencoded_scalars_are_coerced() -> None:
    body = b"count=3&ratio=0.5&active=true&name=12&extra=7"
    assert FORM.urlencoded(body) == {
        "count": 3,
        "ratio": 0.5,
        "active": True,
        "name": "12",
        "extra": "7",
    }


def test_urlencoded_invalid_values_stay_strings() -> None:
    assert FORM.urlencoded(b"count=3.5&active=yes&ratio=abc") == {
        "count": "3.5",
        "active": "yes",
        "ratio": "abc",
    }


def test_urlencoded_decoding_and_blanks() -> None:
    body = b"name=J%C3%BCrgen+M%C3%BCller&count=&tags=a%26b"
    assert FORM.urlencoded(body) == {
        "name": "J\u00fcrgen M\u00fcller",
        "count": "",
        "tags": ["a&b"],
    }


def test_urlencoded_arrays_from_repeats_and_brackets() -> None:
    assert FORM.urlencoded(b"ids=1&ids=2&tags[]=x&tags[]=y") == {"ids": [1, 2], "tags": ["x", "y"]}
    assert FORM.urlencoded(b"ids=5") == {"ids": [5]}
    assert FORM.urlencoded(b"ids[1]=20&ids[0]=10") == {"ids": [10, 20]}
    # An undeclared key sent as key[] is still an array.
    assert FORM.urlencoded(b"other[]=1") == {"other": ["1"]}


def test_urlencoded_repeated_scalar_keeps_the_last() -> None:
    assert FORM.urlencoded(b"count=1&count=2") == {"count": 2}


def test_urlencoded_nested_objects_from_bracket_keys() -> None:
    body = b"user[age]=30&user[address][zip]=12345&user[nick]=jo&user%5Bpet%5D=cat"
    assert FORM.urlencoded(body) == {
        "user": {"age": 30, "address": {"zip": 12345}, "nick": "jo", "pet": "cat"}
    }


def test_urlencoded_rails_arrays_of_objects() -> None:
    body = b"posts[][title]=a&posts[][score]=1&posts[][title]=b&posts[][score]=2"
    assert FORM.urlencoded(body) == {
        "posts": [{"title": "a", "score": 1}, {"title": "b", "score": 2}]
    }


def test_urlencoded_property_named_with_brackets_is_taken_literally() -> None:
    assert FORM.urlencoded(b"literal[key]=4") == {"literal[key]": 4}


def test_urlencoded_malformed_brackets_keep_the_key_whole() -> None:
    assert FORM.urlencoded(b"a[b=1&c]d[=2") == {"a[b": "1", "c]d[": "2"}


def test_urlencoded_hostile_keys_do_not_break_decoding() -> None:
    deep = "a" + "[x]" * 5000
    assert FORM.urlencoded(f"{deep}=1".encode()) == {deep: "1"}
    # Only ASCII digits are list indexes; anything else makes an object.
    assert FORM.urlencoded("ids[\u00b2]=1".encode()) == {"ids": {"\u00b2": "1"}}
    assert FORM.urlencoded(b"ids[99999999999]=1") == {"ids": {"99999999999": "1"}}


def test_decode_urlencoded_one_off() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    assert decode_urlencoded(b"n=9", DOC, schema, "/x") == {"n": 9}


# --------------------------------------------------------------------------- multipart


def test_multipart_fields_are_coerced() -> None:
    body = multipart(
        field("count", "42"),
        field("active", "false"),
        field("ids", "1"),
        field("ids", "2"),
        field("user[age]", "7"),
        field("name", "caf\u00e9"),
    )
    assert FORM.multipart(body, CONTENT_TYPE) == {
        "count": 42,
        "active": False,
        "ids": [1, 2],
        "user": {"age": 7},
        "name": "caf\u00e9",
    }


def test_multipart_binary_file_is_a_latin1_string() -> None:
    content = bytes(range(256)) + b"\r\n--not-the-boundary\r\n"
    body = multipart(upload("avatar", "me.png", content, "image/png"))
    decoded = FORM.multipart(body, CONTENT_TYPE)
    assert isinstance(decoded["avatar"], str)
    assert decoded["avatar"].encode("latin-1") == content


def test_multipart_file_without_string_schema_is_described() -> None:
    body = multipart(upload("attachment", "r\u00e9sum\u00e9.pdf", b"%PDF-1.7", "application/pdf"))
    assert FORM.multipart(body, CONTENT_TYPE) == {
        "attachment": {
            "filename": "r\u00e9sum\u00e9.pdf",
            "content_type": "application/pdf",
            "size": 8,
        }
    }
    undeclared = multipart(('name="x"; filename="a"', b"abc", {}))
    assert FORM.multipart(undeclared, CONTENT_TYPE) == {
        "x": {"filename": "a", "content_type": "application/octet-stream", "size": 3}
    }


def test_multipart_several_files_in_one_array() -> None:
    body = multipart(upload("photos", "1.jpg", b"\xff\xd8one"), upload("photos", "2.jpg", b"two"))
    assert FORM.multipart(body, CONTENT_TYPE) == {"photos": ["\xff\xd8one", "two"]}


def test_multipart_json_parts() -> None:
    body = multipart(
        field("meta", '{"v": 1}', **{"Content-Type": "application/json"}),
        field("tags", '["a"]', **{"Content-Type": "application/json; charset=utf-8"}),
        field("user", '{"age": 5}'),
        field("name", "{not json", **{"Content-Type": "application/json"}),
    )
    assert FORM.multipart(body, CONTENT_TYPE) == {
        "meta": {"v": 1},
        "tags": ["a"],
        "user": {"age": 5},
        "name": "{not json",
    }


def test_multipart_quoted_boundary_and_preamble() -> None:
    body = b"preamble text\r\n" + multipart(field("count", "1"), boundary="a b")
    assert FORM.multipart(body, 'Multipart/Form-Data; boundary="a b"') == {"count": 1}


def test_multipart_empty_body_has_no_fields() -> None:
    assert FORM.multipart(b"", CONTENT_TYPE) == {}


def test_decode_multipart_one_off() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    assert decode_multipart(multipart(field("n", "3")), CONTENT_TYPE, DOC, schema, "/x") == {"n": 3}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (multipart(field("a", "1")), "multipart/form-data"),
        (multipart(field("a", "1")), "multipart/form-data; boundary="),
        (multipart(field("a", "1")), f"multipart/mixed; boundary={BOUNDARY}"),
        (multipart(field("a", "1")), "multipart/form-data; boundary=" + "x" * 71),
        (multipart(field("a", "1")), "multipart/form-data; boundary=other"),
        (multipart(field("a", "1"))[:-10], CONTENT_TYPE),
        (b"just some text", CONTENT_TYPE),
        (f"--{BOUNDARY}\r\nX-Note: 1\r\n\r\nv\r\n--{BOUNDARY}--\r\n".encode(), CONTENT_TYPE),
        (multipart(('filename="f"', b"v", {})), CONTENT_TYPE),
        (
            f"--{BOUNDARY}\r\nContent-Disposition: attachment; name=a\r\n\r\nv\r\n"
            f"--{BOUNDARY}--\r\n".encode(),
            CONTENT_TYPE,
        ),
        (f"--{BOUNDARY}\r\nno colon here\r\n\r\nv\r\n--{BOUNDARY}--\r\n".encode(), CONTENT_TYPE),
    ],
    ids=[
        "no-boundary",
        "blank-boundary",
        "not-form-data",
        "boundary-too-long",
        "wrong-boundary",
        "truncated",
        "not-multipart",
        "no-disposition",
        "no-name",
        "not-form-data-part",
        "bad-header-line",
    ],
)
def test_malformed_multipart_raises_form_error(body: bytes, content_type: str) -> None:
    with pytest.raises(FormError):
        FORM.multipart(body, content_type)


def test_parse_multipart_parts() -> None:
    body = multipart(field("a", "1"), upload("f", "x.txt", b"hi", "text/plain"))
    parts = parse_multipart(body, CONTENT_TYPE)
    assert [(p.name, p.filename, p.content_type, p.data) for p in parts] == [
        ("a", None, None, b"1"),
        ("f", "x.txt", "text/plain", b"hi"),
    ]


# --------------------------------------------------------------------------- bundled specs


def _load(name: str) -> SpecDocument:
    raw: dict[str, Any] = orjson.loads((SPECS / name).read_bytes())
    version = "3.1" if raw["openapi"].startswith("3.1") else "3.0"
    return SpecDocument(
        source=name, raw=raw, openapi_version=version, original_version=raw["openapi"]
    )


def test_bundled_upload_forms() -> None:
    discourse = _load("discourse.json")
    op = next(o for o in read_operations(discourse) if o.path == "/uploads.json")
    assert op.request_body is not None
    media = op.request_body.content["multipart/form-data"]
    form = compile_form(discourse, media.schema, media.pointer)
    body = multipart(
        field("type", "avatar"),
        field("user_id", "12"),
        field("synchronous", "true"),
        upload("file", "a.png", b"\x89PNG", "image/png"),
    )
    assert form.multipart(body, CONTENT_TYPE) == {
        "type": "avatar",
        "user_id": 12,
        "synchronous": True,
        "file": {"filename": "a.png", "content_type": "image/png", "size": 4},
    }

    dracoon = _load("dracoon.json")
    op = next(
        o
        for o in read_operations(dracoon)
        if o.path == "/v4/user/account/avatar" and o.method == "POST"
    )
    assert op.request_body is not None
    media = op.request_body.content["multipart/form-data"]
    form = compile_form(dracoon, media.schema, media.pointer)
    decoded = form.multipart(multipart(upload("file", "a.jpg", b"\xff\xd8\xff")), CONTENT_TYPE)
    assert decoded == {"file": "\xff\xd8\xff"}
