"""A real container engine for tests: podman with its own storage, serving the Docker API on a
socket, with a busybox image made from the host's static busybox (nothing is ever pulled).

Podman 4.3 running as root needs runc and default ulimits no higher than the host allows; they
are written to a containers.conf that only the podman processes started here see (through
``CONTAINERS_CONF``), so nothing in /etc is touched. Storage, run state and the socket live in
a folder of the test session and use the ``vfs`` driver (works on any file system, leaves no
mounts behind); the service and the storage go when the session ends.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import struct
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

IMAGE = "localhost/mark1-busybox:test"
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
"""
START_TIMEOUT = 30.0


def missing() -> str | None:
    """Why these tests cannot run here, or None when they can."""
    needs = {"podman": "podman", "runc": "runc", "busybox": "busybox-static"}
    absent = [pkg for exe, pkg in needs.items() if shutil.which(exe) is None]
    if absent:
        return "needs " + ", ".join(absent) + f" (apt-get install {' '.join(absent)})"
    busybox = shutil.which("busybox")
    if busybox is None or not is_static(Path(busybox)):
        return f"{busybox} is not statically linked: apt-get install busybox-static"
    if os.geteuid() != 0:
        return "the podman fixture runs podman as root"
    return None


def is_static(path: Path) -> bool:
    """Whether an ELF executable has no program interpreter (so it runs in an empty rootfs)."""
    with path.open("rb") as handle:
        head = handle.read(64)
        if head[:4] != b"\x7fELF":
            return False
        wide, order = head[4] == 2, "<" if head[5] == 1 else ">"
        if wide:
            (offset,) = struct.unpack_from(order + "Q", head, 0x20)
            size, count = struct.unpack_from(order + "HH", head, 0x36)
        else:
            (offset,) = struct.unpack_from(order + "I", head, 0x1C)
            size, count = struct.unpack_from(order + "HH", head, 0x2A)
        handle.seek(offset)
        table = handle.read(size * count)
    pt_interp = 3
    return all(
        struct.unpack_from(order + "I", table, i * size)[0] != pt_interp for i in range(count)
    )


@dataclass
class Podman:
    """A running ``podman system service`` and the flags to reach its storage from the CLI."""

    base: Path
    proc: subprocess.Popen[bytes]

    @property
    def socket_path(self) -> Path:
        return self.base / "podman.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket_path}"

    @staticmethod
    def flags(base: Path) -> list[str]:
        return [
            "--root",
            str(base / "storage"),
            "--runroot",
            str(base / "run"),
            "--tmpdir",
            str(base / "tmp"),
            "--storage-driver",
            "vfs",
            "--cgroup-manager",
            "cgroupfs",
        ]

    @staticmethod
    def environment(base: Path) -> dict[str, str]:
        return {**os.environ, "CONTAINERS_CONF": str(base / "containers.conf")}

    def __call__(self, *args: str) -> str:
        """``podman ARGS`` on this engine's storage; its stdout."""
        done = subprocess.run(
            ["podman", *self.flags(self.base), *args],
            env=self.environment(self.base),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"podman {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def containers(self) -> list[str]:
        """The names of every container this engine has, running or not."""
        return self("ps", "-a", "--format", "{{.Names}}").split()

    def images(self) -> list[str]:
        return self("images", "--format", "{{.Repository}}:{{.Tag}}").split()

    @classmethod
    def start(cls, base: Path) -> Podman:
        base.mkdir(parents=True, exist_ok=True)
        (base / "containers.conf").write_text(CONTAINERS_CONF)
        log = (base / "service.log").open("wb")
        proc = subprocess.Popen(
            [
                "podman",
                *cls.flags(base),
                "system",
                "service",
                "--time=0",
                f"unix://{base / 'podman.sock'}",
            ],
            env=cls.environment(base),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        engine = cls(base, proc)
        try:
            engine.wait_ready()
            engine.import_busybox()
        except BaseException:
            engine.stop()
            raise
        return engine

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.base / "service.log").read_text(errors="replace")
                raise RuntimeError(f"podman system service exited: {log.strip()[-500:]}")
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(2)
                sock.connect(str(self.socket_path))
                sock.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
                if b" 200 " in sock.recv(1024):
                    return
            time.sleep(0.05)
        raise RuntimeError(f"podman's socket {self.socket_path} did not answer in time")

    def import_busybox(self) -> None:
        """``IMAGE``: a root file system of the host's static busybox and its applet links."""
        rootfs = self.base / "rootfs"
        for folder in ("bin", "etc", "tmp", "proc", "sys", "dev"):
            (rootfs / folder).mkdir(parents=True, exist_ok=True)
        busybox = shutil.which("busybox")
        assert busybox is not None
        shutil.copy2(busybox, rootfs / "bin" / "busybox")
        applets = subprocess.run(
            [busybox, "--list"], capture_output=True, text=True, check=True
        ).stdout.split()
        for applet in applets:
            link = rootfs / "bin" / applet
            if applet != "busybox" and not link.exists():
                link.symlink_to("busybox")
        archive = self.base / "rootfs.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(rootfs, arcname=".")
        self("import", "--change", "ENV PATH=/bin", str(archive), IMAGE)

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self("rm", "--all", "--force")
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
