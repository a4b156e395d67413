"""drchrono: what its document cannot say (shared/twins/drchrono.md, docs/twins/drchrono.md).

- writes take their fields from JSON or form bodies and from the query parameters the
  document lists (it declares no request bodies): ``fields.py``
- what a write refers to (patient, doctor, office, appointment, exam room) must exist,
  and a locked clinical note refuses changes: ``references.py``
- ``since``, ``date`` and ``date_range`` filter lists: ``filters.py``
- appointments keep their status transitions and own their clinical note, whose lock
  raises the CLINICAL_NOTE_LOCK/UNLOCK webhooks: ``appointments.py``
- offices gain exam rooms: ``offices.py``
- the seeded practice, whose records refer to each other: ``practice.py``
- iframe integration, registering the calling doctor (paths from the profile's
  supplement): ``iframe.py``

The webhooks themselves are profile data (``webhooks`` in profiles/drchrono.json) served
by the generic machinery in conventions/webhooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from apitwin.behaviours.base import Behaviour
from apitwin.behaviours.drchrono.appointments import APPOINTMENTS, Appointments
from apitwin.behaviours.drchrono.fields import accept_fields
from apitwin.behaviours.drchrono.filters import filter_lists
from apitwin.behaviours.drchrono.iframe import IframeIntegration
from apitwin.behaviours.drchrono.offices import OFFICES, ExamRooms
from apitwin.behaviours.drchrono.practice import FAMILIES, PracticeSeeder
from apitwin.behaviours.drchrono.references import References
from apitwin.conventions.clock import TwinClock
from apitwin.state.store import Store

if TYPE_CHECKING:
    from apitwin.engine.twin import Twin

__all__ = ["install"]

_WRITES = ("create", "replace", "update")


class Drchrono(Behaviour):
    def __init__(self, twin: Twin) -> None:
        super().__init__(twin)
        semantics = twin.semantics
        if semantics is None:  # a stateless twin answers from the document alone
            return
        PracticeSeeder(semantics, self._clock).install()
        for runtime in semantics.runtimes.values():
            for role, op_id in runtime.family.operations.items():
                handler = self.generic(op_id)
                op = self.operations.get(op_id)
                if handler is None or op is None:
                    continue
                if role in _WRITES:
                    if runtime.family.name == APPOINTMENTS:
                        appointments = Appointments(twin.name, self._store, self._clock, runtime)
                        if role == "create":
                            handler = appointments.created(handler)
                        else:
                            handler = appointments.changed(handler, role)
                    if References.applies_to(runtime):
                        checks = References(twin.name, self._store, runtime, self._practice)
                        handler = checks.wrap(handler, role)
                    self.bind(op_id, accept_fields(twin.doc, runtime, op, handler))
                elif role == "list":
                    self.bind(
                        op_id, filter_lists(twin.doc, twin.name, self._store, runtime, op, handler)
                    )
                elif role == "action:add_exam_room" and runtime.family.name == OFFICES:
                    rooms = ExamRooms(twin.name, self._store, runtime, self._practice)
                    self.bind(op_id, rooms.add)
        iframe = IframeIntegration(twin.name, self._store, self._clock, twin.auth, self._practice)
        if "iframe_integration_create" in self.operations:
            self.bind("iframe_integration_create", iframe.register)
            self.bind("iframe_integration_delete", iframe.unregister)

    def _store(self) -> Store:
        """Looked up per use: a forked worker process replaces the store."""
        semantics = self.twin.semantics
        assert semantics is not None
        return semantics.store

    def _clock(self) -> TwinClock:
        auth = self.twin.auth
        return auth.clock if auth is not None else TwinClock(self._store(), self.twin.name)

    def _practice(self) -> None:
        """Seed the practice (once per state) before reading what a request refers to."""
        semantics = self.twin.semantics
        assert semantics is not None
        for name in FAMILIES:
            runtime = semantics.runtimes.get(name)
            if runtime is not None:
                semantics.ensure_seeded(runtime)
                return


def install(twin: Twin) -> None:
    Drchrono(twin)
