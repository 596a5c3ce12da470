"""The ssh adapter and ``mark1 remote`` against a real sshd on loopback, started for this module
with its own host key and a user key in a temporary folder: trusting the host key, testing the
connection, a capability that runs remotely on uploaded input and brings its file back, time
limits that kill the remote process, and refusals that say what to fix."""

from __future__ import annotations

import getpass
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import CliResult, Repo

Cli = Callable[..., CliResult]
SSHD = shutil.which("sshd") or shutil.which("sshd", path="/usr/sbin:/usr/local/sbin")


@dataclass
class Server:
    port: int
    user: str
    user_key: Path
    host_key: Path
    other_host_key: Path  # a key this server does not have
    folder: Path

    def add(self, cli: Cli, name: str, *extra: str) -> CliResult:
        return cli(
            "remote", "add", name, "--host", "127.0.0.1", "--port", str(self.port),
            "--user", self.user, *extra,
        )  # fmt: skip


def _keygen(path: Path) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(path)], check=True
    )
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if SSHD is None or shutil.which("ssh-keygen") is None:
        pytest.skip("needs an OpenSSH server (apt-get install openssh-server)")
    if importlib.util.find_spec("asyncssh") is None:
        pytest.skip("needs asyncssh (pip install 'mark1[ssh]')")
    privsep = Path("/run/sshd")  # sshd refuses to start without its privilege separation dir
    try:
        privsep.mkdir(mode=0o755, parents=True, exist_ok=True)
    except OSError as exc:
        pytest.skip(f"sshd needs {privsep}: {exc.strerror}")
    folder = tmp_path_factory.mktemp("sshd")
    host_key = _keygen(folder / "host_key")
    user_key = _keygen(folder / "user_key")
    other_host_key = _keygen(folder / "other_host_key")
    (folder / "authorized_keys").write_text((folder / "user_key.pub").read_text())
    config = folder / "sshd_config"
    config.write_text(
        f"ListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {folder / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nStrictModes no\n"
        "UsePAM no\nSubsystem sftp internal-sftp\nLogLevel ERROR\n"
    )
    port = _free_port()
    log = (folder / "sshd.log").open("w")
    proc = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(config), "-p", str(port)], stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                pytest.fail(f"sshd exited: {(folder / 'sshd.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("sshd did not start listening within 10 s")
                time.sleep(0.02)
        yield Server(port, getpass.getuser(), user_key, host_key, other_host_key, folder)
    finally:
        proc.terminate()
        proc.wait(5)
        log.close()


def _ended(pid: int, seconds: float = 5.0) -> bool:
    """Whether ``pid`` has ended (a zombie has: the remote's init reaps it in its own time)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.02)
    return False


def _fingerprint(public_key: Path) -> str:
    out = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(public_key)], capture_output=True, text=True, check=True
    ).stdout
    return out.split()[1]


@pytest.fixture
def box(sshd: Server, cli: Cli) -> Server:
    """The server added as remote ``box``, its host key trusted on first use."""
    added = sshd.add(cli, "box", "--key", str(sshd.user_key), "--trust-host-key", "--json")
    assert added.code == 0, added.err
    return sshd


COUNT = """\
import json, os, sys
path, out = sys.argv[1], sys.argv[sys.argv.index("--out") + 1]
rows = len(open(path).read().splitlines()) - 1
print('MARK1_PROGRESS 50 "counting"', file=sys.stderr, flush=True)
print("counted on the remote", file=sys.stderr)
json.dump({"rows": rows}, open(out, "w"))
print(json.dumps({"rows": rows, "read": path, "cwd": os.getcwd(),
                  "greeting": os.environ.get("GREETING")}))
"""

MANIFEST = {
    "schema_version": "1.0",
    "plugin": {"name": "remote-count"},
    "capabilities": [
        {
            "name": "count",
            "parameters": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "path"},
                    "out": {"type": "string", "default": "count.json"},
                },
            },
            "env": [{"name": "GREETING", "required": False}],
            "produces": [{"name": "report", "path": "{out}", "format": "json"}],
        },
        {"name": "nap"},
        {"name": "elsewhere"},
    ],
    "entry_points": [
        {
            "capability": "count",
            "type": "ssh",
            "host": "box",
            "command": ["python3", "-c", COUNT],
            "args": {"file": {"position": 0}},
        },
        {
            "capability": "nap",
            "type": "ssh",
            "host": "box",
            "command": ["sh", "-c", "pwd; sleep 60 & echo $!; wait"],
        },
        {"capability": "elsewhere", "type": "ssh", "host": "nowhere", "command": "true"},
    ],
}


@pytest.fixture
def plugin(make_repo: Callable[..., Repo], cli: Cli) -> Repo:
    repo = make_repo("remote-count", {"mark1.plugin.yml": yaml.safe_dump(MANIFEST)})
    installed = cli("plugin", "install", str(repo.path))
    assert installed.code == 0, installed.err
    return repo


def test_trust_on_first_use_then_test_the_connection(sshd: Server, cli: Cli) -> None:
    added = sshd.add(cli, "box", "--key", str(sshd.user_key), "--trust-host-key", "--json")
    assert added.code == 0, added.err
    data = json.loads(added.out)
    assert data["fingerprint"] == _fingerprint(sshd.host_key.with_suffix(".pub"))
    assert data["host_key_known"] is True
    assert Path(data["known_hosts"]).is_relative_to(Path(os.environ["MARK1_HOME"]))

    tested = cli("remote", "test", "box", "--json")
    assert tested.code == 0, tested.err
    assert json.loads(tested.out)["ok"] is True
    human = cli("remote", "test", "box")
    assert human.code == 0 and human.out.startswith(f"ok: {sshd.user}@127.0.0.1:{sshd.port}")
    assert [r["name"] for r in json.loads(cli("remote", "list", "--json").out)] == ["box"]

    again = sshd.add(cli, "box", "--trust-host-key")
    assert again.code == 2 and "already exists" in again.err
    removed = cli("remote", "remove", "box", "--json")
    assert removed.code == 0 and json.loads(removed.out) == {"removed": "box"}
    assert Path(data["known_hosts"]).read_text() == "", "its trusted key is forgotten too"
    assert cli("remote", "test", "box").code == 2


def test_a_capability_runs_remotely_on_uploaded_input_and_its_file_comes_back(
    box: Server, plugin: Repo, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_file = tmp_path / "elsewhere" / "sales data.csv"  # outside the workspace, with a space
    data_file.parent.mkdir()
    data_file.write_text("region,amount\nnorth,1\nsouth,2\neast,3\n")
    workspace = tmp_path / "ws"
    monkeypatch.setenv("GREETING", "hi; echo pwned $(id)")  # reaches the remote verbatim

    result = cli(
        "run", "remote-count.count", "-i", f"file={data_file}",
        "--workdir", str(workspace), "--json",
    )  # fmt: skip
    assert result.code == 0, result.out + result.err
    data = json.loads(result.out)
    outputs = data["outputs"]
    assert outputs["rows"] == 3
    assert outputs["greeting"] == "hi; echo pwned $(id)"
    assert outputs["read"] != str(data_file), "the input was rewritten to the uploaded copy"
    assert outputs["read"].startswith(outputs["cwd"]) and outputs["read"].endswith("sales data.csv")
    assert outputs["report"] == str(workspace / "count.json")
    assert json.loads((workspace / "count.json").read_text()) == {"rows": 3}
    assert data["artifacts"] == [str(workspace / "count.json")]
    assert data["command"][:2] == ["ssh", f"{box.user}@127.0.0.1:{box.port}"]
    assert "counted on the remote" in data["stderr"]
    assert not os.path.exists(outputs["cwd"]), "the remote run folder was removed"
    assert "running on the remote 'box'" in result.err
    assert "runs in a sandbox" not in result.err, "no claim of a sandbox that does not apply"
    assert "counted on the remote" in result.err, "remote output is streamed"
    assert "[ 50%] counting" in result.err, "progress lines become progress events"
    if os.access("/usr/bin/time", os.X_OK):  # the remote (this machine) has GNU time
        assert data["metrics"]["cpu_s"] > 0 and data["metrics"]["peak_memory_bytes"] > 1_000_000


def test_the_time_limit_stops_the_remote_process(box: Server, plugin: Repo, cli: Cli) -> None:
    started = time.monotonic()
    result = cli("run", "remote-count.nap", "--timeout", "1", "--json")
    assert result.code == 124, result.out + result.err
    assert time.monotonic() - started < 10
    data = json.loads(result.out)
    assert data["status"] == "timed_out"
    rundir, pid = data["stdout"].split()
    assert _ended(int(pid)), "the remote sleep was killed with its process group"
    assert not os.path.exists(rundir)


def test_a_host_key_that_does_not_match_is_refused(
    sshd: Server, plugin: Repo, cli: Cli, tmp_path: Path
) -> None:
    other = sshd.other_host_key.with_suffix(".pub").read_text().split()
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sshd.port} {other[0]} {other[1]}\n")
    added = sshd.add(cli, "box", "--key", str(sshd.user_key), "--known-hosts", str(known))
    assert added.code == 0, added.err

    tested = cli("remote", "test", "box")
    assert tested.code == 2
    assert "does NOT match" in tested.err and "intercepting" in tested.err
    assert "hint:" in tested.err and "--trust-host-key" in tested.err

    ran = cli("run", "remote-count.count", "-i", "file=x", "--json")
    assert ran.code == 1
    assert "does NOT match" in json.loads(ran.out)["error"]

    known.write_text("")
    unknown = cli("remote", "test", "box")
    assert unknown.code == 2 and "is unknown" in unknown.err


def test_login_and_network_failures_say_what_to_fix(sshd: Server, cli: Cli) -> None:
    wrong_key = sshd.add(cli, "box", "--key", str(sshd.other_host_key), "--trust-host-key")
    assert wrong_key.code == 0, wrong_key.err
    denied = cli("remote", "test", "box")
    assert denied.code == 2
    assert "authentication failed" in denied.err and "authorized_keys" in denied.err

    closed = _free_port()
    refused = cli("remote", "add", "gone", "--host", "127.0.0.1", "--port", str(closed))
    assert refused.code == 0, "adding does not connect unless asked to"
    assert "not in" in refused.out, "it says the host key is not known yet"
    trusted = cli("remote", "add", "gone2", "--host", "127.0.0.1", "--port", str(closed),
                  "--trust-host-key")  # fmt: skip
    assert trusted.code == 4 and "connection refused" in trusted.err
    assert cli("remote", "show", "gone2").code == 2, "nothing is stored when the key fetch fails"


def test_a_capability_on_a_remote_that_is_not_configured_says_how_to_add_it(
    plugin: Repo, cli: Cli
) -> None:
    result = cli("run", "remote-count.elsewhere")
    assert result.code == 2
    assert "remote 'nowhere'" in result.err and "mark1 remote add nowhere" in result.err
    assert json.loads(cli("runs", "list", "--json").out) == [], "refused before it was recorded"


CAT = 'mkdir -p out && cat "$@" > out/all.txt && pwd >&2'
LEAVE = "sleep 60 >/dev/null 2>&1 & echo $!"


async def test_one_connection_serves_every_execution_of_a_session(
    sshd: Server, tmp_path: Path
) -> None:
    from adapters.argv import POSITIONAL_KEY
    from adapters.base import CapabilitySpec, RunContext
    from adapters.ssh_remote import SshAdapter

    known = tmp_path / "known_hosts"
    public = sshd.host_key.with_suffix(".pub").read_text().split()
    known.write_text(f"[127.0.0.1]:{sshd.port} {public[0]} {public[1]}\n")
    remote = {
        "name": "box",
        "host": "127.0.0.1",
        "port": sshd.port,
        "user": sshd.user,
        "key_path": str(sshd.user_key),
        "known_hosts": str(known),
    }
    workspace = tmp_path / "ws"
    (workspace / "in").mkdir(parents=True)
    (workspace / "in" / "a.txt").write_text("alpha\n")
    (workspace / "in" / "b.txt").write_text("beta\n")
    outside = tmp_path / "c.txt"
    outside.write_text("gamma\n")
    copy = CapabilitySpec(
        plugin="p",
        name="cat",
        entry={"type": "ssh", "host": "box", "command": ["sh", "-c", CAT, "-"]},
        source_dir=tmp_path,
        produces=[{"name": "all", "path": "out/*.txt", "required": True}],
    )
    fail = CapabilitySpec(
        plugin="p",
        name="fail",
        entry={"type": "ssh", "host": "box", "command": ["sh", "-c", "echo broken >&2; exit 3"]},
        source_dir=tmp_path,
    )
    leave = CapabilitySpec(
        plugin="p",
        name="leave",
        entry={"type": "ssh", "host": "box", "command": ["sh", "-c", LEAVE]},
        source_dir=tmp_path,
    )
    context = RunContext(workdir=workspace, timeout=20, remote=remote)
    async with SshAdapter() as adapter:
        files = ["in/a.txt", str(workspace / "in" / "b.txt"), str(outside), str(outside)]
        done = await adapter.execute(copy, {POSITIONAL_KEY: files}, context)
        assert done.ok, done.error
        assert (workspace / "out" / "all.txt").read_text() == "alpha\nbeta\ngamma\ngamma\n"
        rundir = done.stderr.strip()  # the plugin printed it; relative paths stay relative
        uploaded = f"{rundir}/.mark1-inputs/2/c.txt"  # once, though named twice
        assert done.command[-4:] == ["in/a.txt", f"{rundir}/in/b.txt", uploaded, uploaded]
        assert done.outputs["all"] == [str(workspace / "out" / "all.txt")]
        left = await adapter.execute(leave, {}, context)
        assert left.ok and _ended(int(left.stdout)), "what a run leaves running is killed"
        failed = await adapter.execute(fail, {}, context)
        assert failed.status == "failed" and failed.exit_code == 3
        assert failed.error == "exited with status 3: broken"
        assert len(adapter.sessions) == 1
        conn = next(iter(adapter.sessions.values())).conn
    assert conn.is_closed(), "the session's end closes its connection"
