"""The ``container`` adapter against a real engine: podman serving the Docker API on a socket
(one service and one busybox image per session, see ``podman_fixture``), a real plugin
repository whose capabilities run in that image, driven through `mark1 run`."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from adapters.argv import POSITIONAL_KEY
from adapters.base import CapabilitySpec, Event, Notice, OutputLine, RunContext, RunStarted
from adapters.sandbox import SandboxPolicy
from tests.adapters.podman_fixture import IMAGE, Podman, missing
from tests.conftest import CliResult, Repo

pytest.importorskip(
    "docker", reason="the container adapter needs the docker SDK (mark1[containers])"
)
if (reason := missing()) is not None:
    pytest.skip(f"container tests: {reason}", allow_module_level=True)

from adapters.container import ContainerAdapter, container_config  # noqa: E402

Cli = Callable[..., CliResult]

MANIFEST = f"""\
schema_version: "1.0"
plugin: {{name: boxtool, description: busybox tools in a container}}
capabilities:
  - name: count
    parameters:
      type: object
      required: [n]
      properties:
        n: {{type: integer}}
        out: {{type: string, default: count.txt}}
    produces:
      - {{name: report, path: "{{out}}"}}
  - name: probe
    env: [GREETING]
    resources: {{max_memory: 64MiB, max_processes: 32}}
    parameters:
      type: object
      required: [file]
      properties:
        file: {{type: string, format: path}}
  - name: nap
  - name: fail
  - name: absent
  - name: ghost
entry_points:
  - capability: count
    type: container
    image: {IMAGE}
    command:
      - sh
      - -c
      - |
        echo "MARK1_PROGRESS 50 counting" >&2
        echo "counting to $2" >&2
        echo "$2" > "$4"
        echo "{{\\"n\\": $2}}"
      - sh
  - capability: probe
    type: container
    image: {IMAGE}
    args:
      file: {{position: 0}}
    command:
      - sh
      - -c
      - |
        echo "net: $(ls /sys/class/net | tr '\\n' ' ')"
        if touch /etc/probe 2>/dev/null; then echo "root: writable"; else echo "root: read-only"; fi
        echo ok > probe.txt && echo "workspace: writable at $(pwd)"
        echo "tmp: $(echo private > /tmp/t && cat /tmp/t)"
        echo "content: $(cat "$1")"
        if echo x >> "$1" 2>/dev/null; then echo "input: writable"; else echo "input: read-only"; fi
        echo "pids: $(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)"
        echo "memory: $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)"
        echo "greeting: $GREETING"
        echo "secret: ${{HOST_SECRET:-unset}}"
      - sh
  - capability: nap
    type: container
    image: {IMAGE}
    command: [sh, -c, "echo going to sleep; sleep 30"]
  - capability: fail
    type: container
    image: {IMAGE}
    command: [sh, -c, "echo working; echo disk on fire >&2; exit 3"]
  - capability: absent
    type: container
    image: {IMAGE}
    command: [no-such-program, --flag]
  - capability: ghost
    type: container
    image: localhost/mark1-no-such-image:1
    command: "true"
"""


@pytest.fixture(scope="session")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Podman]:
    """One podman service and one imported busybox image for the whole session."""
    engine = Podman.start(tmp_path_factory.mktemp("podman"))
    yield engine
    engine.stop()


@pytest.fixture
def engine(podman: Podman, monkeypatch: pytest.MonkeyPatch) -> Iterator[Podman]:
    """The session's engine, reached through DOCKER_HOST; no test may leave a container."""
    monkeypatch.setenv("DOCKER_HOST", podman.docker_host)
    yield podman
    assert podman.containers() == [], "a run left its container behind"


@pytest.fixture
def boxtool(make_repo: Callable[..., Repo], cli: Cli, engine: Podman) -> Repo:
    repo = make_repo("boxtool", {"mark1.plugin.yml": MANIFEST})
    installed = cli("plugin", "install", str(repo.path))
    assert installed.code == 0, installed.out + installed.err
    return repo


def test_json_stdout_becomes_outputs_and_files_are_reported(
    boxtool: Repo, cli: Cli, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    result = cli("run", "boxtool.count", "-i", "n=3", "--workdir", str(workspace), "--json")
    assert result.code == 0, result.out + result.err
    data = json.loads(result.out)
    report = workspace / "count.txt"
    assert data["outputs"] == {"n": 3, "report": str(report)}
    assert data["artifacts"] == [str(report)]
    assert report.read_text() == "3\n", "the workspace is mounted read-write"
    assert data["command"] == [
        "sh",
        "-c",
        data["command"][2],
        "sh",
        "--n",
        "3",
        "--out",
        "count.txt",
    ]
    assert "counting to 3" in data["stderr"] and "counting to 3" in result.err, "streamed"
    assert "[ 50%] counting" in result.err, "progress lines become progress"
    assert data["metrics"]["duration_s"] > 0
    if os.geteuid() == 0 and Path("/sys/fs/cgroup/cpuacct").is_dir():  # our cgroup parents it
        assert data["metrics"]["cpu_s"] > 0 and data["metrics"]["peak_memory_bytes"] > 0


def test_the_container_is_confined(
    boxtool: Repo, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = tmp_path / "ws"
    shared = tmp_path / "shared" / "lines.txt"
    shared.parent.mkdir()
    shared.write_text("three lines of data")
    monkeypatch.chdir(shared.parent)
    monkeypatch.setenv("GREETING", "hello")
    monkeypatch.setenv("HOST_SECRET", "s3cret")
    result = cli("run", "boxtool.probe", "-i", "file=lines.txt", "--workdir", str(workspace))
    assert result.code == 0, result.out + result.err
    lines = dict(line.split(": ", 1) for line in result.out.splitlines() if ": " in line)
    assert lines["net"].split() == ["lo"], "no network but loopback"
    assert lines["root"] == "read-only"
    assert lines["workspace"] == f"writable at {workspace}"
    assert (workspace / "probe.txt").read_text() == "ok\n"
    assert lines["tmp"] == "private", "/tmp is a private tmpfs"
    assert lines["input"] == "read-only", "an input file outside the workspace is shared read-only"
    assert lines["content"] == "three lines of data"
    assert shared.read_text() == "three lines of data"
    assert lines["pids"] == "32"
    assert lines["memory"] == str(64 * 1024**2)
    assert lines["greeting"] == "hello", "declared variables are passed"
    assert lines["secret"] == "unset", "the host's environment is not"


def test_a_run_past_its_time_limit_is_killed_and_removed(
    boxtool: Repo, cli: Cli, engine: Podman, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARK1_RUN__KILL_GRACE", "0.2")  # sh as PID 1 ignores SIGTERM
    result = cli("run", "boxtool.nap", "--timeout", "1.5", "--json")
    assert result.code == 124, result.out + result.err
    data = json.loads(result.out)
    assert data["status"] == "timed_out"
    assert "1.5 s time limit" in data["error"]
    assert "going to sleep" in data["stdout"]
    assert data["metrics"]["duration_s"] < 5
    assert engine.containers() == []


def test_failures_say_why(boxtool: Repo, cli: Cli) -> None:
    failed = cli("run", "boxtool.fail", "--json")
    assert failed.code == 1
    data = json.loads(failed.out)
    assert (data["exit_code"], data["error"]) == (3, "exited with status 3: disk on fire")
    assert data["stdout"] == "working\n" and data["stderr"] == "disk on fire\n"
    absent = cli("run", "boxtool.absent", "--json")
    assert absent.code == 1
    error = json.loads(absent.out)["error"]
    assert error.startswith("cannot start:") and "no-such-program" in error


def test_a_missing_image_is_never_pulled(boxtool: Repo, cli: Cli, engine: Podman) -> None:
    result = cli("run", "boxtool.ghost", "--json")
    assert result.code == 1
    error = json.loads(result.out)["error"]
    assert "'localhost/mark1-no-such-image:1' is not on this machine" in error
    assert "never pulls" in error and "dockerfile" in error
    assert "localhost/mark1-no-such-image:1" not in engine.images()


def test_no_engine_is_explained(
    boxtool: Repo, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    socket = tmp_path / "no-engine.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{socket}")
    result = cli("run", "boxtool.count", "-i", "n=1", "--json")
    assert result.code == 1
    error = json.loads(result.out)["error"]
    assert f"no container engine answers at unix://{socket} (DOCKER_HOST)" in error
    assert "podman system service" in error


def test_without_the_docker_sdk_the_extra_is_named(
    boxtool: Repo, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "docker", None)
    result = cli("run", "boxtool.count", "-i", "n=1", "--json")
    assert result.code == 1
    assert "pip install 'mark1[containers]'" in json.loads(result.out)["error"]


def _context(tmp_path: Path, events: list[Event], **extra: object) -> RunContext:
    workdir = tmp_path / "ws"
    return RunContext(
        workdir=workdir,
        timeout=30,
        kill_grace=0.2,
        on_event=events.append,
        sandbox=SandboxPolicy(workdir=workdir),
        **extra,  # type: ignore[arg-type]
    )


async def test_an_image_is_built_once_from_the_plugin_dockerfile(
    engine: Podman, tmp_path: Path
) -> None:
    source = tmp_path / "greeter"
    source.mkdir()
    (source / "Dockerfile").write_text(f"FROM {IMAGE}\nCOPY greet.sh /bin/greet\n")
    (source / "greet.sh").write_text('#!/bin/sh\necho "{\\"greeting\\": \\"hello $2\\"}"\n')
    (source / "greet.sh").chmod(0o755)
    spec = CapabilitySpec(
        plugin="greeter",
        name="greet",
        entry={
            "type": "container",
            "image": "greeter:dev",
            "dockerfile": "Dockerfile",
            "command": ["greet"],
        },
        source_dir=source,
    )
    events: list[Event] = []
    async with ContainerAdapter() as adapter:
        first = await adapter.execute(spec, {"name": "ada"}, _context(tmp_path, events))
        second = await adapter.execute(spec, {"name": "bob"}, _context(tmp_path, events))
    assert first.ok and second.ok, (first.error, second.error)
    assert first.outputs == {"greeting": "hello ada"} and second.outputs["greeting"] == "hello bob"
    builds = [e.text for e in events if isinstance(e, Notice) and "building" in e.text]
    assert len(builds) == 1, "the second run reuses the image"
    assert "mark1/greeter:" in builds[0]
    assert any(isinstance(e, RunStarted) for e in events)


async def test_runaway_output_is_stopped(engine: Podman, tmp_path: Path) -> None:
    spec = CapabilitySpec(
        plugin="noisy", name="yes", entry={"type": "container", "image": IMAGE}, source_dir=tmp_path
    )
    events: list[Event] = []
    async with ContainerAdapter() as adapter:
        result = await asyncio.wait_for(
            adapter.execute(
                spec, {POSITIONAL_KEY: ["yes"]}, _context(tmp_path, events, output_limit=64 * 1024)
            ),
            20,
        )
    assert result.status == "failed"
    assert "more output than a run may print" in (result.error or "")
    assert any(isinstance(e, OutputLine) and e.text == "y" for e in events)


def test_trusted_or_granted_runs_keep_the_network(tmp_path: Path) -> None:
    spec = CapabilitySpec(plugin="p", name="c", entry={"type": "container"}, source_dir=tmp_path)
    trusted = RunContext(workdir=tmp_path, timeout=1)
    config = container_config(spec, ["true"], IMAGE, {}, trusted)
    assert "network_mode" not in config and "read_only" not in config
    granted = RunContext(
        workdir=tmp_path, timeout=1, sandbox=SandboxPolicy(workdir=tmp_path, network=True)
    )
    config = container_config(spec, ["true"], IMAGE, {}, granted)
    assert "network_mode" not in config and config["read_only"] is True
    sandboxed = RunContext(workdir=tmp_path, timeout=1, sandbox=SandboxPolicy(workdir=tmp_path))
    assert container_config(spec, [], IMAGE, {}, sandboxed)["network_mode"] == "none"
    capped = RunContext(workdir=tmp_path, timeout=1, sandbox=SandboxPolicy(tmp_path, cpus=1.5))
    assert container_config(spec, [], IMAGE, {}, capped)["nano_cpus"] == 1_500_000_000
