"""References between drchrono records, checked on every write as the service does.

drchrono is a Django REST framework service: a field that names another record (a
problem's ``patient``, an appointment's ``doctor`` and ``office``) is a primary-key
field, and a write naming a record that does not exist is refused with a 400 whose body
maps each field to its messages (``{"patient": ["Invalid pk ..."]}``), DRF's shape for
field errors, before anything is stored. A create or full replace also needs the fields
the profile requires of its family (``required`` in profiles/drchrono.json: a patient's
``doctor`` and ``gender``, an appointment's doctor, office, room and time, ...), missing
ones answered in the same shape with DRF's "This field is required.", and an
appointment's ``exam_room`` must be the index of one of its office's rooms.

A locked clinical note is signed: its content cannot change until it is unlocked. So a
write of clinical note field values for a locked note's appointment, and a change of
the appointment's vitals while its note stays locked, are refused (403, drchrono's
"Permission Denied"), leaving everything as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apitwin.behaviours.base import json_reply, reject
from apitwin.behaviours.drchrono.appointments import APPOINTMENTS
from apitwin.engine.context import Handler, Reply, RequestContext
from apitwin.state.semantics import FamilyRuntime
from apitwin.state.store import Store, Transaction

__all__ = ["REFERENCES", "References"]

# A field name -> the family whose key it holds.
REFERENCES = {
    "patient": "patients",
    "doctor": "doctors",
    "office": "offices",
    "appointment": "appointments",
}
FIELD_VALUES = "clinical_note_field_values"
# An appointment's fields that are the content of its clinical note.
NOTE_CONTENT = ("vitals", "custom_vitals")
_REQUIRED = "This field is required."


class References:
    """Wraps the writes of one family so that they check what they refer to."""

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
        self.ready = ready  # seeds the practice first, so seeded records resolve
        view = runtime.item_view
        self.fields = tuple(
            name for name in REFERENCES if name in view.properties and name not in view.read_only
        )

    @staticmethod
    def applies_to(runtime: FamilyRuntime) -> bool:
        view = runtime.item_view
        return runtime.family.parent_family is None and (
            bool(runtime.family.required)
            or any(name in view.properties and name not in view.read_only for name in REFERENCES)
        )

    def wrap(self, inner: Handler, role: str) -> Handler:
        family = self.runtime.family.name

        def handle(ctx: RequestContext) -> Reply:
            fields = ctx.request.body if isinstance(ctx.request.body, dict) else {}
            self.ready()
            with self.store().transaction(self.twin_name, write=False) as tx:
                current: dict[str, Any] | None = None
                if role != "create":
                    current = tx.get(family, str(self.runtime.id_from(ctx.params, role)))
                absent = role != "create" and current is None
                errors = {} if absent else self._errors(tx, fields, current, role)
                if not absent and not errors:
                    self._check_lock(tx, fields, current)
            if errors:
                return json_reply(errors, 400)
            # outside this transaction: the generic handler opens its own (and answers the
            # 404 of an item that does not exist)
            return inner(ctx)

        return handle

    # -- checks -------------------------------------------------------------------------------

    def _errors(
        self,
        tx: Transaction,
        fields: dict[str, Any],
        current: dict[str, Any] | None,
        role: str,
    ) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        if role in ("create", "replace"):
            for name in self.runtime.missing(fields):
                errors[name] = [_REQUIRED]
        for name in self.fields:
            value = fields.get(name)
            if value is None or name in errors:
                continue
            if tx.get(REFERENCES[name], str(value)) is None:
                errors[name] = [f'Invalid pk "{value}" - object does not exist.']
        if self.runtime.family.name == APPOINTMENTS and "exam_room" not in errors:
            room = fields.get("exam_room")
            office_id = fields.get("office", (current or {}).get("office"))
            if room is not None and "office" not in errors and office_id is not None:
                office = tx.get("offices", str(office_id))
                rooms = office.get("exam_rooms") if office else None
                indexes = [r.get("index") for r in rooms or [] if isinstance(r, dict)]
                if isinstance(rooms, list) and room not in indexes:
                    errors["exam_room"] = [
                        f"Office {office_id} has no exam room {room} "
                        f"(its rooms: {', '.join(str(i) for i in indexes) or 'none'})."
                    ]
        return errors

    def _check_lock(
        self, tx: Transaction, fields: dict[str, Any], current: dict[str, Any] | None
    ) -> None:
        """Refuse changes to the content of a locked clinical note."""
        family = self.runtime.family.name
        if family == FIELD_VALUES:
            appointment = fields.get("appointment", (current or {}).get("appointment"))
            if appointment is not None and _locked(tx.get(APPOINTMENTS, str(appointment))):
                raise reject(
                    403,
                    f"The clinical note of appointment {appointment} is locked; "
                    "unlock it before changing its values.",
                )
        elif family == APPOINTMENTS and current is not None and _locked(current):
            note = fields.get("clinical_note")
            unlocking = isinstance(note, dict) and note.get("locked") is False
            changed = [n for n in NOTE_CONTENT if n in fields and fields[n] != current.get(n)]
            if changed and not unlocking:
                raise reject(
                    403,
                    f"The clinical note of appointment {current.get('id')} is locked; "
                    f"{', '.join(changed)} cannot change until it is unlocked.",
                )


def _locked(appointment: dict[str, Any] | None) -> bool:
    note = appointment.get("clinical_note") if appointment else None
    return isinstance(note, dict) and note.get("locked") is True
