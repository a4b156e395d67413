"""``POST /api/offices/{id}/add_exam_room``: a new room at the end of the office's list.

An office's ``exam_rooms`` is a list of rooms, each with the ``index`` an appointment's
``exam_room`` names, a ``name`` and ``online_scheduling`` (the profile's
``document_fixes`` corrects the document, which types the list as a string). Adding a room
gives it the next index; the answer is the office with its new room (201, as documented),
and later appointments may use the room.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apitwin.behaviours.base import json_reply, reject
from apitwin.behaviours.drchrono.fields import read_body
from apitwin.engine.context import Reply, RequestContext
from apitwin.state.semantics import FamilyRuntime
from apitwin.state.store import Store

__all__ = ["ExamRooms"]

OFFICES = "offices"


class ExamRooms:
    def __init__(
        self,
        twin_name: str,
        store: Callable[[], Store],
        runtime: FamilyRuntime,
        ready: Callable[[], None],
    ) -> None:
        self.twin_name = twin_name
        self.store = store
        self.runtime = runtime
        self.ready = ready

    def add(self, ctx: RequestContext) -> Reply:
        fields = read_body(ctx)  # JSON or form: {"name": ..., "online_scheduling": ...}
        label = fields.get("name")
        if label is not None and not isinstance(label, str):
            return json_reply({"name": ["Not a valid string."]}, 400)
        online = fields.get("online_scheduling", False)
        if isinstance(online, str):
            online = {"true": True, "false": False}.get(online.lower(), online)
        if not isinstance(online, bool):
            return json_reply({"online_scheduling": ["Must be a valid boolean."]}, 400)
        self.ready()
        ident = ctx.params.get("id")
        with self.store().transaction(self.twin_name) as tx:
            office = tx.get(OFFICES, str(ident), for_update=True)
            if office is None:
                raise reject(404, "Not found.")
            rooms: list[dict[str, Any]] = [
                r for r in office.get("exam_rooms") or [] if isinstance(r, dict)
            ]
            index = max((int(r.get("index") or 0) for r in rooms), default=0) + 1
            rooms.append(
                {"index": index, "name": label or f"Exam Room {index}", "online_scheduling": online}
            )
            office["exam_rooms"] = rooms
            tx.put(OFFICES, str(ident), office)
        return json_reply(office, 201)
