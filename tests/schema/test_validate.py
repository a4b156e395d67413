"""Compiled validators and the issues they report."""

from __future__ import annotations

from typing import Any

import pytest

from apitwin.schema.validate import Issue, build_validator, json_path

DROPLET: dict[str, Any] = {
    "type": "object",
    "required": ["droplet"],
    "properties": {
        "droplet": {
            "type": "object",
            "required": ["name", "size"],
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z]+$"},
                "size": {"type": "integer", "maximum": 8},
                "tags": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"name": {"type": "string"}}},
                },
                "region": {"enum": ["nyc", "ams"]},
            },
        }
    },
}


def test_valid_instance_has_no_issues() -> None:
    check = build_validator(DROPLET)
    instance = {"droplet": {"name": "web", "size": 2, "tags": [{"name": "a"}], "region": "ams"}}
    assert check.is_valid(instance)
    assert check.issues(instance) == []


def test_nested_failures_name_path_and_rule() -> None:
    check = build_validator(DROPLET)
    issues = check.issues(
        {"droplet": {"name": "Web", "size": "abc", "tags": [{}, {}, {"name": 1}], "region": "x"}}
    )
    assert {(i.path, i.rule) for i in issues} == {
        ("$.droplet.name", "pattern"),
        ("$.droplet.size", "type"),
        ("$.droplet.tags[2].name", "type"),
        ("$.droplet.region", "enum"),
    }
    size = next(i for i in issues if i.path == "$.droplet.size")
    assert "abc" in size.message and "integer" in size.message


def test_missing_property_is_reported_on_its_object() -> None:
    issues = build_validator(DROPLET).issues({"droplet": {"name": "web"}})
    assert len(issues) == 1
    assert issues[0].path == "$.droplet"
    assert issues[0].rule == "required"
    assert "size" in issues[0].message


def test_bound_failure_rule() -> None:
    issues = build_validator(DROPLET).issues({"droplet": {"name": "web", "size": 9}})
    assert issues == [Issue("$.droplet.size", "maximum", issues[0].message)]


def test_issue_limit() -> None:
    check = build_validator({"type": "array", "items": {"type": "integer"}})
    assert len(check.issues(["a"] * 30)) == 10
    assert len(check.issues(["a"] * 30, limit=3)) == 3


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([], "$"),
        (["droplet", "size"], "$.droplet.size"),
        ([2, "name"], "$[2].name"),
        (["rate-limit"], "$['rate-limit']"),
        (["it's"], "$['it\\'s']"),
        (["1st"], "$['1st']"),
    ],
)
def test_json_path(parts: list[str | int], expected: str) -> None:
    assert json_path(parts) == expected


def test_property_names_that_are_not_identifiers_use_brackets() -> None:
    check = build_validator({"properties": {"a/b c": {"type": "string"}}})
    assert [i.path for i in check.issues({"a/b c": 1})] == ["$['a/b c']"]


@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        ("date-time", "2024-05-01T10:00:00Z", "2024-05-01"),
        ("date", "2024-05-01", "May 1st"),
        ("time", "10:00:00Z", "ten"),
        ("email", "dev@example.com", "not-an-email"),
        ("uuid", "5f0c8f5e-7f3a-4b8e-9a1e-0c2d3e4f5a6b", "1234"),
        ("uri", "https://example.com/a", "no scheme"),
        ("ipv4", "10.0.0.1", "10.0.0.300"),
        ("ipv6", "::1", "1:2:3"),
        ("hostname", "api.example.com", "bad_host!"),
    ],
)
def test_well_known_formats_are_checked(fmt: str, good: str, bad: str) -> None:
    strict = build_validator({"type": "string", "format": fmt})
    assert strict.is_valid(good)
    assert not strict.is_valid(bad)
    assert [i.rule for i in strict.issues(bad)] == ["format"]
    assert build_validator({"type": "string", "format": fmt}, formats=False).is_valid(bad)


@pytest.mark.parametrize(
    "fmt",
    [
        "int32",
        "int64",
        "float",
        "double",
        "byte",
        "binary",
        "password",
        "made-up",
        "uri-reference",
        "regex",
        "duration",
    ],
)
def test_other_formats_are_annotations(fmt: str) -> None:
    check = build_validator({"type": "string", "format": fmt})
    assert check.is_valid("((( not anything in particular")


def test_format_applies_only_to_strings() -> None:
    check = build_validator({"format": "uuid"})
    assert check.is_valid(42)


def test_refused_schema_raises_value_error() -> None:
    with pytest.raises(ValueError, match="does not exist"):
        build_validator({"$ref": "#/components/schemas/Missing"})
    with pytest.raises(ValueError):
        build_validator({"type": "object", "required": True})


def test_values_json_cannot_hold_are_invalid_not_errors() -> None:
    check = build_validator({"type": "object"})
    assert not check.is_valid({1: "int key"})
    issues = check.issues({1: "int key"})
    assert len(issues) == 1 and issues[0].path == "$"
