"""What ``apitwin inspect NAME`` prints: the resource families inferred for a twin.

A user whose call "does not remember" something looks here first: is the operation in a
family at all, under which role, keyed by which field, wrapped in which envelope?
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from apitwin.spec.operations import Operation
from apitwin.state.inference import Envelope, Family

__all__ = ["format_inspection"]

_HEADERS = ("FAMILY", "KIND", "COLLECTION", "ITEM", "ID", "LIST KEY", "ITEM KEY")


def _kind(family: Family) -> str:
    if family.singleton:
        return "singleton"
    if family.collection_path is None:
        return "item-only"
    if family.item_path is None:
        return "collection-only"
    return "collection"


def _key(envelope: Envelope | None) -> str:
    if envelope is None:
        return "-"
    return envelope.key if envelope.key is not None else "(bare)"


def _id(family: Family) -> str:
    if family.singleton or not family.id_field:
        return "-"
    return f"{family.id_field} ({family.id_type or 'untyped'})"


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def format_inspection(
    twin_name: str,
    families: Sequence[Family],
    unmapped: Sequence[str],
    operations: Iterable[Operation] | None = None,
    behaviour: Sequence[str] = (),
) -> str:
    """A table of the families, each followed by its roles, then the operations the twin's
    behaviour module serves or wraps, then the unmapped operations answered from the spec.

    ``operations`` (optional) adds the method and path of listed operations.
    """
    by_id = {op.operation_id: op for op in operations or ()}
    mapped = {op_id for family in families for op_id in family.operations.values()}
    total = len(by_id) if by_id else len(mapped) + len(unmapped)
    share = f" ({100 * len(mapped) // total}%)" if total else ""
    lines = [
        f"{twin_name}: {len(families)} resource families; "
        f"{len(mapped)} of {total} operations mapped{share}",
        "",
    ]
    if families:
        table: list[Sequence[str]] = [_HEADERS]
        table += [
            (
                f.name,
                _kind(f),
                f.collection_path or "-",
                f.item_path or "-",
                _id(f),
                _key(f.list_envelope),
                _key(f.item_envelope),
            )
            for f in families
        ]
        header, *body = _table(table)
        lines.append(header)
        for family, row in zip(families, body, strict=True):
            lines.append(row)
            lines.extend(_details(family))
        lines.append("")
    if behaviour:
        lines.append(
            f"Served by the twin's behaviour module ({len(behaviour)}): "
            "code for what the document cannot express"
        )
        lines.extend(_operation_rows(behaviour, by_id))
        lines.append("")
    served = set(behaviour)
    spec_only = [op_id for op_id in unmapped if op_id not in served]
    if spec_only:
        lines.append(
            f"Unmapped operations ({len(spec_only)}): in no family, answered from the spec alone"
        )
        lines.extend(_operation_rows(spec_only, by_id))
    return "\n".join(lines).rstrip() + "\n"


def _operation_rows(op_ids: Sequence[str], by_id: dict[str, Operation]) -> list[str]:
    rows: list[Sequence[str]] = []
    for op_id in op_ids:
        op = by_id.get(op_id)
        rows.append((op.method, op.path, op_id) if op else ("", "", op_id))
    return ["    " + line.strip() for line in _table(rows)]


def _details(family: Family) -> list[str]:
    """Indented lines under a family row: parent, request wrapper, then one per role."""
    lines = []
    if family.parent_params:
        parent = family.parent_family or "(no family)"
        lines.append(f"    parent: {parent} via {', '.join(family.parent_params)}")
    if family.request_keys:
        wrapped = ", ".join(f"{role}: {key}" for role, key in family.request_keys.items())
        lines.append(f"    request bodies wrapped in: {wrapped}")
    rows: list[Sequence[str]] = []
    for role, op_id in family.operations.items():
        method, path = family.routes.get(role, ("", ""))
        selector = family.selectors.get(role)
        if selector:
            path += " [" + ", ".join(f"{k}={v}" for k, v in selector.items()) + "]"
        rows.append((role, method, path, op_id))
    if rows:
        lines.extend("      " + line for line in _table(rows))
    return lines
