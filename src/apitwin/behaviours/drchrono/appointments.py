"""Appointments and the clinical notes that belong to them.

In drchrono a clinical note is the note of one appointment: ``/api/clinical_notes/{id}``
is keyed by the appointment's id, and the note's lock lives on the appointment
(``clinical_note.locked``). Locking it (``PATCH /api/appointments/{id}`` with
``{"clinical_note": {"locked": true}}``, or by the admin prefix, as a doctor signing the
note in the web UI) is what raises ``CLINICAL_NOTE_LOCK``. So every appointment gets its
note when it is created, and older appointments (seed data) get theirs before they are
changed.

Every change of ``status`` is recorded in ``status_transitions`` (``from_status``,
``to_status``, ``datetime`` on the twin clock), which drchrono lists read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from apitwin.conventions.clock import TwinClock, iso
from apitwin.engine.context import Handler, Reply, RequestContext
from apitwin.state.semantics import FamilyRuntime
from apitwin.state.store import Store, Transaction

__all__ = ["NOTES", "Appointments"]

APPOINTMENTS = "appointments"
NOTES = "clinical_notes"


class Appointments:
    def __init__(
        self,
        twin_name: str,
        store: Callable[[], Store],
        clock: Callable[[], TwinClock],
        runtime: FamilyRuntime,
    ) -> None:
        self.twin_name = twin_name
        self.store = store
        self.clock = clock
        self.runtime = runtime

    def created(self, inner: Handler) -> Handler:
        """A new appointment's note starts unlocked, and exists from the start."""

        def handle(ctx: RequestContext) -> Reply:
            fields = ctx.request.body
            if isinstance(fields, dict) and not isinstance(fields.get("clinical_note"), dict):
                fields["clinical_note"] = {"locked": False}
            reply = inner(ctx)
            if reply.status == 201:
                created = orjson.loads(reply.body)
                with self.store().transaction(self.twin_name) as tx:
                    self.ensure_note(tx, created)
            return reply

        return handle

    def changed(self, inner: Handler, role: str) -> Handler:
        def handle(ctx: RequestContext) -> Reply:
            key = str(self.runtime.id_from(ctx.params, role))
            with self.store().transaction(self.twin_name) as tx:
                before = tx.get(APPOINTMENTS, key)
                if before is not None:
                    self.ensure_note(tx, before)
            reply = inner(ctx)
            if before is None or not 200 <= reply.status < 300:
                return reply
            with self.store().transaction(self.twin_name) as tx:
                after = tx.get(APPOINTMENTS, key, for_update=True)
                if after is not None and after.get("status") != before.get("status"):
                    transitions = list(after.get("status_transitions") or [])
                    transitions.append(
                        {
                            "appointment": key,
                            "datetime": iso(self.clock().now_in(tx)),
                            "from_status": before.get("status") or "",
                            "to_status": after.get("status") or "",
                        }
                    )
                    after["status_transitions"] = transitions
                    tx.put(APPOINTMENTS, key, after)
                if after is not None and after.get("patient") != before.get("patient"):
                    note = tx.get(NOTES, key, for_update=True)
                    if note is not None:
                        note["patient"] = _text(after.get("patient"))
                        tx.put(NOTES, key, note)
            return reply

        return handle

    @staticmethod
    def ensure_note(tx: Transaction, appointment: dict[str, Any]) -> None:
        """The appointment's clinical note, made when it does not exist yet."""
        key = str(appointment.get("id"))
        if tx.get(NOTES, key) is not None:
            return
        tx.put(
            NOTES,
            key,
            {
                "appointment": key,
                "patient": _text(appointment.get("patient")),
                "archived": False,
                "clinical_note_sections": [],
            },
        )


def _text(value: Any) -> str:
    return "" if value is None else str(value)
