"""The seeded practice, references checked as drchrono checks them, locked notes, exam
rooms and iframe integration, against a served drchrono twin."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.twins.drchrono.conftest import Drchrono


def state(drchrono: Drchrono) -> dict[str, list[dict[str, Any]]]:
    dump: dict[str, list[dict[str, Any]]] = drchrono.admin.get("/state").json()
    return dump


def listed(drchrono: Drchrono, path: str, **params: Any) -> list[dict[str, Any]]:
    response = drchrono.client.get(path, params={"page_size": 250, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["data"]
    return items


def found(drchrono: Drchrono, family: str, ident: Any) -> dict[str, Any]:
    response = drchrono.client.get(f"/api/{family}/{ident}")
    assert response.status_code == 200, f"{family} {ident}: {response.status_code}"
    item: dict[str, Any] = response.json()
    return item


def appointment_body(**fields: Any) -> dict[str, Any]:
    body = {
        "patient": 1,
        "doctor": 1,
        "office": 1,
        "exam_room": 1,
        "scheduled_time": "2031-02-03T09:30:00",
        "status": "",
    }
    return {**body, **fields}


def test_the_seeded_practice_refers_to_itself(drchrono: Drchrono) -> None:
    doctors = listed(drchrono, "/api/doctors")
    patients = listed(drchrono, "/api/patients")
    offices = listed(drchrono, "/api/offices")
    appointments = listed(drchrono, "/api/appointments")
    assert len(doctors) >= 3 and len(offices) >= 2 and len(patients) >= 5
    assert len({d["practice_group"] for d in doctors}) == 1

    for user in listed(drchrono, "/api/users"):
        assert found(drchrono, "doctors", user["doctor"])["id"] == int(user["doctor"])
    for office in offices:
        found(drchrono, "doctors", office["doctor"])
        assert [room["index"] for room in office["exam_rooms"]] == list(
            range(1, len(office["exam_rooms"]) + 1)
        )
    for patient in patients:
        found(drchrono, "doctors", patient["doctor"])
        for office in patient["offices"]:
            found(drchrono, "offices", office)
    assert len(appointments) >= 5
    for appointment in appointments:
        assert (
            found(drchrono, "patients", appointment["patient"])["doctor"] == appointment["doctor"]
        )
        office = found(drchrono, "offices", appointment["office"])
        assert appointment["exam_room"] in [room["index"] for room in office["exam_rooms"]]
        note = found(drchrono, "clinical_notes", appointment["id"])
        assert note["patient"] == str(appointment["patient"])
    for family in ("problems", "allergies", "medications"):
        items = listed(drchrono, f"/api/{family}")
        assert items, family
        for item in items:
            patient = found(drchrono, "patients", item["patient"])
            assert patient["doctor"] == item["doctor"]
    for medication in listed(drchrono, "/api/medications"):
        visit = found(drchrono, "appointments", medication["appointment"])
        assert visit["patient"] == medication["patient"]

    # Today's visits are on the twin clock's today, so a day view shows them.
    today = datetime.fromtimestamp(drchrono.now(), UTC).date().isoformat()
    todays = listed(drchrono, "/api/appointments", date=today)
    assert len(todays) >= 3
    assert all(a["scheduled_time"].startswith(today) for a in todays)
    # Every problem lists under its patient.
    first = patients[0]["id"]
    assert {p["patient"] for p in listed(drchrono, "/api/problems", patient=first)} == {first}


def test_references_that_do_not_exist_are_refused_in_drf_field_shape(drchrono: Drchrono) -> None:
    before = state(drchrono)
    for field in ("patient", "doctor", "office"):
        refused = drchrono.client.post("/api/appointments", json=appointment_body(**{field: 9999}))
        assert refused.status_code == 400, refused.text
        assert refused.json() == {field: ['Invalid pk "9999" - object does not exist.']}
    both = drchrono.client.post("/api/problems", json={"patient": 9999, "doctor": 8888})
    assert both.status_code == 400
    assert set(both.json()) == {"patient", "doctor"}
    medication = drchrono.client.post(
        "/api/medications", json={"patient": 1, "doctor": 1, "appointment": 9999}
    )
    assert list(medication.json()) == ["appointment"]
    # The same on a change: an existing appointment keeps its patient.
    visit = listed(drchrono, "/api/appointments")[0]
    moved = drchrono.client.patch(f"/api/appointments/{visit['id']}", json={"patient": 9999})
    assert moved.status_code == 400
    assert list(moved.json()) == ["patient"]
    assert state(drchrono) == before

    accepted = drchrono.client.post("/api/problems", json={"patient": 2, "doctor": 1})
    assert accepted.status_code == 201, accepted.text
    assert (accepted.json()["patient"], accepted.json()["doctor"]) == (2, 1)


def test_an_appointment_needs_its_required_fields(drchrono: Drchrono) -> None:
    before = state(drchrono)["appointments"]
    refused = drchrono.client.post("/api/appointments", json={"patient": 1})
    assert refused.status_code == 400
    assert refused.json() == {
        name: ["This field is required."]
        for name in ("doctor", "exam_room", "office", "scheduled_time")
    }
    assert state(drchrono)["appointments"] == before
    # A break has no patient.
    body = appointment_body(appt_is_break=True)
    del body["patient"]
    assert drchrono.client.post("/api/appointments", json=body).status_code == 201


# Per family: what drchrono requires of a create (profiles/drchrono.json `required`), and a
# body that has it, naming records of the seeded practice.
REQUIRED = {
    "patients": (("doctor", "gender"), {"doctor": 1, "gender": "Male", "first_name": "Alan"}),
    "problems": (("doctor", "patient"), {"doctor": 1, "patient": 1, "name": "Asthma"}),
    "allergies": (("doctor", "patient"), {"doctor": 1, "patient": 1, "reaction": "Hives"}),
    "medications": (("doctor", "patient"), {"doctor": 1, "patient": 1, "name": "Aspirin"}),
}


@pytest.mark.parametrize("family", sorted(REQUIRED))
def test_creates_and_replaces_need_the_fields_drchrono_requires(
    drchrono: Drchrono, family: str
) -> None:
    required, complete = REQUIRED[family]
    missing = {name: ["This field is required."] for name in required}
    before = state(drchrono)[family]
    for body in ({}, {"first_name": "Only", "name": "this"}):
        refused = drchrono.client.post(f"/api/{family}", json=body)
        assert refused.status_code == 400, refused.text
        assert refused.json() == missing
    for name in required:  # each one alone is missing, and named
        partial = {k: v for k, v in complete.items() if k != name}
        refused = drchrono.client.post(f"/api/{family}", json=partial)
        assert refused.json() == {name: ["This field is required."]}
    assert state(drchrono)[family] == before

    created = drchrono.client.post(f"/api/{family}", json=complete)
    assert created.status_code == 201, created.text
    path = f"/api/{family}/{created.json()['id']}"
    # PUT replaces the whole record, so it needs them too; PATCH changes what it sends.
    refused = drchrono.client.put(path, json={"notes": "replaced"})
    assert (refused.status_code, refused.json()) == (400, missing)
    assert drchrono.client.patch(path, json={"notes": "patched"}).status_code == 204
    assert drchrono.client.put(path, json=complete).status_code == 204
    assert {k: found(drchrono, family, created.json()["id"])[k] for k in required} == {
        k: complete[k] for k in required
    }


def test_new_appointments_and_patients_get_integer_ids_that_find_them(
    drchrono: Drchrono,
) -> None:
    patient = drchrono.client.post("/api/patients", json={"doctor": 2, "gender": "Other"})
    assert patient.status_code == 201, patient.text
    patient_id = patient.json()["id"]
    assert type(patient_id) is int  # the document's integer, not a name or a UUID
    assert found(drchrono, "patients", patient_id)["id"] == patient_id

    made = drchrono.client.post("/api/appointments", json=appointment_body(patient=patient_id))
    assert made.status_code == 201, made.text
    ident = made.json()["id"]
    # The document types an appointment's id as a string ("usually numeric"): the digits
    # of a whole number, which other records use as an integer.
    assert isinstance(ident, str) and ident.isascii() and ident.isdigit(), ident
    seeded = [int(a["id"]) for a in state(drchrono)["appointments"] if a["id"] != ident]
    assert int(ident) > max(seeded)
    assert found(drchrono, "appointments", ident)["id"] == ident
    assert found(drchrono, "clinical_notes", int(ident))["appointment"] == ident
    medication = drchrono.client.post(
        "/api/medications", json={"patient": patient_id, "doctor": 2, "appointment": int(ident)}
    )
    assert medication.status_code == 201, medication.text
    assert type(medication.json()["id"]) is int


def test_add_exam_room_adds_a_room_that_appointments_can_use(drchrono: Drchrono) -> None:
    office = listed(drchrono, "/api/offices")[-1]
    rooms = len(office["exam_rooms"])
    body = appointment_body(office=office["id"], exam_room=rooms + 1)
    refused = drchrono.client.post("/api/appointments", json=body)
    assert refused.status_code == 400
    assert list(refused.json()) == ["exam_room"]

    added = drchrono.client.post(
        f"/api/offices/{office['id']}/add_exam_room",
        json={"name": "Telehealth", "online_scheduling": True},
    )
    assert added.status_code == 201, added.text
    assert added.json()["exam_rooms"][-1] == {
        "index": rooms + 1,
        "name": "Telehealth",
        "online_scheduling": True,
    }
    assert found(drchrono, "offices", office["id"])["exam_rooms"] == added.json()["exam_rooms"]
    created = drchrono.client.post("/api/appointments", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["exam_room"] == rooms + 1

    form = drchrono.client.post(
        f"/api/offices/{office['id']}/add_exam_room", data={"online_scheduling": "false"}
    )
    assert form.status_code == 201
    assert form.json()["exam_rooms"][-1]["index"] == rooms + 2
    assert drchrono.client.post("/api/offices/9999/add_exam_room", json={}).status_code == 404
    bad = drchrono.client.post(f"/api/offices/{office['id']}/add_exam_room", json={"name": 5})
    assert bad.status_code == 400
    assert len(found(drchrono, "offices", office["id"])["exam_rooms"]) == rooms + 2


def test_a_locked_clinical_note_refuses_changes_until_it_is_unlocked(drchrono: Drchrono) -> None:
    visit = drchrono.client.post("/api/appointments", json=appointment_body()).json()
    path = f"/api/appointments/{visit['id']}"
    value = {"appointment": int(visit["id"]), "clinical_note_field": 1, "value": "stable"}
    assert drchrono.client.post("/api/clinical_note_field_values", json=value).status_code == 201
    assert drchrono.client.patch(path, json={"clinical_note": {"locked": True}}).status_code == 204
    before = state(drchrono)

    refused = [
        drchrono.client.post("/api/clinical_note_field_values", json=value),
        drchrono.client.patch(path, json={"vitals": {"height": 180.0}}),
    ]
    for response in refused:
        assert response.status_code == 403, response.text
        assert "locked" in response.json()["detail"]
    assert state(drchrono) == before
    # What is not the note's content still changes (a visit is billed after signing).
    assert drchrono.client.patch(path, json={"status": "Complete"}).status_code == 204

    unlock = {"clinical_note": {"locked": False}, "vitals": {"height": 181.0}}
    assert drchrono.client.patch(path, json=unlock).status_code == 204
    assert drchrono.client.get(path).json()["vitals"]["height"] == 181.0
    assert drchrono.client.post("/api/clinical_note_field_values", json=value).status_code == 201


def _password_token(drchrono: Drchrono, username: str) -> str:
    client = next(c for c in drchrono.admin.get("/clients").json() if c["client_id"] == "apitwin")
    base = drchrono.twin.base_url
    response = httpx.post(
        f"{base}/o/token/",
        data={"grant_type": "password", "username": username, "password": "pw"},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def test_iframe_integration_registers_and_unregisters_the_calling_doctor(
    drchrono: Drchrono,
) -> None:
    def registered() -> list[int]:
        return sorted(r["doctor"] for r in state(drchrono).get("iframe_integration", []))

    assert registered() == []
    # A token that names no user acts for the practice's owner, its first doctor.
    first = drchrono.client.post("/api/iframe_integration")
    assert first.status_code == 201, first.text
    assert first.json()["doctor"] == 1
    again = drchrono.client.post("/api/iframe_integration")
    assert (again.status_code, again.json()) == (200, first.json())

    ruiz = {"Authorization": f"Bearer {_password_token(drchrono, 'dr.ruiz')}"}
    theirs = drchrono.client.post("/api/iframe_integration", headers=ruiz)
    assert theirs.status_code == 201
    doctor = found(drchrono, "doctors", theirs.json()["doctor"])
    assert doctor["last_name"] == "Ruiz"
    assert registered() == [1, doctor["id"]]

    assert drchrono.client.delete("/api/iframe_integration").status_code == 204
    assert registered() == [doctor["id"]]
    gone = drchrono.client.delete("/api/iframe_integration")
    assert gone.status_code == 404
    assert list(gone.json()) == ["detail"]
    assert drchrono.client.delete("/api/iframe_integration", headers=ruiz).status_code == 204
    assert registered() == []

    stranger = {"Authorization": f"Bearer {_password_token(drchrono, 'nobody')}"}
    refused = drchrono.client.post("/api/iframe_integration", headers=stranger)
    assert refused.status_code == 403
    assert registered() == []
    assert httpx.post(f"{drchrono.twin.base_url}/api/iframe_integration").status_code == 401


def test_a_reset_brings_the_practice_back(drchrono: Drchrono) -> None:
    assert drchrono.client.post("/api/patients", json={"first_name": "Temp", "doctor": 2})
    assert drchrono.admin.post("/reset").status_code in (200, 204)
    names = [p["first_name"] for p in listed(drchrono, "/api/patients")]
    assert "Temp" not in names
    assert "Grace" in names
    visits = listed(drchrono, "/api/appointments")
    assert visits
    for visit in visits:
        found(drchrono, "patients", visit["patient"])


def test_a_write_to_a_record_that_does_not_exist_is_a_404(drchrono: Drchrono) -> None:
    """The reference checks let the generic handler answer it (it was a 500)."""
    for family in ("patients", "appointments", "problems"):
        for method in ("PATCH", "PUT"):
            response = drchrono.client.request(
                method, f"/api/{family}/987654", json={"doctor": 1, "patient": 1}
            )
            assert response.status_code == 404, (family, method, response.text)
            assert list(response.json()) == ["detail"]
