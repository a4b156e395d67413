"""The real docker CLI against the twin, as against a daemon (DOCKER_HOST=tcp://...).

One twin serves the whole module; every test uses names of its own.
"""

from __future__ import annotations

import json
import re
import time

from tests.twins.docker_engine.conftest import DockerCli

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_version_negotiates_the_twins_api_version(docker: DockerCli) -> None:
    out = docker("version", "--format", "{{.Client.APIVersion}} {{.Server.APIVersion}}").stdout
    assert out.split() == ["1.33", "1.33"]
    plain = docker("version").stdout
    assert "downgraded from" in plain  # the client negotiated down to the twin's version
    assert re.search(r"API version:\s+1\.33 \(minimum version 1\.24\)", plain)


def test_pull_prints_progress_and_lists_the_image(docker: DockerCli) -> None:
    pulled = docker("pull", "alpine:3.20").stdout
    assert "3.20: Pulling from library/alpine" in pulled
    assert "Status: Downloaded newer image for alpine:3.20" in pulled
    assert pulled.strip().endswith("docker.io/library/alpine:3.20")
    again = docker("pull", "alpine:3.20").stdout
    assert "Status: Image is up to date for alpine:3.20" in again
    images = docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout
    assert any(line.startswith("alpine:3.20 ") for line in lines(images))


def test_pull_of_unknown_images_fails_as_the_registry_does(docker: DockerCli) -> None:
    missing = docker("pull", "no-such-repository-anywhere", check=False)
    assert missing.returncode != 0
    assert "pull access denied for no-such-repository-anywhere" in missing.stderr
    tag = docker("pull", "busybox:no-such-tag", check=False)
    assert tag.returncode != 0
    assert "manifest for busybox:no-such-tag not found" in tag.stderr


def test_create_with_a_taken_name_fails_with_the_daemons_message(docker: DockerCli) -> None:
    docker("pull", "-q", "busybox")
    ident = docker("create", "--name", "taken", "busybox", "sleep", "60").stdout.strip()
    assert HEX64.match(ident)
    second = docker("create", "--name", "taken", "busybox", check=False)
    assert second.returncode != 0
    assert (
        f'Conflict. The container name "/taken" is already in use by container "{ident}". '
        "You have to remove (or rename) that container to be able to reuse that name."
    ) in second.stderr


def test_ps_shows_running_containers_all_and_filtered(docker: DockerCli) -> None:
    docker("pull", "-q", "busybox")
    docker("create", "--name", "ps-created", "busybox", "sleep", "60")
    docker("run", "-d", "--name", "ps-running", "busybox", "sleep", "3600")
    docker("run", "-d", "--name", "ps-exited", "busybox", "echo", "done")
    running = lines(docker("ps", "--format", "{{.Names}}").stdout)
    every = lines(docker("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout)
    exited = lines(docker("ps", "-a", "--filter", "status=exited", "--format", "{{.Names}}").stdout)
    assert "ps-running" in running
    assert "ps-created" not in running and "ps-exited" not in running
    statuses = dict(line.split(" ", 1) for line in every)
    assert statuses["ps-created"] == "Created"
    assert statuses["ps-running"].startswith("Up ")
    assert statuses["ps-exited"].startswith("Exited (0) ")
    assert "ps-exited" in exited
    assert "ps-running" not in exited and "ps-created" not in exited


def test_inspect_by_name_and_by_id_prefix(docker: DockerCli) -> None:
    docker("pull", "-q", "busybox")
    ident = docker("run", "-d", "--name", "inspected", "busybox", "sleep", "60").stdout.strip()
    template = "{{.Id}} {{.Name}} {{.State.Status}} {{.Config.Image}}"
    by_name = docker("inspect", "--format", template, "inspected").stdout.split()
    by_prefix = docker("inspect", "--format", template, ident[:10]).stdout.split()
    assert by_name == by_prefix == [ident, "/inspected", "running", "busybox"]
    missing = docker("inspect", "no-such-container", check=False)
    assert missing.returncode != 0
    assert "No such object: no-such-container" in missing.stderr


def test_start_stop_restart_change_the_state(docker: DockerCli) -> None:
    docker("pull", "-q", "busybox")
    docker("create", "--name", "cycle", "busybox", "sleep", "3600")

    def state() -> list[str]:
        template = "{{.State.Status}} {{.State.Running}} {{.State.ExitCode}} {{.State.Pid}}"
        return docker("inspect", "--format", template, "cycle").stdout.split()

    assert state() == ["created", "false", "0", "0"]
    assert docker("start", "cycle").stdout.strip() == "cycle"
    status, running, code, pid = state()
    assert (status, running, code) == ("running", "true", "0") and int(pid) > 0
    assert docker("stop", "cycle").stdout.strip() == "cycle"
    assert state() == ["exited", "false", "137", "0"]  # sleep ignores SIGTERM: killed
    assert docker("restart", "cycle").stdout.strip() == "cycle"
    assert state()[:3] == ["running", "true", "0"]


def test_rename_moves_the_name(docker: DockerCli) -> None:
    docker("pull", "-q", "busybox")
    ident = docker("create", "--name", "old-name", "busybox").stdout.strip()
    docker("rename", "old-name", "new-name")
    assert docker("inspect", "--format", "{{.Id}}", "new-name").stdout.strip() == ident
    assert docker("inspect", "old-name", check=False).returncode != 0


def test_rm_refuses_a_running_container_and_rm_f_removes_it(docker: DockerCli) -> None:
    docker("pull", "-q", "busybox")
    docker("run", "-d", "--name", "busy", "busybox", "sleep", "3600")
    refused = docker("rm", "busy", check=False)
    assert refused.returncode != 0
    assert "container is running: stop the container before removing or force remove" in (
        refused.stderr
    )
    assert docker("rm", "-f", "busy").stdout.strip() == "busy"
    assert docker("inspect", "busy", check=False).returncode != 0
    docker("create", "--name", "idle", "busybox")
    assert docker("rm", "idle").stdout.strip() == "idle"
    assert "idle" not in docker("ps", "-a", "--format", "{{.Names}}").stdout.split()


def test_run_detached_then_wait_and_logs(docker: DockerCli) -> None:
    docker("pull", "-q", "busybox")
    ident = docker("run", "-d", "--name", "greeter", "busybox", "echo", "hello", "twin")
    assert HEX64.match(ident.stdout.strip())
    assert docker("wait", "greeter").stdout.strip() == "0"
    assert docker("logs", "greeter").stdout == "hello twin\n"
    failing = docker("run", "-d", "--name", "failing", "busybox", "sh", "-c", "echo bye; exit 3")
    assert HEX64.match(failing.stdout.strip())
    assert docker("wait", "failing").stdout.strip() == "3"
    assert docker("logs", "failing").stdout == "bye\n"


def test_run_pulls_a_missing_image_first(docker: DockerCli) -> None:
    ran = docker("run", "-d", "--name", "fresh", "hello-world")
    assert "Unable to find image 'hello-world:latest' locally" in ran.stderr
    assert docker("wait", "fresh").stdout.strip() == "0"
    assert "Hello from Docker!" in docker("logs", "fresh").stdout


def test_pause_unpause_kill_and_top(docker: DockerCli) -> None:
    docker("pull", "-q", "busybox")
    docker("run", "-d", "--name", "pausable", "busybox", "sleep", "3600")
    top = docker("top", "pausable").stdout
    assert "PID" in top and "sleep 3600" in top
    docker("pause", "pausable")
    status = docker("ps", "--filter", "name=pausable", "--format", "{{.Status}}").stdout
    assert status.strip().endswith("(Paused)")
    docker("unpause", "pausable")
    docker("kill", "pausable")
    template = "{{.State.Status}} {{.State.ExitCode}}"
    assert docker("inspect", "--format", template, "pausable").stdout.split() == ["exited", "137"]


def test_networks_create_connect_disconnect_remove(docker: DockerCli) -> None:
    docker("pull", "-q", "busybox")
    docker("run", "-d", "--name", "netted", "busybox", "sleep", "3600")
    network_id = docker("network", "create", "--label", "team=a", "backend").stdout.strip()
    assert HEX64.match(network_id)
    listed = lines(docker("network", "ls", "--format", "{{.Name}} {{.Driver}}").stdout)
    assert {"bridge bridge", "host host", "none null", "backend bridge"} <= set(listed)

    docker("network", "connect", "--alias", "db", "backend", "netted")
    members = json.loads(
        docker("network", "inspect", "--format", "{{json .Containers}}", "backend").stdout
    )
    (member,) = members.values()
    assert member["Name"] == "netted"
    address = member["IPv4Address"].split("/")[0]
    settings = json.loads(
        docker("inspect", "--format", "{{json .NetworkSettings.Networks.backend}}", "netted").stdout
    )
    assert settings["IPAddress"] == address and settings["NetworkID"] == network_id
    assert "db" in settings["Aliases"]

    refused = docker("network", "rm", "backend", check=False)
    assert refused.returncode != 0 and "has active endpoints" in refused.stderr
    docker("network", "disconnect", "backend", "netted")
    empty = docker("network", "inspect", "--format", "{{len .Containers}}", "backend").stdout
    assert empty.strip() == "0"
    networks = docker("inspect", "--format", "{{json .NetworkSettings.Networks}}", "netted")
    assert "backend" not in json.loads(networks.stdout)
    assert docker("network", "rm", "backend").stdout.strip() == "backend"
    assert "backend" not in docker("network", "ls", "--format", "{{.Name}}").stdout.split()
    builtin = docker("network", "rm", "bridge", check=False)
    assert "bridge is a pre-defined network and cannot be removed" in builtin.stderr


def test_volumes_create_list_inspect_remove(docker: DockerCli) -> None:
    docker("pull", "-q", "busybox")
    assert docker("volume", "create", "--label", "kind=cache", "cache").stdout.strip() == "cache"
    listed = docker("volume", "ls", "--filter", "label=kind=cache", "--format", "{{.Name}}")
    assert listed.stdout.split() == ["cache"]
    (volume,) = json.loads(docker("volume", "inspect", "cache").stdout)
    assert volume["Mountpoint"] == "/var/lib/docker/volumes/cache/_data"
    assert volume["Labels"] == {"kind": "cache"}
    docker("run", "-d", "--name", "mounter", "-v", "cache:/data", "busybox", "sleep", "60")
    in_use = docker("volume", "rm", "cache", check=False)
    assert in_use.returncode != 0 and "volume is in use" in in_use.stderr
    docker("rm", "-f", "mounter")
    assert docker("volume", "rm", "cache").stdout.strip() == "cache"
    assert "cache" not in docker("volume", "ls", "--format", "{{.Name}}").stdout.split()


def test_tag_and_rmi(docker: DockerCli) -> None:
    docker("pull", "-q", "busybox:1.36")
    docker("tag", "busybox:1.36", "mine/tools:v1")
    images = lines(docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout)
    ids = dict(line.split() for line in images)
    assert ids["mine/tools:v1"] == ids["busybox:1.36"]
    assert docker("rmi", "mine/tools:v1").stdout.strip() == "Untagged: mine/tools:v1"
    docker("create", "--name", "user-of-136", "busybox:1.36")
    in_use = docker("rmi", "busybox:1.36", check=False)
    assert in_use.returncode != 0 and "(must force)" in in_use.stderr
    docker("rm", "user-of-136")
    removed = docker("rmi", "busybox:1.36").stdout
    assert "Untagged: busybox:1.36" in removed and "Deleted: sha256:" in removed
    images = docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert "busybox:1.36" not in images and "mine/tools:v1" not in images


def test_events_between_since_and_until(docker: DockerCli) -> None:
    docker("pull", "-q", "busybox")
    since = f"{time.time() - 1:.3f}"
    docker("run", "-d", "--name", "eventful", "busybox", "sleep", "3600")
    docker("stop", "eventful")
    docker("rm", "eventful")
    until = f"{time.time() + 0.5:.3f}"
    out = docker(
        "events", "--since", since, "--until", until,
        "--filter", "container=eventful", "--format", "{{.Type}} {{.Action}}",
    ).stdout  # fmt: skip
    assert lines(out) == [
        "container create",
        "container start",
        "container kill",
        "container die",
        "container stop",
        "container destroy",
    ]


def test_info_and_system_df_count_what_exists(docker: DockerCli) -> None:
    docker("pull", "-q", "busybox")
    docker("run", "-d", "--name", "counted", "busybox", "sleep", "3600")
    every = lines(docker("ps", "-aq").stdout)
    running = lines(docker("ps", "-q").stdout)
    images = lines(docker("images", "-q").stdout)
    info = docker(
        "info",
        "--format",
        "{{.Containers}} {{.ContainersRunning}} {{.Images}} {{.Swarm.LocalNodeState}}",
    ).stdout.split()
    assert info == [str(len(every)), str(len(running)), str(len(images)), "inactive"]
    usage = lines(
        docker("system", "df", "--format", "{{.Type}}={{.TotalCount}}/{{.Active}}").stdout
    )
    table = dict(line.split("=") for line in usage)
    assert table["Containers"] == f"{len(every)}/{len(running)}"
    assert table["Images"].split("/")[0] == str(len(images))


def test_swarm_commands_answer_as_a_daemon_outside_a_swarm(docker: DockerCli) -> None:
    listed = docker("service", "ls", check=False)
    assert listed.returncode != 0
    assert "This node is not a swarm manager" in listed.stderr


def test_exec_detached_runs_in_a_running_container(docker: DockerCli) -> None:
    docker("pull", "-q", "busybox")
    docker("run", "-d", "--name", "exec-host", "busybox", "sleep", "3600")
    assert docker("exec", "-d", "exec-host", "touch", "/tmp/marker").returncode == 0
    exec_ids = docker("inspect", "--format", "{{len .ExecIDs}}", "exec-host").stdout
    assert exec_ids.strip() == "1"
    docker("stop", "exec-host")
    refused = docker("exec", "-d", "exec-host", "true", check=False)
    assert refused.returncode != 0 and "is not running" in refused.stderr
