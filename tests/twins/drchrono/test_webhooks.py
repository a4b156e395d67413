"""drchrono webhooks end to end: a real receiver on a loopback port verifies itself with
the HMAC answer, and writes through the API deliver the documented events with the
documented headers and body (drchrono.json info.description, "Webhooks")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.twins.drchrono.conftest import PATIENT, Drchrono
from tests.twins.drchrono.receiver import Receiver

HOUR = 3600.0


def create_patient(drchrono: Drchrono, **fields: Any) -> dict[str, Any]:
    response = drchrono.client.post("/api/patients", json={**PATIENT, **fields})
    assert response.status_code == 201, response.text
    patient: dict[str, Any] = response.json()
    return patient


def test_registering_verifies_the_callback_with_the_hmac_of_msg(
    drchrono: Drchrono, receiver: Receiver
) -> None:
    hook = drchrono.register(receiver, ["PATIENT_CREATE"])
    assert hook["verified"] is True
    assert hook["verification"]["status"] == 200
    assert receiver.verifications == 1
    assert drchrono.admin.get(f"/webhooks/{hook['id']}").json()["verified"] is True


def test_creating_a_patient_delivers_patient_create_with_the_documented_headers_and_body(
    drchrono: Drchrono, receiver: Receiver
) -> None:
    hook = drchrono.register(receiver, ["PATIENT_CREATE"])
    patient = create_patient(drchrono, first_name="Ada", last_name="Lovelace")

    [delivery] = receiver.wait_for(1)
    assert delivery.headers["x-drchrono-event"] == "PATIENT_CREATE"
    assert delivery.headers["x-drchrono-signature"] == receiver.secret
    assert delivery.headers["content-type"] == "application/json"
    served = drchrono.client.get(f"/api/patients/{patient['id']}").json()
    assert delivery.body["object"] == served
    assert served["first_name"] == "Ada"
    assert delivery.body["receiver"]["id"] == hook["id"]
    assert delivery.body["receiver"]["events"] == ["PATIENT_CREATE"]
    assert "secret_token" not in delivery.body["receiver"]

    [logged] = drchrono.wait_log(hook, lambda log: log and log[0]["state"] == "delivered")
    assert delivery.headers["x-drchrono-delivery"] == str(logged["id"])
    assert (logged["event"], logged["attempts"], logged["response_code"]) == (
        "PATIENT_CREATE",
        1,
        200,
    )
    assert logged["history"][0]["ms"] >= 0


def test_modifying_a_patient_delivers_patient_modify_with_the_changed_patient(
    drchrono: Drchrono, receiver: Receiver
) -> None:
    drchrono.register(receiver, ["PATIENT_MODIFY"])
    patient = create_patient(drchrono, first_name="Grace")
    response = drchrono.client.patch(f"/api/patients/{patient['id']}", json={"last_name": "Hopper"})
    assert response.status_code == 204, response.text

    [delivery] = receiver.wait_for(1)
    assert delivery.event == "PATIENT_MODIFY"
    assert delivery.body["object"]["id"] == patient["id"]
    assert delivery.body["object"]["last_name"] == "Hopper"
    assert delivery.body["object"] == drchrono.client.get(f"/api/patients/{patient['id']}").json()


def test_an_unsubscribed_event_delivers_nothing(drchrono: Drchrono, receiver: Receiver) -> None:
    """Subscribed to PATIENT_MODIFY only: the create sends nothing. One patient's events
    arrive in order, so the modification arriving first proves the create was not sent."""
    drchrono.register(receiver, ["PATIENT_MODIFY"])
    patient = create_patient(drchrono)
    drchrono.client.patch(f"/api/patients/{patient['id']}", json={"first_name": "Later"})

    delivered = receiver.wait_for(1)
    assert [d.event for d in delivered] == ["PATIENT_MODIFY"]
    assert delivered[0].body["object"]["first_name"] == "Later"


def test_a_wrong_hmac_answer_leaves_the_webhook_unverified_and_silent(
    drchrono: Drchrono, make_receiver: Callable[..., Receiver]
) -> None:
    liar = make_receiver(wrong_hmac=True)
    honest = make_receiver()
    refused = drchrono.register(liar, ["PATIENT_CREATE"])
    assert refused["verified"] is False
    assert "HMAC" in refused["verification"]["error"]
    assert liar.verifications == 1
    drchrono.register(honest, ["PATIENT_CREATE"])

    create_patient(drchrono)
    assert len(honest.wait_for(1)) == 1  # the event went out ...
    assert liar.received() == []  # ... but not to the unverified webhook
    assert drchrono.deliveries(refused) == []
    ping = drchrono.admin.post(f"/webhooks/{refused['id']}/ping")
    assert ping.status_code == 409


def test_locking_a_clinical_note_delivers_clinical_note_lock_and_unlocking_unlock(
    drchrono: Drchrono, receiver: Receiver
) -> None:
    drchrono.register(receiver, ["CLINICAL_NOTE_LOCK", "CLINICAL_NOTE_UNLOCK"])
    patient = create_patient(drchrono)
    created = drchrono.client.post(
        "/api/appointments",
        json={
            "patient": patient["id"],
            "doctor": 1,
            "office": 1,
            "exam_room": 1,
            "scheduled_time": "2026-03-02T09:00:00",
            "status": "",
        },
    )
    assert created.status_code == 201, created.text
    appointment = created.json()
    path = f"/api/appointments/{appointment['id']}"
    note = drchrono.client.get(f"/api/clinical_notes/{appointment['id']}")
    assert note.status_code == 200
    assert note.json()["appointment"] == str(appointment["id"])

    assert drchrono.client.get(path).json()["clinical_note"]["locked"] is False
    assert drchrono.client.patch(path, json={"clinical_note": {"locked": True}}).status_code == 204
    [lock] = receiver.wait_for(1)
    assert lock.event == "CLINICAL_NOTE_LOCK"
    assert lock.body["object"] == note.json()

    # A doctor unlocking it in the web UI: the admin prefix changes the appointment.
    unlocked = drchrono.admin.patch(
        f"/state/appointments/{appointment['id']}", json={"clinical_note": {"locked": False}}
    )
    assert unlocked.status_code == 200, unlocked.text
    events = [d.event for d in receiver.wait_for(2)]
    assert events == ["CLINICAL_NOTE_LOCK", "CLINICAL_NOTE_UNLOCK"]


def test_task_notes_deliver_task_modify_and_deleting_a_task_task_delete(
    drchrono: Drchrono, receiver: Receiver
) -> None:
    """TASK_MODIFY: "any time a task is modified and any time creation, modification and
    deletion of task notes"; the API cannot delete a task, the web UI (admin) can."""
    drchrono.register(receiver, ["TASK_CREATE", "TASK_MODIFY", "TASK_DELETE"])
    task = drchrono.client.post("/api/tasks", json={"title": "Call back", "status": 1}).json()
    note = drchrono.client.post("/api/task_notes", json={"task": task["id"], "text": "left a VM"})
    assert note.status_code == 201, note.text
    assert drchrono.admin.delete(f"/state/tasks/{task['id']}").status_code == 200

    delivered = receiver.wait_for(3)
    assert [d.event for d in delivered] == ["TASK_CREATE", "TASK_MODIFY", "TASK_DELETE"]
    assert {d.body["object"]["id"] for d in delivered} == {task["id"]}
    assert delivered[0].body["object"]["title"] == "Call back"


def test_one_objects_events_arrive_in_the_order_they_happened(
    drchrono: Drchrono, receiver: Receiver
) -> None:
    drchrono.register(receiver, ["PATIENT_CREATE", "PATIENT_MODIFY"])
    patients = [create_patient(drchrono, first_name="v0") for _ in range(3)]
    for version in range(1, 8):
        for patient in patients:
            drchrono.client.patch(
                f"/api/patients/{patient['id']}", json={"first_name": f"v{version}"}
            )

    delivered = receiver.wait_for(3 * 8)
    assert len(delivered) == 24
    for patient in patients:
        seen = [
            d.body["object"]["first_name"]
            for d in delivered
            if d.body["object"]["id"] == patient["id"]
        ]
        assert seen == [f"v{n}" for n in range(8)]


def test_a_failing_receiver_gets_retries_exactly_when_the_clock_passes_1_3_and_7_hours(
    drchrono: Drchrono, receiver: Receiver
) -> None:
    """ "first redeliver happens at 1 hour after the initial event, second ... 3 hours
    after the initial event, and the third ... 7 hours after the initial event"."""
    receiver.status = 500
    hook = drchrono.register(receiver, ["PATIENT_CREATE"])
    create_patient(drchrono)
    [first] = drchrono.wait_log(hook, lambda log: bool(log) and log[0]["state"] == "retrying")
    assert (first["attempts"], first["response_code"]) == (1, 500)
    event = first["created"]

    for count, after in ((2, 1 * HOUR), (3, 3 * HOUR), (4, 7 * HOUR)):
        due = event + after
        assert drchrono.deliveries(hook)[0]["next_attempt"] == due
        drchrono.advance(max(0.0, due - drchrono.now() - 5))  # 5 s before it is due
        [waiting] = drchrono.deliveries(hook)
        assert (waiting["state"], waiting["attempts"]) == ("retrying", count - 1)
        assert len(receiver.received()) == count - 1

        drchrono.advance(10)  # and past it
        assert len(receiver.wait_for(count)) == count
        [done] = drchrono.wait_log(hook, lambda log, n=count: log[0]["attempts"] == n)
        assert done["history"][-1]["status"] == 500

    assert done["state"] == "failed"
    assert done["next_attempt"] is None
    drchrono.advance(24 * HOUR)
    assert len(receiver.received()) == 4  # nothing after the schedule: redeliver by hand

    receiver.status = 200
    redelivered = drchrono.admin.post(f"/webhooks/{hook['id']}/deliveries/{done['id']}/redeliver")
    assert redelivered.status_code == 202
    [last] = drchrono.wait_log(hook, lambda log: log[0]["state"] == "delivered")
    assert (last["attempts"], last["response_code"]) == (5, 200)
    assert len(receiver.received()) == 5


def test_ping_sends_a_ping_event(drchrono: Drchrono, receiver: Receiver) -> None:
    hook = drchrono.register(receiver, ["TASK_CREATE"])
    assert drchrono.admin.post(f"/webhooks/{hook['id']}/ping").status_code == 202
    [ping] = receiver.wait_for(1)
    assert ping.event == "PING"
    assert ping.headers["x-drchrono-signature"] == receiver.secret
    assert ping.body["receiver"]["id"] == hook["id"]
