"""A stored item answered through a schema other than the item's own.

A family's items are stored valid for its item schema, but some operations answer them
through another one: a list item schema that types a field differently (Discourse's
badges list has `trigger` as an integer, the badge a string) or requires a field the
item may lack (its groups list requires `display_name`), or a create response that
requires a field the item does not have (DRACOON's NewCustomerResponse requires
`firstAdminUser`, which a Customer has not). An AnswerView, compiled on the operation's
first use, fixes exactly the fields where the two schemas disagree: a value the answer's
schema refuses, or a required field the item lacks, takes the request's value (a create
answers what was sent) or else the answer schema's synthesized one. Fields on which the
two schemas agree are not looked at, so an answer through the item's own schema, or one
that agrees with it, costs nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apitwin.engine.operation import ValidatorCache
from apitwin.schema.validate import CompiledValidator
from apitwin.spec.document import SpecDocument
from apitwin.state.schema_view import ObjectView, object_view

__all__ = ["AnswerView", "answer_view"]

# Keywords that say nothing about which values a schema accepts.
_PROSE = frozenset({"description", "title", "example", "examples", "deprecated", "$comment"})


@dataclass
class AnswerView:
    """The fields to check when an item is answered through one operation's schema."""

    checks: tuple[tuple[str, CompiledValidator | None, bool], ...]  # name, validator, required
    keep: frozenset[str] | None  # the answer schema's fields, when it allows no others
    synthesize: Callable[[], Any]
    _fallback: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def fallback(self) -> dict[str, Any]:
        """The answer schema's synthesized value, made the first time a field needs it."""
        if self._fallback is None:
            value = self.synthesize()
            self._fallback = value if isinstance(value, dict) else {}
        return self._fallback

    def apply(self, item: Any, sent: Any = None) -> Any:
        """``item`` as the answer schema has it; ``sent`` is the request's body, if any."""
        if not isinstance(item, dict):
            return item
        out: dict[str, Any] | None = None
        if self.keep is not None and not self.keep.issuperset(item):
            out = {k: v for k, v in item.items() if k in self.keep}
        for name, validator, required in self.checks:
            current = item if out is None else out
            if name in current:
                if validator is None or validator.is_valid(current[name]):
                    continue
            elif not required:
                continue
            if out is None:
                out = dict(item)
            if isinstance(sent, dict) and name in sent and _valid(validator, sent[name]):
                out[name] = copy.deepcopy(sent[name])
            elif name in self.fallback and _valid(validator, self.fallback[name]):
                out[name] = copy.deepcopy(self.fallback[name])
            elif not required:
                out.pop(name, None)
        return item if out is None else out


def _valid(validator: CompiledValidator | None, value: Any) -> bool:
    return validator is None or validator.is_valid(value)


def _essence(leaf: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in leaf.items() if k not in _PROSE}


def answer_view(
    doc: SpecDocument,
    validators: ValidatorCache,
    synthesize: Callable[[], Any],
    item_view: ObjectView,
    schema: Any,
    pointer: str,
    *,
    project: bool = False,
) -> AnswerView | None:
    """The view of answers through ``schema`` (at ``pointer``) of items stored valid for
    ``item_view``, or None where every stored item is already valid for it. ``project``
    keeps only the answer schema's fields (a list of references, as dnd5e's); a schema
    that allows no other fields is always projected."""
    view = object_view(doc, schema, pointer)
    if not view.properties:
        return None
    checks: list[tuple[str, CompiledValidator | None, bool]] = []
    for name, (prop, at) in view.properties.items():
        required = name in view.required
        if name in item_view.properties:
            same = _essence(item_view.leaf(name, doc)) == _essence(view.leaf(name, doc))
            if same and (not required or name in item_view.required):
                continue
        elif not required:
            continue
        checks.append((name, validators.get(prop, at, "response"), required))
    keep = frozenset(view.properties) if project or view.closed else None
    if keep is not None and keep.issuperset(item_view.properties):
        keep = None
    if not checks and keep is None:
        return None
    return AnswerView(tuple(checks), keep, synthesize)
