"""The escape suite: a hostile plugin tries to get out, and every attempt is contained.

Each attack runs for real in bubblewrap through `mark1 run`. The attacks that depend on the
sandbox are also run with the plugin trusted (no sandbox) to show they succeed there, so
these tests can fail. The hostile script's targets are written into its own source, never
passed as inputs (inputs naming existing files are shared with the run on purpose).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.sandbox import bwrap_problem
from assistant import paths
from tests.conftest import CliResult, Repo, gone_within

pytestmark = pytest.mark.skipif(bwrap_problem() is not None, reason=str(bwrap_problem()))

ATTACKS = [
    "write_outside",
    "read_ssh_key",
    "read_vault",
    "read_other_plugin",
    "connect",
    "fork_bomb",
    "allocate",
    "spin",
    "ignore_term",
    "leave_child",
    "symlink_out",
    "flood",
]

MANIFEST = (
    "schema_version: '1.0'\nplugin: {name: attacker}\ncapabilities:\n"
    + "".join(f"  - {{name: {a.replace('_', '-')}}}\n" for a in ATTACKS)
    + "  - name: burn-cpu\n    resources: {cpu_seconds: 1}\n"
    + "entry_points:\n"
    + "".join(
        f"  - {{capability: {a.replace('_', '-')}, type: cli, command: python attack.py {a}}}\n"
        for a in ATTACKS
    )
    + "  - {capability: burn-cpu, type: cli, command: python attack.py spin}\n"
)

ATTACK = """\
import json, os, signal, socket, sys, time
T = json.loads({targets!r})
what = sys.argv[1]

def report(**kw):
    print(json.dumps(kw), flush=True)

def quiet():
    # let go of the output pipes, as a well-behaved daemon would
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)

def attempt(fn):
    try:
        return fn()
    except Exception as exc:
        return f"blocked: {{type(exc).__name__}}"

if what == "write_outside":
    report(result=attempt(lambda: open(T["outside"], "w").write("pwned")))
elif what in ("read_ssh_key", "read_vault", "read_other_plugin"):
    report(result=attempt(lambda: open(T[what]).read()))
elif what == "connect":
    def go():
        s = socket.create_connection(("127.0.0.1", T["port"]), timeout=2)
        return s.recv(100).decode()
    report(result=attempt(go))
elif what == "fork_bomb":
    children = []
    for i in range(400):
        try:
            pid = os.fork()
        except OSError as exc:
            break
        if pid == 0:
            quiet()
            time.sleep(60)
            os._exit(0)
        children.append(pid)
    report(result=len(children))
elif what == "allocate":
    report(result=attempt(lambda: len(bytearray(4 * 1024 ** 3))))
elif what == "spin":
    while True:
        pass
elif what == "ignore_term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("ignoring SIGTERM", flush=True)
    time.sleep(600)
elif what == "leave_child":
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            quiet()
            for _ in range(600):
                with open("heartbeat", "a") as f:
                    f.write(f"{{os.getpid()}}\\n")
                time.sleep(0.05)
            os._exit(0)
        os._exit(0)
    time.sleep(0.3)
    report(result="left a daemon behind")
elif what == "symlink_out":
    def go():
        if os.path.lexists("link"):
            os.remove("link")
        os.symlink(T["outside"], "link")
        with open("link", "w") as f:
            f.write("pwned through a link")
        return "wrote"
    report(result=attempt(go))
elif what == "flood":
    chunk = "x" * (1024 * 1024)
    while True:
        sys.stdout.write(chunk)
"""

Cli = Callable[..., CliResult]


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP server on loopback that answers 'hello' (what the network attack tries to reach)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.sendall(b"hello")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


@pytest.fixture
def attacker(
    make_repo: Callable[..., Repo],
    cli: Cli,
    tmp_path: Path,
    listener: int,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    """The hostile plugin installed, with secrets and another plugin for it to go after."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("PRIVATE KEY")
    monkeypatch.setenv("HOME", str(home))
    vault = paths.config_dir() / "vault.bin"
    vault.parent.mkdir(parents=True)
    vault.write_text("VAULT SECRET")
    victim = make_repo(
        "victim",
        {
            "mark1.plugin.yml": MANIFEST.replace("attacker", "victim"),
            "attack.py": "# the victim's code\nSECRET = 'victim'\n",
        },
    )
    # --no-check: probing each capability would run every attack once at install already.
    info = json.loads(cli("plugin", "install", str(victim.path), "--no-check", "--json").out)
    targets = {
        "outside": str(tmp_path / "outside.txt"),
        "read_ssh_key": str(home / ".ssh" / "id_rsa"),
        "read_vault": str(vault),
        "read_other_plugin": str(Path(info["source_path"]) / "attack.py"),
        "port": listener,
    }
    repo = make_repo(
        "attacker",
        {"mark1.plugin.yml": MANIFEST, "attack.py": ATTACK.format(targets=json.dumps(targets))},
    )
    assert cli("plugin", "install", str(repo.path), "--no-check").code == 0
    workdir = tmp_path / "work"
    workdir.mkdir()
    return {"targets": targets, "workdir": workdir}


def attack(cli: Cli, env: dict[str, Any], name: str, *extra: str) -> dict[str, Any]:
    result = cli(
        "run",
        f"attacker.{name.replace('_', '-')}",
        "--workdir",
        str(env["workdir"]),
        "--json",
        "-q",
        *extra,
    )
    data = json.loads(result.out)
    data["exit"] = result.code
    return data


def reported(data: dict[str, Any]) -> Any:
    return json.loads(data["stdout"].splitlines()[0])["result"]


def trust(cli: Cli) -> None:
    assert cli("plugin", "permissions", "attacker", "--trust").code == 0


@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandbox", "trusted"])
def test_file_attacks(attacker: dict[str, Any], cli: Cli, sandboxed: bool) -> None:
    """Writing outside the workspace (directly or through a symlink) and reading ~/.ssh, the
    vault and another plugin's files: all blocked in the sandbox, all possible without it."""
    if not sandboxed:
        trust(cli)
    targets = attacker["targets"]
    outcomes = {
        name: reported(attack(cli, attacker, name))
        for name in ("write_outside", "read_ssh_key", "read_vault", "read_other_plugin")
    }
    linked = reported(attack(cli, attacker, "symlink_out"))  # after write_outside: overwrites
    written = Path(targets["outside"])
    if sandboxed:
        reads = [v for k, v in outcomes.items() if k.startswith("read")]
        assert all(str(v).startswith("blocked") for v in reads), outcomes
        # Writes outside the workspace land in the sandbox's throwaway tmpfs (or fail):
        # either way nothing reaches the host.
        assert not written.exists(), "a write escaped the sandbox"
    else:
        assert outcomes["read_ssh_key"] == "PRIVATE KEY"
        assert outcomes["read_vault"] == "VAULT SECRET"
        assert "victim" in outcomes["read_other_plugin"]
        assert linked == "wrote" and written.read_text() == "pwned through a link"


def test_a_granted_folder_around_the_secrets_does_not_expose_them(
    attacker: dict[str, Any], cli: Cli, tmp_path: Path
) -> None:
    """A path grant wide enough to contain the home folder, the vault and other plugins
    (here the test's whole folder, read-write) shares the rest of it, but what is hidden
    stays hidden: the most specific rule wins."""
    grant = cli("plugin", "permissions", "attacker", "--grant-path", f"{tmp_path}:rw")
    assert grant.code == 0, grant.err
    reads = {
        name: reported(attack(cli, attacker, name))
        for name in ("read_ssh_key", "read_vault", "read_other_plugin")
    }
    assert all(str(v).startswith("blocked") for v in reads.values()), reads
    assert reported(attack(cli, attacker, "write_outside")) != "blocked", "the grant holds"
    assert Path(attacker["targets"]["outside"]).read_text() == "pwned"


@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandbox", "trusted"])
def test_network_is_off_unless_granted(attacker: dict[str, Any], cli: Cli, sandboxed: bool) -> None:
    if not sandboxed:
        trust(cli)
    result = reported(attack(cli, attacker, "connect"))
    assert result.startswith("blocked") if sandboxed else result == "hello"
    if sandboxed:
        assert cli("plugin", "permissions", "attacker", "--grant", "network").code == 0
        assert reported(attack(cli, attacker, "connect")) == "hello", "a grant opens it"


@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandbox", "trusted"])
def test_fork_bomb_and_memory_hog(attacker: dict[str, Any], cli: Cli, sandboxed: bool) -> None:
    """400 forks and a 4 GB allocation: capped at 256 processes and 2 GiB in the sandbox."""
    if not sandboxed:
        trust(cli)
    forks = reported(attack(cli, attacker, "fork_bomb"))
    memory = reported(attack(cli, attacker, "allocate"))
    if sandboxed:
        assert forks < 256 and memory == "blocked: MemoryError"
    else:
        assert forks == 400 and memory == 4 * 1024**3


def test_spinning_and_ignoring_sigterm_are_stopped(attacker: dict[str, Any], cli: Cli) -> None:
    spin = attack(cli, attacker, "spin", "--timeout", "1")
    assert spin["exit"] == 124 and spin["status"] == "timed_out"
    burn = attack(cli, attacker, "burn_cpu", "--timeout", "60")
    assert burn["status"] == "failed", "the CPU-seconds limit (1 s) ends it long before 60 s"
    assert burn["metrics"]["duration_s"] < 30
    stubborn = attack(cli, attacker, "ignore_term", "--timeout", "1")
    assert stubborn["status"] == "timed_out" and stubborn["stdout"] == "ignoring SIGTERM\n"


@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandbox", "trusted"])
def test_background_child_dies_with_the_run(
    attacker: dict[str, Any], cli: Cli, sandboxed: bool
) -> None:
    """A double-forked, setsid() daemon survives a process-group kill, not the PID namespace."""
    if not sandboxed:
        trust(cli)
    assert reported(attack(cli, attacker, "leave_child")) == "left a daemon behind"
    beats = attacker["workdir"] / "heartbeat"
    before = beats.read_text().count("\n")
    pid = int(beats.read_text().split()[-1])
    subprocess.run(["sleep", "0.5"], check=True)
    after = beats.read_text().count("\n")
    if sandboxed:
        assert after == before, "nothing inside the sandbox outlives the run"
    else:
        assert after > before, "outside the sandbox the daemon escaped"
        os.kill(pid, 9)


def test_flooding_output_is_stopped(
    attacker: dict[str, Any], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARK1_RUN__OUTPUT_LIMIT", "20MB")
    flood = attack(cli, attacker, "flood", "--timeout", "60")
    assert flood["status"] == "failed" and "more output" in flood["error"]
    assert len(flood["stdout"]) <= 8 * 1024 * 1024


def test_the_host_is_left_clean(attacker: dict[str, Any], cli: Cli, mark1_home: Path) -> None:
    """After the attacks no process of this test's plugins and no cgroup of ours is left."""
    for name in ("fork_bomb", "leave_child", "ignore_term"):
        attack(cli, attacker, name, "--timeout", "1")
    leftovers = subprocess.run(["pgrep", "-f", str(mark1_home)], capture_output=True, text=True)
    assert [p for p in leftovers.stdout.split() if not gone_within(int(p))] == []
    cgroups = [
        p for c in ("pids", "cpuacct", "memory") for p in Path("/sys/fs/cgroup", c).glob("mark1-*")
    ]
    assert cgroups == []


def test_a_workspace_that_contains_the_home_folder_is_refused(
    attacker: dict[str, Any], cli: Cli
) -> None:
    """Binding such a folder writable would undo the hiding of home and Mark-1's data."""
    result = cli("run", "attacker.spin", "--workdir", str(Path.home().parent), "--timeout", "1")
    assert result.code == 2 and "plugins must not see" in result.err
    assert json.loads(cli("runs", "list", "--json").out) == [], "refused before anything ran"


def test_without_bwrap_runs_warn_loudly_and_keep_their_limits(
    attacker: dict[str, Any], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where bwrap cannot run (faked at the probe: it does run here), every run says it is
    not isolated, and the resource limits still hold."""
    import adapters.sandbox

    monkeypatch.setattr(adapters.sandbox, "bwrap_problem", lambda: "bwrap is not installed")
    result = cli("run", "attacker.allocate", "--workdir", str(attacker["workdir"]), "--json")
    assert "NOT isolated: bwrap is not installed" in result.err
    assert reported(json.loads(result.out) | {"exit": result.code}) == "blocked: MemoryError"
    doctor = cli("doctor", "--json")
    sandbox = next(c for c in json.loads(doctor.out)["checks"] if c["name"] == "sandbox")
    assert sandbox["ok"] is False and "resource limits only" in sandbox["detail"]
    assert "apt-get install bubblewrap" in sandbox["fix"]
