"""Checks of a document that cost too much for every start-up: `apitwin check` and
`apitwin serve --verbose` run them to list the defects a user should know about."""

from __future__ import annotations

from apitwin.engine.media import is_json
from apitwin.engine.twin import Twin
from apitwin.spec.operations import NO_EXAMPLE, MediaSpec

__all__ = ["audit_examples"]


def _check(twin: Twin, media: MediaSpec, direction: str) -> None:
    if media.example is NO_EXAMPLE or media.schema is None or not is_json(media.media_type):
        return
    validator = twin.validators.get(media.schema, media.pointer, direction)
    if validator is None:
        return
    issues = validator.issues(media.example, limit=1)
    if issues:
        issue = issues[0]
        twin.doc.warn(
            media.example_pointer,
            f"example does not match its schema at {issue.path}: {issue.message}; "
            "the twin synthesizes a body instead",
        )


def audit_examples(twin: Twin) -> None:
    """Warn, with the example's JSON pointer, about every JSON example its schema refuses."""
    for compiled in twin.operations:
        operation = compiled.operation
        if operation.request_body is not None:
            for media in operation.request_body.content.values():
                _check(twin, media, "request")
        for response in operation.responses.values():
            for media in response.content.values():
                _check(twin, media, "response")
