"""drchrono's records beyond the document: writes whose fields come as JSON, form or query
parameters; appointments with status transitions and clinical notes; the date filters;
DRF-style ``{detail}`` errors that change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.twins.drchrono.conftest import PATIENT, Drchrono


def state(drchrono: Drchrono, family: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = drchrono.admin.get("/state").json().get(family, [])
    return items


# The seeded practice's first patient, doctor, office and exam room (test_practice.py).
PRACTICE = {"patient": 1, "doctor": 1, "office": 1, "exam_room": 1}


def new_appointment(drchrono: Drchrono, day: str, **fields: Any) -> dict[str, Any]:
    response = drchrono.client.post(
        "/api/appointments",
        json={"scheduled_time": f"{day}T10:30:00", "status": "", **PRACTICE, **fields},
    )
    assert response.status_code == 201, response.text
    appointment: dict[str, Any] = response.json()
    return appointment


def test_a_form_body_creates_a_patient_with_typed_fields(drchrono: Drchrono) -> None:
    response = drchrono.client.post(
        "/api/patients",
        data={"first_name": "Mary", "last_name": "Somerville", "doctor": "3", "gender": "Female"},
    )
    assert response.status_code == 201, response.text
    patient = drchrono.client.get(f"/api/patients/{response.json()['id']}").json()
    assert (patient["first_name"], patient["last_name"], patient["doctor"]) == (
        "Mary",
        "Somerville",
        3,
    )


def test_query_parameters_update_a_patient_as_documented(drchrono: Drchrono) -> None:
    created = drchrono.client.post("/api/patients", params={**PATIENT, "first_name": "Emmy"}).json()
    path = f"/api/patients/{created['id']}"
    assert drchrono.client.patch(path, params={"last_name": "Noether"}).status_code == 204
    patient = drchrono.client.get(path).json()
    assert (patient["first_name"], patient["last_name"]) == ("Emmy", "Noether")


def test_read_only_and_unknown_fields_are_ignored(drchrono: Drchrono) -> None:
    created = drchrono.client.post(
        "/api/patients", json={**PATIENT, "id": 999999, "first_name": "Ida", "no_such_field": 1}
    ).json()
    assert created["id"] != 999999
    assert "no_such_field" not in created
    assert created["first_name"] == "Ida"


def test_bad_writes_answer_400_in_drf_shape_and_change_nothing(drchrono: Drchrono) -> None:
    before = state(drchrono, "patients")
    bad = [
        drchrono.client.post("/api/patients", json={"doctor": "not a number"}),
        drchrono.client.post("/api/patients", data={"doctor": "x7"}),
        drchrono.client.post(
            "/api/patients", content=b"{not json", headers={"content-type": "application/json"}
        ),
        drchrono.client.post("/api/patients", json=[1, 2]),
    ]
    for response in bad:
        assert response.status_code == 400, response.text
        assert list(response.json()) == ["detail"]
    assert "doctor" in bad[0].json()["detail"]
    odd = drchrono.client.post(
        "/api/patients", content=b"first_name=Ada", headers={"content-type": "text/csv"}
    )
    assert odd.status_code == 415
    assert list(odd.json()) == ["detail"]
    assert state(drchrono, "patients") == before


def test_query_fields_are_typed_as_the_resource_and_kept_within_64_bits(
    drchrono: Drchrono,
) -> None:
    # the document types `assignee_user` of a task write as an integer, the task's as a
    # string: the query text is read as the task types it
    task = drchrono.client.post("/api/tasks", params={"assignee_user": "12", "category": "3"})
    assert task.status_code == 201, task.text
    assert (task.json()["assignee_user"], task.json()["category"]) == ("12", 3)
    before = state(drchrono, "allergies")
    huge = "3252897452372250245201920"
    for refused in (
        drchrono.client.post("/api/allergies", params={"patient": huge}),
        drchrono.client.post(
            "/api/allergies",
            content=b'{"patient": ' + huge.encode() + b"}",
            headers={"content-type": "application/json"},
        ),
    ):
        assert refused.status_code == 400, refused.text
        assert refused.json() == {
            "detail": "patient: Ensure this value is less than or equal to 9223372036854775807."
        }
    assert state(drchrono, "allergies") == before


def test_appointment_status_changes_are_recorded_as_transitions(drchrono: Drchrono) -> None:
    appointment = new_appointment(drchrono, "2026-04-01")
    path = f"/api/appointments/{appointment['id']}"
    for status in ("Arrived", "In Session", "In Session", "Complete"):
        assert drchrono.client.patch(path, json={"status": status}).status_code == 204
    transitions = drchrono.client.get(path).json()["status_transitions"]
    assert [(t["from_status"], t["to_status"]) for t in transitions] == [
        ("", "Arrived"),
        ("Arrived", "In Session"),
        ("In Session", "Complete"),
    ]
    assert {t["appointment"] for t in transitions} == {str(appointment["id"])}
    assert all(t["datetime"].endswith("Z") for t in transitions)


def test_vitals_are_kept_on_the_appointment(drchrono: Drchrono) -> None:
    appointment = new_appointment(drchrono, "2026-04-02")
    path = f"/api/appointments/{appointment['id']}"
    vitals = {"blood_pressure_1": 120, "blood_pressure_2": 80, "height": 170.5}
    assert drchrono.client.patch(path, json={"vitals": vitals}).status_code == 204
    kept = drchrono.client.get(path).json()["vitals"]
    assert {k: kept[k] for k in vitals} == vitals


def test_appointments_and_clinical_notes_filter_by_date_and_date_range(drchrono: Drchrono) -> None:
    patient = drchrono.client.post("/api/patients", json={**PATIENT, "first_name": "Dated"}).json()[
        "id"
    ]
    days = ["2031-05-04", "2031-05-05", "2031-05-05", "2031-05-07"]
    made = [new_appointment(drchrono, day, patient=patient)["id"] for day in days]

    def ids(path: str, **params: Any) -> list[Any]:
        response = drchrono.client.get(path, params={"patient": patient, **params})
        assert response.status_code == 200, response.text
        return [item.get("id", item.get("appointment")) for item in response.json()["data"]]

    assert ids("/api/appointments", date="2031-05-05") == made[1:3]
    assert ids("/api/appointments", date_range="2031-05-05/2031-05-07") == made[1:]
    assert ids("/api/appointments", date_range="2031-05-01/2031-05-03") == []
    assert ids("/api/clinical_notes", date="2031-05-04") == [str(made[0])]

    first = drchrono.client.get(
        "/api/appointments",
        params={"patient": patient, "date_range": "2031-05-01/2031-05-31", "page_size": 3},
    ).json()
    assert [a["id"] for a in first["data"]] == made[:3]
    assert first["previous"] is None
    rest = drchrono.client.get(first["next"]).json()
    assert [a["id"] for a in rest["data"]] == made[3:]
    assert rest["next"] is None

    for params in ({"date": "05/05/2031"}, {"date_range": "2031-05-07/2031-05-01"}):
        refused = drchrono.client.get("/api/appointments", params=params)
        assert refused.status_code == 400
        assert list(refused.json()) == ["detail"]


def test_since_lists_what_changed_at_or_after_a_time(drchrono: Drchrono) -> None:
    old = drchrono.client.post("/api/patients", json={**PATIENT, "first_name": "Old"}).json()
    stamp = {"updated_at": "2020-01-01T00:00:00Z"}  # changed long ago, in the web UI
    assert drchrono.admin.patch(f"/state/patients/{old['id']}", json=stamp).status_code == 200
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat(timespec="seconds")
    fresh = drchrono.client.post("/api/patients", json={**PATIENT, "first_name": "New"}).json()

    listed = drchrono.client.get("/api/patients", params={"since": since, "page_size": 500}).json()
    ids = [p["id"] for p in listed["data"]]
    assert fresh["id"] in ids
    assert old["id"] not in ids
    moment = datetime.fromisoformat(since)
    for patient in listed["data"]:
        assert datetime.fromisoformat(patient["updated_at"].replace("Z", "+00:00")) >= moment
    in_2019 = drchrono.client.get("/api/patients", params={"since": "2019-12-31", "page_size": 500})
    assert old["id"] in [p["id"] for p in in_2019.json()["data"]]
    refused = drchrono.client.get("/api/patients", params={"since": "last week"})
    assert refused.status_code == 400
    assert list(refused.json()) == ["detail"]


def test_stored_times_follow_the_twin_clock_so_since_moves_with_it(drchrono: Drchrono) -> None:
    def updated(patient: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(patient["updated_at"].replace("Z", "+00:00"))

    before = drchrono.client.post("/api/patients", json={**PATIENT, "first_name": "Before"}).json()
    drchrono.advance(3 * 86400)
    after = drchrono.client.post("/api/patients", json={**PATIENT, "first_name": "After"}).json()
    assert updated(after) - updated(before) >= timedelta(days=3)
    assert updated(after) > datetime.now(UTC) + timedelta(days=2)  # the twin's, not the wall's

    since = (updated(before) + timedelta(days=1)).isoformat()
    listed = drchrono.client.get("/api/patients", params={"since": since, "page_size": 500})
    ids = [p["id"] for p in listed.json()["data"]]
    assert after["id"] in ids
    assert before["id"] not in ids

    drchrono.advance(86400)  # an update stamps the twin's time too
    path = f"/api/patients/{before['id']}"
    assert drchrono.client.patch(path, json={"last_name": "Later"}).status_code == 204
    assert updated(drchrono.client.get(path).json()) - updated(after) >= timedelta(days=1)


def test_admin_state_writes_are_checked(drchrono: Drchrono) -> None:
    appointment = new_appointment(drchrono, "2026-04-03")
    bad = drchrono.admin.patch(
        f"/state/appointments/{appointment['id']}", json={"duration": "long"}
    )
    assert bad.status_code == 400
    assert drchrono.client.get(f"/api/appointments/{appointment['id']}").json() == appointment
    assert drchrono.admin.patch("/state/nothing/1", json={}).status_code == 404
    assert drchrono.admin.delete("/state/appointments/no-such-id").status_code == 404


def test_webhook_registrations_are_checked(drchrono: Drchrono) -> None:
    def register(**body: Any) -> httpx.Response:
        fields = {
            "callback_url": "http://127.0.0.1:9/hook",
            "secret_token": "s",
            "events": ["TASK_CREATE"],
        }
        return drchrono.admin.post("/webhooks", json={**fields, **body})

    outside = register(callback_url="http://hooks.example.com/drchrono")
    assert outside.status_code == 400
    assert "--webhook-allow hooks.example.com" in outside.json()["message"]
    assert "NO_SUCH_EVENT" in register(events=["NO_SUCH_EVENT"]).json()["message"]
    assert register(secret_token="").status_code == 400
    missing = drchrono.admin.post("/webhooks", json={"callback_url": "http://127.0.0.1:9/hook"})
    assert missing.status_code == 400
    # Nothing listens on port 9: registered, but not verified.
    unreachable = register()
    assert unreachable.status_code == 201
    assert unreachable.json()["verified"] is False
    assert unreachable.json()["verification"]["error"]
    assert drchrono.admin.delete(f"/webhooks/{unreachable.json()['id']}").status_code == 200
    assert drchrono.admin.get(f"/webhooks/{unreachable.json()['id']}").status_code == 404
