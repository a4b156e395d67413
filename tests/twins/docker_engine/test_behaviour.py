"""What the daemon does that the docker clients do not all exercise: exact status codes
and messages, State fields, filters, framed logs, the twin clock, events, system
endpoints, and the twin's own edges (stateless mode, reset, seeding, recorded pulls)."""

from __future__ import annotations

import base64
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from apitwin.behaviours.docker_catalog import recorded_pulls
from apitwin.state.memory import MemoryStore
from apitwin.state.sqlite import SQLiteStore
from apitwin.state.store import Store
from tests.twins.docker_engine.conftest import Engine

ZERO = "0001-01-01T00:00:00Z"
POSTGRES_DSN = os.environ.get("APITWIN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def message(answer: Any) -> str:
    body = answer.json()
    assert set(body) == {"message"}, body
    return str(body["message"])


def frames(body: bytes) -> list[tuple[int, bytes]]:
    """Split a multiplexed stream into (stream, payload) frames."""
    result = []
    while body:
        stream, size = body[0], int.from_bytes(body[4:8], "big")
        assert body[1:4] == b"\0\0\0"
        result.append((stream, body[8 : 8 + size]))
        body = body[8 + size :]
    return result


# -- containers ----------------------------------------------------------------------


def test_create_needs_an_image_the_twin_has(engine: Engine) -> None:
    answer = engine.post("/v1.33/containers/create", json={"Image": "busybox"})
    assert answer.status_code == 404
    assert message(answer) == "No such image: busybox:latest"
    engine.pull()
    created = engine.post("/v1.33/containers/create", json={"Image": "busybox"})
    assert created.status_code == 201
    assert re.fullmatch(r"[0-9a-f]{64}", created.json()["Id"])
    assert created.json()["Warnings"] == []


def test_state_fields_follow_the_lifecycle(engine: Engine) -> None:
    engine.pull()
    ident = engine.post(
        "/v1.33/containers/create?name=life", json={"Image": "busybox", "Cmd": ["sleep", "60"]}
    ).json()["Id"]
    state = engine.inspect("life")["State"]
    assert state == {
        "Status": "created", "Running": False, "Paused": False, "Restarting": False,
        "OOMKilled": False, "Dead": False, "Pid": 0, "ExitCode": 0, "Error": "",
        "StartedAt": ZERO, "FinishedAt": ZERO,
    }  # fmt: skip
    assert engine.post(f"/v1.33/containers/{ident}/start").status_code == 204
    assert engine.post(f"/v1.33/containers/{ident}/start").status_code == 304
    state = engine.inspect(ident)["State"]
    assert state["Status"] == "running" and state["Running"] and state["Pid"] > 0
    assert state["StartedAt"] != ZERO and state["FinishedAt"] == ZERO

    assert engine.post(f"/v1.33/containers/{ident[:12]}/pause").status_code == 204
    again = engine.post(f"/v1.33/containers/{ident}/pause")
    assert again.status_code == 409 and message(again) == f"Container {ident} is already paused"
    state = engine.inspect(ident)["State"]
    assert (state["Status"], state["Running"], state["Paused"]) == ("paused", True, True)
    assert engine.post(f"/v1.33/containers/{ident}/unpause").status_code == 204
    not_paused = engine.post(f"/v1.33/containers/{ident}/unpause")
    assert (
        not_paused.status_code == 409 and message(not_paused) == f"Container {ident} is not paused"
    )

    assert engine.post(f"/v1.33/containers/{ident}/stop").status_code == 204
    assert engine.post(f"/v1.33/containers/{ident}/stop").status_code == 304
    state = engine.inspect(ident)["State"]
    assert (state["Status"], state["Running"], state["Pid"], state["ExitCode"]) == (
        "exited", False, 0, 137,
    )  # fmt: skip
    assert state["FinishedAt"] >= state["StartedAt"]
    paused = engine.post(f"/v1.33/containers/{ident}/pause")
    assert paused.status_code == 409 and message(paused) == f"Container {ident} is not running"
    killed = engine.post("/v1.33/containers/life/kill")
    assert killed.status_code == 409 and "is not running" in message(killed)
    top = engine.get(f"/v1.33/containers/{ident}/top")
    assert top.status_code == 409


def test_unknown_containers_are_404_in_the_daemons_words(engine: Engine) -> None:
    for method, path in [
        ("GET", "/v1.33/containers/ghost/json"),
        ("POST", "/v1.33/containers/ghost/start"),
        ("DELETE", "/v1.33/containers/ghost"),
        ("GET", "/v1.33/containers/ghost/logs?stdout=1"),
    ]:
        answer = engine.request(method, path)
        assert answer.status_code == 404
        assert message(answer) == "No such container: ghost"


def test_names_are_checked_and_unique_across_rename(engine: Engine) -> None:
    engine.pull()
    bad = engine.post("/v1.33/containers/create?name=-bad", json={"Image": "busybox"})
    assert bad.status_code == 400 and "Invalid container name (-bad)" in message(bad)
    first = engine.post("/v1.33/containers/create?name=one", json={"Image": "busybox"}).json()
    engine.post("/v1.33/containers/create?name=two", json={"Image": "busybox"})
    clash = engine.post("/v1.33/containers/two/rename?name=one")
    assert clash.status_code == 409
    assert message(clash).startswith(
        f'Conflict. The container name "/one" is already in use by container "{first["Id"]}"'
    )
    assert engine.post("/v1.33/containers/two/rename?name=three").status_code == 204
    assert engine.inspect("three")["Name"] == "/three"
    assert engine.get("/v1.33/containers/two/json").status_code == 404


def test_remove_needs_force_while_running(engine: Engine) -> None:
    engine.pull()
    ident = engine.run("runner", ["sleep", "60"])
    refused = engine.delete(f"/v1.33/containers/{ident}")
    assert refused.status_code == 409
    assert message(refused) == (
        'cannot remove container "/runner": container is running: stop the container '
        "before removing or force remove"
    )
    assert engine.inspect(ident)["State"]["Running"] is True
    assert engine.delete(f"/v1.33/containers/{ident}?force=1").status_code == 204
    assert engine.get(f"/v1.33/containers/{ident}/json").status_code == 404


def test_list_all_limit_size_and_filters(engine: Engine) -> None:
    engine.pull()
    engine.pull("alpine", "3.20")
    volume = engine.post("/v1.33/volumes/create", json={"Name": "data"}).json()["Name"]
    network = engine.post("/v1.33/networks/create", json={"Name": "lan"}).json()["Id"]
    old = engine.run("old", ["sleep", "60"], Labels={"role": "db"})
    done = engine.run("done", ["true"], image="alpine:3.20")
    new = engine.run(
        "new", ["sleep", "60"], Labels={"role": "web"},
        HostConfig={"Binds": [f"{volume}:/data"], "NetworkMode": "lan"},
    )  # fmt: skip

    def names(query: str) -> list[str]:
        answer = engine.get(f"/v1.33/containers/json{query}")
        assert answer.status_code == 200, answer.text
        return [c["Names"][0] for c in answer.json()]

    def filtered(filters: dict[str, list[str]], everything: bool = True) -> list[str]:
        encoded = orjson.dumps(filters).decode()
        return names(f"?all={int(everything)}&filters={encoded}")

    assert names("") == ["/new", "/old"]  # running only, newest first
    assert names("?all=1") == ["/new", "/done", "/old"]
    assert names("?all=true&limit=2") == ["/new", "/done"]
    assert filtered({"status": ["exited"]}) == ["/done"]
    assert filtered({"label": ["role"]}) == ["/new", "/old"]
    assert filtered({"label": ["role=db"]}) == ["/old"]
    assert filtered({"name": ["ol"]}) == ["/old"]
    assert filtered({"id": [done[:8]]}) == ["/done"]
    assert filtered({"ancestor": ["alpine:3.20"]}) == ["/done"]
    assert filtered({"network": ["lan"]}) == ["/new"]
    assert filtered({"network": [network]}) == ["/new"]
    assert filtered({"volume": ["data"]}) == ["/new"]
    assert filtered({"exited": ["0"]}) == ["/done"]
    sized = engine.get("/v1.33/containers/json?size=1").json()
    assert all("SizeRw" in c and "SizeRootFs" in c for c in sized)
    listed = {c["Id"]: c for c in engine.get("/v1.33/containers/json?all=1").json()}
    assert listed[old]["Status"].startswith("Up ") and listed[old]["State"] == "running"
    assert listed[done]["Status"].startswith("Exited (0) ")
    assert listed[new]["Labels"] == {"role": "web"}
    assert listed[new]["Image"] == "busybox"

    wrong = engine.get('/v1.33/containers/json?filters={"colour":["red"]}')
    assert wrong.status_code == 400 and message(wrong) == "Invalid filter 'colour'"
    status = engine.get('/v1.33/containers/json?filters={"status":["sleeping"]}')
    assert status.status_code == 400 and "status=sleeping" in message(status)
    assert engine.get("/v1.33/containers/json?all=maybe").status_code == 400


def test_logs_are_framed_unless_the_container_has_a_tty(engine: Engine) -> None:
    engine.pull()
    plain = engine.run("plain", ["sh", "-c", "echo one; echo two"])
    tty = engine.run("tty", ["echo", "typed"], Tty=True)
    answer = engine.get(f"/v1.33/containers/{plain}/logs?stdout=1&stderr=1")
    assert answer.status_code == 200
    assert frames(answer.content) == [(1, b"one\n"), (1, b"two\n")]
    assert engine.get(f"/v1.33/containers/{tty}/logs?stdout=1").content == b"typed\n"
    tail = engine.get(f"/v1.33/containers/{plain}/logs?stdout=1&tail=1")
    assert frames(tail.content) == [(1, b"two\n")]
    stamped = engine.get(f"/v1.33/containers/{plain}/logs?stdout=1&timestamps=1")
    payload = frames(stamped.content)[0][1].decode()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z one\n", payload)
    assert engine.get(f"/v1.33/containers/{plain}/logs?stderr=1").content == b""
    neither = engine.get(f"/v1.33/containers/{plain}/logs")
    assert neither.status_code == 400


def test_a_command_that_ends_exits_on_the_twin_clock(engine: Engine) -> None:
    engine.pull()
    ident = engine.run("sleeper", ["sleep", "30"])
    assert engine.inspect(ident)["State"]["Running"] is True
    moved = engine.post("/__apitwin__/clock", json={"advance": 31})
    assert moved.status_code == 200
    state = engine.inspect(ident)["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 0)
    waited = engine.post(f"/v1.33/containers/{ident}/wait")
    assert waited.json() == {"StatusCode": 0}
    shell = engine.run("shell", ["sh"])  # no terminal, no stdin: exits at once
    assert engine.inspect(shell)["State"]["Status"] == "exited"
    interactive = engine.run("interactive", ["sh"], Tty=True, OpenStdin=True)
    assert engine.inspect(interactive)["State"]["Status"] == "running"


def test_auto_remove_removes_the_container_when_it_exits(engine: Engine) -> None:
    engine.pull()
    ident = engine.run("once", ["echo", "bye"], HostConfig={"AutoRemove": True})
    assert engine.get(f"/v1.33/containers/{ident}/json").status_code == 404


def test_wait_conditions(engine: Engine) -> None:
    engine.pull()
    ident = engine.run("failing", ["sh", "-c", "exit 5"])
    assert engine.post(f"/v1.33/containers/{ident}/wait").json() == {"StatusCode": 5}
    odd = engine.post(f"/v1.33/containers/{ident}/wait?condition=whenever")
    assert odd.status_code == 400 and message(odd) == 'invalid condition: "whenever"'


def test_update_top_stats_changes_and_prune(engine: Engine) -> None:
    engine.pull()
    ident = engine.run("tuned", ["sleep", "60"])
    updated = engine.post(
        f"/v1.33/containers/{ident}/update",
        json={"Memory": 104857600, "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}},
    )
    assert updated.status_code == 200 and updated.json() == {"Warnings": []}
    host = engine.inspect(ident)["HostConfig"]
    assert host["Memory"] == 104857600 and host["RestartPolicy"]["Name"] == "on-failure"
    top = engine.get(f"/v1.33/containers/{ident}/top").json()
    assert top["Titles"][1] == "PID" and top["Processes"][0][-1] == "sleep 60"
    stats = engine.get(f"/v1.33/containers/{ident}/stats?stream=false").json()
    assert stats["id"] == ident and stats["name"] == "/tuned"
    assert stats["memory_stats"]["usage"] > 0
    kinds = {c["Kind"] for c in engine.get(f"/v1.33/containers/{ident}/changes").json()}
    assert kinds <= {0, 1, 2} and kinds
    stopped = engine.run("stopped", ["true"])
    pruned = engine.post("/v1.33/containers/prune").json()
    assert pruned["ContainersDeleted"] == [stopped]
    assert engine.inspect(ident)["State"]["Running"] is True


# -- images ---------------------------------------------------------------------------


def test_pull_streams_progress_and_records_the_pull() -> None:
    store = MemoryStore()
    engine = Engine(empty=True, store=store)
    try:
        answer = engine.post(
            "/v1.33/images/create?fromImage=nginx&tag=1.27",
            headers={
                "User-Agent": "docker/28.2.2 (linux)",
                "X-Registry-Auth": base64.urlsafe_b64encode(
                    b'{"username":"ada","password":"secret"}'
                ).decode(),
            },
        )
        assert answer.status_code == 200
        progress = [orjson.loads(line) for line in answer.content.splitlines() if line.strip()]
        assert progress[0] == {"status": "Pulling from library/nginx", "id": "1.27"}
        assert progress[-1] == {"status": "Status: Downloaded newer image for nginx:1.27"}
        assert any(p.get("status") == "Pull complete" for p in progress)
        pulls = recorded_pulls(store)
        assert [(p["namespace"], p["repository"], p["tag"]) for p in pulls] == [
            ("library", "nginx", "1.27")
        ]
        # the registry sees the daemon's user agent with the client's inside
        assert pulls[0]["user_agent"].endswith(r" UpstreamClient(docker/28.2.2 \(linux\))")
        unknown = engine.post("/v1.33/images/create?fromImage=nobody/nothing&tag=latest")
        assert unknown.status_code == 404
        assert "pull access denied for nobody/nothing" in message(unknown)
    finally:
        engine.close()


def test_images_by_name_id_and_slashed_path(engine: Engine) -> None:
    engine.pull("busybox", "latest")
    listed = engine.get("/v1.33/images/json").json()
    (image,) = listed
    assert image["RepoTags"] == ["busybox:latest"]
    hex_id = image["Id"][7:]
    for ref in ("busybox", "busybox:latest", "library/busybox", hex_id[:12], image["Id"]):
        answer = engine.get(f"/v1.33/images/{ref}/json")
        assert answer.status_code == 200, ref
        assert answer.json()["Id"] == image["Id"]
    assert engine.get("/v1.33/images/docker.io/library/busybox:latest/json").status_code == 200
    missing = engine.get("/v1.33/images/nothing/here/json")
    assert missing.status_code == 404 and message(missing) == "No such image: nothing/here"
    history = engine.get("/v1.33/images/busybox/history").json()
    assert history[0]["Id"] == image["Id"] and "CMD" in history[0]["CreatedBy"]


def test_image_removal_conflicts_and_force(engine: Engine) -> None:
    engine.pull()
    image_id = engine.get("/v1.33/images/busybox/json").json()["Id"]
    engine.run("user", ["sleep", "60"])
    refused = engine.delete("/v1.33/images/busybox")
    assert refused.status_code == 409
    assert message(refused).startswith('conflict: unable to remove repository reference "busybox"')
    by_id = engine.delete(f"/v1.33/images/{image_id}?force=1")
    assert by_id.status_code == 409 and "(cannot be forced)" in message(by_id)
    assert engine.post("/v1.33/images/busybox/tag?repo=mine/box&tag=v2").status_code == 201
    untagged = engine.delete("/v1.33/images/mine/box:v2")
    assert untagged.json() == [{"Untagged": "mine/box:v2"}]
    engine.delete("/v1.33/containers/user?force=1")
    removed = engine.delete("/v1.33/images/busybox").json()
    assert {"Untagged": "busybox:latest"} in removed and {"Deleted": image_id} in removed
    assert engine.get("/v1.33/images/json").json() == []


def test_image_search_and_prune(engine: Engine) -> None:
    found = engine.get("/v1.33/images/search?term=redis").json()
    assert found[0]["name"] == "redis" and found[0]["is_official"] is True
    engine.pull("alpine", "3.19")
    engine.pull("alpine", "3.20")
    engine.run("keeps", ["true"], image="alpine:3.20")
    pruned = engine.post('/v1.33/images/prune?filters={"dangling":["false"]}').json()
    assert [d for d in pruned["ImagesDeleted"] if "Untagged" in d] == [{"Untagged": "alpine:3.19"}]
    assert pruned["SpaceReclaimed"] > 0
    tags = [t for i in engine.get("/v1.33/images/json").json() for t in i["RepoTags"]]
    assert tags == ["alpine:3.20"]


# -- networks and volumes ---------------------------------------------------------------


def test_default_networks_and_endpoints(engine: Engine) -> None:
    engine.pull()
    names = {n["Name"]: n["Driver"] for n in engine.get("/v1.33/networks").json()}
    assert names == {"bridge": "bridge", "host": "host", "none": "null"}
    ident = engine.run("bridged", ["sleep", "60"])
    bridge = engine.get("/v1.33/networks/bridge").json()
    assert bridge["Containers"][ident]["IPv4Address"] == "172.17.0.2/16"
    settings = engine.inspect(ident)["NetworkSettings"]
    assert settings["IPAddress"] == "172.17.0.2" and settings["Gateway"] == "172.17.0.1"
    engine.post(f"/v1.33/containers/{ident}/stop")
    assert engine.get("/v1.33/networks/bridge").json()["Containers"] == {}
    assert engine.inspect(ident)["NetworkSettings"]["IPAddress"] == ""
    duplicate = engine.post("/v1.33/networks/create", json={"Name": "bridge"})
    assert duplicate.status_code == 403
    engine.post("/v1.33/networks/create", json={"Name": "twice"})
    again = engine.post("/v1.33/networks/create", json={"Name": "twice"})
    assert again.status_code == 409 and message(again) == "network with name twice already exists"
    missing = engine.get("/v1.33/networks/nowhere")
    assert missing.status_code == 404 and message(missing) == "network nowhere not found"
    assert engine.post("/v1.33/networks/prune").json() == {"NetworksDeleted": ["twice"]}


def test_volumes_filters_in_use_and_prune(engine: Engine) -> None:
    engine.pull()
    engine.post("/v1.33/volumes/create", json={"Name": "kept", "Labels": {"keep": "yes"}})
    engine.post("/v1.33/volumes/create", json={"Name": "loose"})
    anonymous = engine.post("/v1.33/volumes/create", json={}).json()["Name"]
    assert re.fullmatch(r"[0-9a-f]{64}", anonymous)
    engine.run("holder", ["sleep", "60"], HostConfig={"Binds": ["kept:/data"]})
    labelled = engine.get('/v1.33/volumes?filters={"label":["keep=yes"]}').json()
    assert [v["Name"] for v in labelled["Volumes"]] == ["kept"]
    dangling = engine.get('/v1.33/volumes?filters={"dangling":["true"]}').json()
    assert {v["Name"] for v in dangling["Volumes"]} == {"loose", anonymous}
    busy = engine.delete("/v1.33/volumes/kept")
    assert busy.status_code == 409 and message(busy).startswith("remove kept: volume is in use - [")
    missing = engine.get("/v1.33/volumes/ghost")
    assert missing.status_code == 404 and message(missing) == "get ghost: no such volume"
    pruned = engine.post("/v1.33/volumes/prune").json()
    assert set(pruned["VolumesDeleted"]) == {"loose", anonymous}
    assert [v["Name"] for v in engine.get("/v1.33/volumes").json()["Volumes"]] == ["kept"]


# -- system -----------------------------------------------------------------------------


def test_ping_and_version_agree_with_the_negotiated_version(engine: Engine) -> None:
    for method in ("GET", "HEAD"):
        ping = engine.request(method, "/_ping")
        assert ping.status_code == 200 and ping.headers["api-version"] == "1.33"
        assert ping.headers["ostype"] == "linux"
    assert engine.get("/_ping").text == "OK"
    version = engine.get("/version")
    assert version.json()["ApiVersion"] == version.headers["api-version"] == "1.33"
    assert version.json()["MinAPIVersion"] == "1.24"


def test_version_agrees_in_a_stateless_twin() -> None:
    engine = Engine(stateful=False)
    try:
        version = engine.get("/v1.33/version")
        assert version.json()["ApiVersion"] == version.headers["api-version"] == "1.33"
    finally:
        engine.close()


def test_info_and_df_count_the_state(engine: Engine) -> None:
    engine.pull()
    engine.run("up", ["sleep", "60"])
    paused = engine.run("held", ["sleep", "60"])
    engine.post(f"/v1.33/containers/{paused}/pause")
    engine.run("down", ["true"])
    info = engine.get("/v1.33/info").json()
    counts = [
        info[k]
        for k in (
            "Containers",
            "ContainersRunning",
            "ContainersPaused",
            "ContainersStopped",
            "Images",
        )
    ]
    assert counts == [3, 1, 1, 1, 1]
    usage = engine.get("/v1.33/system/df").json()
    assert len(usage["Containers"]) == 3 and usage["Images"][0]["Containers"] == 3
    assert usage["LayersSize"] == usage["Images"][0]["Size"]


def test_events_are_what_happened_and_end_at_until(engine: Engine) -> None:
    engine.pull()
    # A second of twin time between the pull and ``since``: the pull is not an event of
    # the window, however quickly the next request follows it.
    start = engine.post("/__apitwin__/clock", json={"advance": 1}).json()["now"]
    ident = engine.run("watched", ["sleep", "60"])
    engine.post(f"/v1.33/containers/{ident}/stop")
    engine.post("/v1.33/networks/create", json={"Name": "evnet"})
    end = engine.post("/__apitwin__/clock", json={"advance": 1}).json()["now"]

    def events(query: str) -> list[dict[str, Any]]:
        answer = engine.get(f"/v1.33/events?since={start - 0.001}&until={end}{query}")
        assert answer.status_code == 200
        return [orjson.loads(line) for line in answer.content.splitlines() if line.strip()]

    actions = [(e["Type"], e["Action"]) for e in events("")]
    assert actions == [
        ("container", "create"), ("container", "start"), ("container", "kill"),
        ("container", "die"), ("container", "stop"), ("network", "create"),
    ]  # fmt: skip
    only = events('&filters={"type":["container"],"event":["die"]}')
    assert len(only) == 1
    assert only[0]["Actor"]["ID"] == ident == only[0]["id"]
    assert only[0]["Actor"]["Attributes"]["exitCode"] == "137"
    assert only[0]["Actor"]["Attributes"]["name"] == "watched"
    assert events('&filters={"container":["watched"]}')[0]["Action"] == "create"
    backwards = engine.get(f"/v1.33/events?since={end}&until={start}")
    assert backwards.status_code == 400


def test_registry_login_check(engine: Engine) -> None:
    ok = engine.post(
        "/v1.33/auth",
        json={
            "username": "ada",
            "password": "secret",
            "serveraddress": "https://index.docker.io/v1/",
        },
    )
    assert ok.status_code == 200 and ok.json()["Status"] == "Login Succeeded"
    refused = engine.post("/v1.33/auth", json={"username": "ada"})
    assert refused.status_code == 401 and "incorrect username or password" in message(refused)


def test_swarm_endpoints_answer_as_outside_a_swarm(engine: Engine) -> None:
    for method, path in [
        ("GET", "/swarm"),
        ("GET", "/services"),
        ("GET", "/nodes"),
        ("POST", "/swarm/init"),
    ]:
        answer = engine.request(method, f"/v1.33{path}", json={} if method == "POST" else None)
        assert answer.status_code == 503
        assert message(answer).startswith("This node is not a swarm manager.")
    leave = engine.post("/v1.33/swarm/leave")
    assert leave.status_code == 503 and message(leave) == "This node is not part of a swarm"


# -- the twin's own edges -----------------------------------------------------------------


def test_go_clients_unset_values_are_accepted(engine: Engine) -> None:
    engine.pull()
    created = engine.post(
        "/v1.33/containers/create",
        json={
            "Image": "busybox",
            "Env": None,
            "Cmd": None,
            "HostConfig": {
                "LogConfig": {"Type": ""},
                "MemorySwappiness": -1,
                "RestartPolicy": {"Name": "no"},
            },
        },
    )
    assert created.status_code == 201, created.text
    assert engine.inspect(created.json()["Id"])["Config"]["Cmd"] == ["sh"]


def test_seeding_and_reset_leave_the_daemon_empty() -> None:
    engine = Engine()  # seeding enabled
    try:
        engine.pull()
        engine.run("before-reset", ["sleep", "60"])
        assert engine.post("/__apitwin__/seed").status_code == 200
        assert [c["Names"] for c in engine.get("/v1.33/containers/json").json()] == [
            ["/before-reset"]
        ]
        assert engine.post("/__apitwin__/reset").status_code == 200
        assert engine.get("/v1.33/containers/json?all=1").json() == []
        assert engine.get("/v1.33/images/json").json() == []
        assert len(engine.get("/v1.33/networks").json()) == 3
    finally:
        engine.close()


def test_ids_are_stable_for_the_same_seed() -> None:
    def first_id() -> str:
        engine = Engine(empty=True, seed=7)
        try:
            engine.pull()
            return engine.run("same", ["true"])
        finally:
            engine.close()

    assert first_id() == first_id()


# -- durable stores ---------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def durable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens store objects sharing one state, as two processes (or a restart) would."""
    opened: list[Store] = []
    if request.param == "sqlite":
        path = tmp_path / "twins.sqlite3"

        def opener() -> Store:
            opened.append(SQLiteStore(path))
            return opened[-1]

        yield opener
    else:
        if POSTGRES_DSN == "skip":
            pytest.skip("APITWIN_TEST_POSTGRES=skip")
        from apitwin.state.postgres import PostgresStore

        schema = f"apitwin_docker_{os.getpid()}_{uuid.uuid4().hex[:8]}"

        def opener() -> Store:
            opened.append(PostgresStore(POSTGRES_DSN, schema=schema))
            return opened[-1]

        yield opener
        import psycopg

        with psycopg.connect(POSTGRES_DSN, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    for store in opened:
        store.close()


def test_the_daemon_state_survives_a_restart(durable: Callable[[], Store]) -> None:
    first = Engine(empty=True, store=durable())
    try:
        first.pull()
        ident = first.run("durable", ["sleep", "60"], Labels={"kept": "yes"})
        first.post("/v1.33/networks/create", json={"Name": "kept-net"})
    finally:
        first.close()
    second = Engine(empty=True, store=durable())
    try:
        state = second.inspect("durable")
        assert state["Id"] == ident and state["State"]["Running"] is True
        assert state["Config"]["Labels"] == {"kept": "yes"}
        assert second.get("/v1.33/networks/kept-net").status_code == 200
        assert second.post(f"/v1.33/containers/{ident}/stop").status_code == 204
        assert second.inspect(ident)["State"]["ExitCode"] == 137
    finally:
        second.close()


def test_exec_create_start_inspect(engine: Engine) -> None:
    engine.pull()
    ident = engine.run("execd", ["sleep", "60"])
    created = engine.post(
        f"/v1.33/containers/{ident}/exec",
        json={"Cmd": ["sh", "-c", "echo inside; exit 2"], "AttachStdout": True},
    )
    assert created.status_code == 201
    exec_id = created.json()["Id"]
    assert engine.get(f"/v1.33/exec/{exec_id}/json").json()["ExitCode"] is None
    started = engine.post(f"/v1.33/exec/{exec_id}/start", json={"Detach": False, "Tty": False})
    assert started.status_code == 200
    assert frames(started.content) == [(1, b"inside\n")]
    inspected = engine.get(f"/v1.33/exec/{exec_id}/json").json()
    assert inspected["ExitCode"] == 2 and inspected["ContainerID"] == ident
    assert engine.inspect(ident)["ExecIDs"] == [exec_id]
    again = engine.post(f"/v1.33/exec/{exec_id}/start", json={"Detach": True})
    assert again.status_code == 409
    engine.post(f"/v1.33/containers/{ident}/stop")
    stopped = engine.post(f"/v1.33/containers/{ident}/exec", json={"Cmd": ["true"]})
    assert stopped.status_code == 409 and message(stopped) == f"Container {ident} is not running"
    assert engine.get("/v1.33/exec/nothing/json").status_code == 404
