"""The seeded practice: doctors, their users, offices with exam rooms, and patients whose
appointments, clinical notes, problems, allergies and medications refer to each other.

The generic seeding gives every family three synthesized items whose ``patient`` or
``doctor`` ids name nothing. An app developer opening the twin expects one small
practice instead, where ``GET /api/appointments?date=<today>`` lists visits of patients
that ``GET /api/patients/{id}`` finds, in an office whose exam room exists. So the first
use of any of the families below seeds the whole practice at once, in that family's
seeding transaction (``semantics.seeders``), and a marker keeps the others from seeding
it again. Items start from a synthesized, schema-valid item of their family (so every
documented field is there) with the fields that matter written over it. Dates follow
the twin clock: the first appointments are today.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apitwin.behaviours.drchrono.appointments import Appointments
from apitwin.conventions.clock import TwinClock, iso
from apitwin.state.semantics import META_FAMILY, FamilyRuntime, ResourceSemantics
from apitwin.state.store import Transaction

__all__ = ["FAMILIES", "MARKER", "PracticeSeeder", "owner_doctor"]

MARKER = "drchrono:practice"
PRACTICE_GROUP = "1"
PRACTICE_NAME = "Riverside Family Practice"
# Every family this module seeds; the first one used seeds them all.
FAMILIES = (
    "doctors",
    "users",
    "offices",
    "patients",
    "appointments",
    "clinical_notes",
    "problems",
    "allergies",
    "medications",
)

_DOCTORS = (
    ("Amara", "Okafor", "Family Medicine", "dr.okafor"),
    ("Tomás", "Ruiz", "Pediatrics", "dr.ruiz"),
    ("Mei", "Lin", "Cardiology", "dr.lin"),
)
# (name, city, owner doctor index, exam room names)
_OFFICES = (
    ("Riverside Main", "Springfield", 0, ("Exam 1", "Exam 2", "Procedure")),
    ("Riverside North", "Shelbyville", 1, ("Exam A", "Exam B")),
)
# (first, last, gender, date of birth, doctor index, office indexes)
_PATIENTS = (
    ("Grace", "Hopper", "Female", "1956-12-09", 0, (0,)),
    ("Alan", "Turing", "Male", "1962-06-23", 0, (0, 1)),
    ("Ada", "Byron", "Female", "2015-12-10", 1, (1,)),
    ("Rosalind", "Franklin", "Female", "1970-07-25", 2, (0,)),
    ("Niels", "Bohr", "Male", "1985-10-07", 2, (0,)),
)
# (patient index, office index, exam room index, day offset, hour, status, note locked)
_APPOINTMENTS = (
    (0, 0, 1, 0, 9, "Arrived", False),
    (1, 0, 2, 0, 10, "", False),
    (2, 1, 1, 0, 11, "Checked In", False),
    (3, 0, 3, 0, 14, "", False),
    (0, 0, 1, -7, 9, "Complete", True),
    (4, 0, 2, 1, 15, "Confirmed", False),
)
# (patient index, name, ICD-10 code)
_PROBLEMS = (
    (0, "Essential hypertension", "I10"),
    (1, "Type 2 diabetes mellitus without complications", "E11.9"),
    (3, "Atrial fibrillation", "I48.91"),
    (4, "Mild intermittent asthma", "J45.20"),
)
# (patient index, allergen, reaction)
_ALLERGIES = (
    (0, "Penicillin", "Hives"),
    (2, "Peanuts", "Anaphylaxis"),
    (4, "Latex", "Contact dermatitis"),
)
# (patient index, appointment index, drug, dosage quantity, units, frequency)
_MEDICATIONS = (
    (0, 4, "Lisinopril 10 mg tablet", "1", "tablet", "once daily"),
    (1, 1, "Metformin 500 mg tablet", "1", "tablet", "twice daily"),
    (3, 3, "Apixaban 5 mg tablet", "1", "tablet", "twice daily"),
)


class PracticeSeeder:
    """Seeds the practice into the first of :data:`FAMILIES` a request uses."""

    def __init__(self, semantics: ResourceSemantics, clock: Callable[[], TwinClock]) -> None:
        self.semantics = semantics
        self.clock = clock

    def install(self) -> None:
        for name in FAMILIES:
            if name in self.semantics.runtimes:
                self.semantics.seeders[name] = self.seed

    def seed(self, tx: Transaction, runtime: FamilyRuntime) -> None:
        if tx.get(META_FAMILY, MARKER) is not None:
            return
        now = self.clock().now_in(tx)
        Practice(self, tx, now).build()


class Practice:
    """One seeding of the practice, inside one transaction."""

    def __init__(self, seeder: PracticeSeeder, tx: Transaction, now: float) -> None:
        self.runtimes = seeder.semantics.runtimes
        self.synthesizer = seeder.semantics.twin.synthesizer
        self.tx = tx
        self.stamp = iso(now)
        self.today = datetime.fromtimestamp(now, UTC).replace(
            hour=0, minute=0, second=0, microsecond=0
        )

    def build(self) -> None:
        doctors = [self._doctor(*row) for row in _DOCTORS]
        for doctor, row in zip(doctors, _DOCTORS, strict=True):
            self._user(doctor, row[3])
        offices = [
            self._office(name, city, doctors[owner], rooms) for name, city, owner, rooms in _OFFICES
        ]
        patients = [
            self._patient(first, last, gender, born, doctors[doc], [offices[i] for i in where])
            for first, last, gender, born, doc, where in _PATIENTS
        ]
        appointments = [
            self._appointment(patients[p], offices[o], room, day, hour, status, locked)
            for p, o, room, day, hour, status, locked in _APPOINTMENTS
        ]
        for p, name, code in _PROBLEMS:
            self._problem(patients[p], name, code)
        for p, allergen, reaction in _ALLERGIES:
            self._allergy(patients[p], allergen, reaction)
        for p, a, drug, quantity, units, frequency in _MEDICATIONS:
            self._medication(patients[p], appointments[a], drug, quantity, units, frequency)
        self.tx.put(META_FAMILY, MARKER, {"owner": doctors[0]["id"]})

    # -- one item of a family ----------------------------------------------------------------

    def _item(
        self, family: str, fields: dict[str, Any], *, text_id: bool = False
    ) -> dict[str, Any]:
        """A synthesized item of ``family`` with ``fields`` over it, stored under a fresh
        id from the family's sequence (so later creates never collide with it)."""
        runtime = self.runtimes[family]
        serial = self.tx.next_id(family)
        value = self.synthesizer.generate(
            runtime.item_schema, runtime.item_pointer, name=f"{family}#{serial}"
        )
        item: dict[str, Any] = value if isinstance(value, dict) else {}
        for name in runtime.server_fields:  # created_at, updated_at
            item[name] = self.stamp
        item.update(fields)
        ident = str(serial) if text_id else serial
        item[runtime.family.id_field] = ident
        self.tx.put(family, str(ident), item)
        return item

    def _doctor(self, first: str, last: str, specialty: str, username: str) -> dict[str, Any]:
        return self._item(
            "doctors",
            {
                "first_name": first,
                "last_name": last,
                "specialty": specialty,
                "email": f"{username.replace('dr.', '')}@riverside.example",
                "job_title": "Provider/Staff (Private Practice)",
                "practice_group": PRACTICE_GROUP,
                "practice_group_name": PRACTICE_NAME,
                "is_account_suspended": False,
                "country": "US",
                "timezone": "US/Eastern",
                "suffix": "MD",
            },
        )

    def _user(self, doctor: dict[str, Any], username: str) -> dict[str, Any]:
        return self._item(
            "users",
            {
                "username": username,
                "doctor": str(doctor["id"]),
                "is_doctor": "true",
                "is_staff": "false",
                "practice_group": PRACTICE_GROUP,
            },
            text_id=True,
        )

    def _office(
        self, name: str, city: str, owner: dict[str, Any], rooms: tuple[str, ...]
    ) -> dict[str, Any]:
        return self._item(
            "offices",
            {
                "name": name,
                "city": city,
                "state": "IL",
                "country": "US",
                "doctor": str(owner["id"]),
                "archived": False,
                "online_scheduling": True,
                "start_time": "08:00:00",
                "end_time": "18:00:00",
                "exam_rooms": [
                    {"index": index, "name": room, "online_scheduling": True}
                    for index, room in enumerate(rooms, start=1)
                ],
            },
        )

    def _patient(
        self,
        first: str,
        last: str,
        gender: str,
        born: str,
        doctor: dict[str, Any],
        offices: list[dict[str, Any]],
    ) -> dict[str, Any]:
        return self._item(
            "patients",
            {
                "first_name": first,
                "last_name": last,
                "gender": gender,
                "date_of_birth": born,
                "doctor": doctor["id"],
                "offices": [office["id"] for office in offices],
                "chart_id": f"{last[:4].upper()}{first[:2].upper()}000001",
                "email": f"{first.lower()}.{last.lower()}@patients.example",
                "patient_status": "A",
            },
        )

    def _appointment(
        self,
        patient: dict[str, Any],
        office: dict[str, Any],
        room: int,
        day: int,
        hour: int,
        status: str,
        locked: bool,
    ) -> dict[str, Any]:
        when = self.today + timedelta(days=day, hours=hour)
        appointment = self._item(
            "appointments",
            {
                "patient": patient["id"],
                "doctor": patient["doctor"],
                "office": office["id"],
                "exam_room": room,
                "scheduled_time": when.strftime("%Y-%m-%dT%H:%M:%S"),
                "duration": 30,
                "status": status,
                "reason": "Follow-up visit" if day < 0 else "Office visit",
                "appt_is_break": False,
                "deleted_flag": False,
                "allow_overlapping": False,
                "clinical_note": {"locked": locked},
                "status_transitions": [],
            },
            text_id=True,
        )
        Appointments.ensure_note(self.tx, appointment)
        return appointment

    def _problem(self, patient: dict[str, Any], name: str, code: str) -> None:
        self._item(
            "problems",
            {
                "patient": patient["id"],
                "doctor": patient["doctor"],
                "name": name,
                "icd_code": code,
                "icd_version": "10",
                "status": "active",
                "date_diagnosis": "2020-01-15",
            },
        )

    def _allergy(self, patient: dict[str, Any], allergen: str, reaction: str) -> None:
        self._item(
            "allergies",
            {
                "patient": patient["id"],
                "doctor": patient["doctor"],
                "description": allergen,
                "reaction": reaction,
                "status": "active",
            },
        )

    def _medication(
        self,
        patient: dict[str, Any],
        appointment: dict[str, Any],
        drug: str,
        quantity: str,
        units: str,
        frequency: str,
    ) -> None:
        self._item(
            "medications",
            {
                "patient": patient["id"],
                "doctor": patient["doctor"],
                "appointment": int(appointment["id"]),
                "name": drug,
                "dosage_quantity": quantity,
                "dosage_units": units,
                "frequency": frequency,
                "status": "active",
                "date_prescribed": "2024-03-01",
            },
        )


def owner_doctor(tx: Transaction) -> int | None:
    """The practice's owner (the account the app was authorized on, when a token names no
    user): the first seeded doctor, else the first doctor stored."""
    marker = tx.get(META_FAMILY, MARKER)
    if marker is not None and tx.get("doctors", str(marker.get("owner"))) is not None:
        return int(marker["owner"])
    first = tx.list("doctors", parent=None, limit=1).items
    return int(first[0]["id"]) if first else None
