"""drchrono's list filters that are not equality on a field: ``since``, ``date`` and
``date_range``.

The generic lists already filter on parameters that name a field (``patient``,
``doctor``, ``office``, ``status``). drchrono also documents ``since`` on 120 operations
(incremental sync: items updated at or after that time), and ``date`` (one day) and
``date_range`` (``YYYY-MM-DD/YYYY-MM-DD``, both ends included) on appointments and
clinical notes, which are dated by the appointment's ``scheduled_time``. A list that
uses none of them costs nothing more; one that does reads the family's equality-filtered
items, keeps the matching ones and pages them in drchrono's cursor style.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from apitwin.behaviours.base import reject
from apitwin.conventions.pagination import Links, PagingError
from apitwin.engine.context import Handler, Reply, RequestContext
from apitwin.engine.operation import CompiledOperation
from apitwin.spec.document import SpecDocument
from apitwin.state.semantics import FamilyRuntime
from apitwin.state.store import Store, Transaction

__all__ = ["DATED_BY", "filter_lists"]

# Families dated by an appointment: the field holding the appointment's key ("" = itself).
DATED_BY = {"appointments": "id", "clinical_notes": "appointment"}
_NAMES = ("since", "date", "date_range")
Predicate = Callable[[Transaction, dict[str, Any]], bool]


def filter_lists(
    doc: SpecDocument,
    twin_name: str,
    store: Callable[[], Store],
    runtime: FamilyRuntime,
    op: CompiledOperation,
    inner: Handler,
) -> Handler:
    """Wrap a list handler so that ``since``, ``date`` and ``date_range`` filter it, and
    so that an id parameter filters a field that holds ids as text (a clinical note's
    ``patient`` is a string, ``?patient=`` an integer)."""
    declared = {p.spec.name for p in op.params if p.spec.location == "query"}
    equality = runtime.filters.get(op.operation_id, frozenset())
    as_text = frozenset(
        name for name in equality if runtime.item_view.leaf(name, doc).get("type") == "string"
    )
    used = tuple(name for name in _NAMES if name in declared) + tuple(as_text)
    if not used:
        return inner
    family = runtime.family.name

    def handle(ctx: RequestContext) -> Reply:
        params = ctx.params
        if not any(params.get(name) not in (None, "") for name in used):
            return inner(ctx)
        keep = _predicates(family, params)
        try:
            window = runtime.paginator.window(params)
        except PagingError as refused:
            raise reject(refused.status, refused.message) from None
        filters = {
            name: str(params[name]) if name in as_text else params[name]
            for name in equality
            if name in params and isinstance(params[name], str | int | float | bool)
        }
        with store().transaction(twin_name, write=False) as tx:
            items = tx.list(family, parent=None, filters=filters or None).items
            items = [item for item in items if all(test(tx, item) for test in keep)]
        end = None if window.take is None else window.offset + window.take
        page = items[window.offset : end]
        envelope = runtime.family.list_envelope
        key = envelope.key if envelope is not None else None
        links = Links(ctx.origin, ctx.path, ctx.parts.query)
        body = runtime.paginator.body(None, key, page, len(items), window, links)
        status, headers, payload = op.responder.reply_json(body)
        return Reply(status, headers, payload)

    return handle


def _predicates(family: str, params: dict[str, Any]) -> list[Predicate]:
    tests: list[Predicate] = []
    since = params.get("since")
    if since not in (None, ""):
        moment = _moment(str(since), "since")
        tests.append(lambda tx, item: _updated_since(item, moment))
    day, span = params.get("date"), params.get("date_range")
    if (day not in (None, "") or span not in (None, "")) and family in DATED_BY:
        if day not in (None, ""):
            first = last = _day(str(day), "date")
        if span not in (None, ""):
            start, sep, end = str(span).partition("/")
            if not sep:
                raise reject(400, "date_range: expected YYYY-MM-DD/YYYY-MM-DD")
            first, last = _day(start, "date_range"), _day(end, "date_range")
            if first > last:
                raise reject(400, "date_range: the start is after the end")
        field = DATED_BY[family]
        tests.append(lambda tx, item: _scheduled_between(tx, item, field, first, last))
    return tests


def _moment(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise reject(
            400, f"{name}: expected a date or date-time (ISO 8601), got {text!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise reject(400, f"{name}: expected YYYY-MM-DD, got {text!r}") from None


def _updated_since(item: dict[str, Any], moment: datetime) -> bool:
    stamp = item.get("updated_at")
    if not isinstance(stamp, str):
        return False
    try:
        updated = _moment(stamp, "updated_at")
    except Exception:
        return False
    return updated >= moment


def _scheduled_between(
    tx: Transaction, item: dict[str, Any], field: str, first: date, last: date
) -> bool:
    appointment = item if field == "id" else tx.get("appointments", str(item.get(field)))
    stamp = appointment.get("scheduled_time") if appointment else None
    if not isinstance(stamp, str):
        return False
    try:
        when = date.fromisoformat(stamp[:10])
    except ValueError:
        return False
    return first <= when <= last
