"""The ``container`` adapter: a capability is a command run in a container image.

It talks to a container engine through the Docker Engine API with the ``docker`` SDK (an
optional extra: ``pip install 'mark1[containers]'``): Docker itself, or podman's compatible
socket (``podman system service``); ``DOCKER_HOST`` says where. Images are never pulled: the
image must be on this machine, or the entry point names a ``dockerfile`` in the plugin's
repository and the image is built from it, tagged ``mark1/<plugin>:<hash of the build context>``
so each version of the plugin is built once.

Sandboxed (the default), the container has no network unless the user granted it, a read-only
root file system with a private ``/tmp``, no new privileges, and the policy's memory and
process limits (CPU time and open files are left to the engine, see ``confinement``). Whether
sandboxed or not, the run's workspace is mounted read-write at its own
path and is the working directory; files named by absolute paths in the inputs are mounted
read-only; the environment is exactly what the plugin was granted. Output lines stream as they
are printed; outputs are collected as the cli adapter collects them (JSON on stdout, the files
the manifest says it ``produces``). After the time limit the container gets SIGTERM, then
SIGKILL after the grace period; it is always removed. Every blocking SDK call runs in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.argv import build_argv
from adapters.base import (
    AdapterBase,
    CapabilitySpec,
    Notice,
    OutputLine,
    PluginResult,
    RunContext,
    RunStarted,
)
from adapters.cgroups import RunCgroups
from adapters.inputs import named_paths
from adapters.process import CHUNK, LINE_END, STDERR_LIMIT, STDOUT_LIMIT, HeadCapture, TailCapture
from adapters.subprocess_cli import (
    PROGRESS_PREFIX,
    collect_outputs,
    last_line,
    parse_progress,
    settle,
)

if TYPE_CHECKING:
    from adapters.sandbox import SandboxPolicy

LABEL = (
    "mark1.plugin"  # every container and built image carries it: `podman ps -a --filter label=…`
)
INSTALL_HINT = "the container adapter needs the Docker SDK: pip install 'mark1[containers]'"
START_ENGINE = (
    "start Docker, or podman's Docker-compatible socket: "
    "`podman system service --time=0 unix:///run/podman/podman.sock &` and then "
    "`export DOCKER_HOST=unix:///run/podman/podman.sock`"
)
DEFAULT_HOST = "unix:///var/run/docker.sock"
KILL_WAIT = 10.0  # seconds to wait for the engine after SIGKILL
DRAIN_WAIT = 5.0  # seconds the output may take to end once the container has stopped


class EngineProblem(Exception):
    """The engine cannot be reached, or the image is missing or cannot be built."""

    def __init__(self, message: str, log: str = ""):
        super().__init__(message)
        self.log = log


class ContainerAdapter(AdapterBase):
    """Runs ``container`` entry points; one engine connection per session, opened on first use."""

    def __init__(self) -> None:
        self.client: Any = None

    async def aclose(self) -> None:
        """Close the engine connection, if one was opened."""
        if self.client is not None:
            client, self.client = self.client, None
            await asyncio.to_thread(client.close)

    async def execute(
        self, spec: CapabilitySpec, inputs: dict[str, Any], context: RunContext
    ) -> PluginResult:
        try:
            import docker.errors
            import requests.exceptions
        except ImportError:
            return PluginResult("failed", error=INSTALL_HINT)
        command = spec.entry.get("command") or []
        argv = build_argv(command, inputs, spec.parameters, spec.entry.get("args"))
        engine_errors = (docker.errors.DockerException, requests.exceptions.RequestException)
        try:
            client = await self._connect()
            image = await self._image(client, spec, context)
            context.workdir.mkdir(parents=True, exist_ok=True)
            config = container_config(spec, argv, image, inputs, context)
            # A cgroup of ours as the container's parent outlives it: what the container used
            # (CPU, peak memory) can be read after the engine has removed the container.
            cgroups = RunCgroups(context.sandbox.max_processes) if context.sandbox else None
            if cgroups is not None and "cpuacct" in cgroups.groups:
                config["cgroup_parent"] = "/" + cgroups.groups["cpuacct"].name
            try:
                try:
                    container = await asyncio.to_thread(client.containers.create, **config)
                except docker.errors.APIError as exc:
                    if "cgroup_parent" not in config:
                        return PluginResult(
                            "failed",
                            command=argv,
                            error=f"cannot create the container: {_explain(exc)}",
                        )
                    del config["cgroup_parent"]  # a remote or rootless engine: no measuring
                    container = await asyncio.to_thread(client.containers.create, **config)
                try:
                    result = await _run(container, spec, inputs, argv, context)
                finally:
                    problem = await asyncio.shield(asyncio.to_thread(_remove, container))
                    if problem:
                        context.emit(
                            Notice(f"could not remove the container: {problem}", "warning")
                        )
                if cgroups is not None and "cgroup_parent" in config:
                    result.metrics.update(cgroups.usage())
                return result
            finally:
                if cgroups is not None:
                    cgroups.close()
        except EngineProblem as exc:
            return PluginResult("failed", command=argv, error=str(exc), stderr=exc.log)
        except engine_errors as exc:
            return PluginResult(
                "failed", command=argv, error=f"the container engine failed: {_explain(exc)}"
            )

    async def _connect(self) -> Any:
        if self.client is None:
            import docker

            where = os.environ.get("DOCKER_HOST")
            at = (
                f"at {where} (DOCKER_HOST)"
                if where
                else f"at the default socket {DEFAULT_HOST} (DOCKER_HOST is not set)"
            )
            try:
                await asyncio.to_thread(_probe, where or DEFAULT_HOST)
                self.client = await asyncio.to_thread(docker.from_env)
            except (OSError, docker.errors.DockerException) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                raise EngineProblem(
                    f"no container engine answers {at}: {_explain(reason)}; {START_ENGINE}"
                ) from None
        return self.client

    async def _image(self, client: Any, spec: CapabilitySpec, context: RunContext) -> str:
        """The local image to run: the entry point's, or one built from its ``dockerfile``."""
        from docker.errors import BuildError, ImageNotFound

        name = spec.entry.get("image")
        dockerfile = spec.entry.get("dockerfile")
        if name:
            try:
                await asyncio.to_thread(client.images.get, name)
                return str(name)
            except ImageNotFound:
                if not dockerfile:
                    raise EngineProblem(
                        f"the image '{name}' is not on this machine, and Mark-1 never pulls "
                        f"images: get it yourself (`docker pull {name}` or `podman pull {name}`), "
                        "or give the entry point a `dockerfile` to build it from the plugin's "
                        "repository"
                    ) from None
        if not dockerfile:
            raise EngineProblem("the entry point names neither an image nor a dockerfile")
        source = spec.source_dir.resolve()
        path = (source / dockerfile).resolve()
        if not path.is_relative_to(source) or not path.is_file():
            raise EngineProblem(f"the dockerfile '{dockerfile}' is not a file in the repository")
        tag = f"mark1/{spec.plugin}:{context_digest(source, path)}"
        with contextlib.suppress(ImageNotFound):
            await asyncio.to_thread(client.images.get, tag)
            return tag
        context.emit(Notice(f"building {spec.plugin}'s container image {tag} from {dockerfile}"))
        try:
            await asyncio.to_thread(
                client.images.build,
                path=str(source),
                dockerfile=str(path.relative_to(source)),
                tag=tag,
                rm=True,
                forcerm=True,
                labels={LABEL: spec.plugin},
            )
        except BuildError as exc:
            log = "".join(str(c.get("stream") or c.get("error") or "") for c in exc.build_log)
            raise EngineProblem(
                f"building the image from {dockerfile} failed: {exc.msg}", log[-STDERR_LIMIT:]
            ) from None
        return tag


def container_config(
    spec: CapabilitySpec,
    argv: list[str],
    image: str,
    inputs: dict[str, Any],
    context: RunContext,
) -> dict[str, Any]:
    """The keyword arguments of ``containers.create`` for one run."""
    from docker.types import Mount

    workdir = context.workdir.absolute()
    mounts = [Mount(str(workdir), str(workdir), type="bind", read_only=False)]
    mounts += [Mount(str(p), str(p), type="bind", read_only=True) for p in input_paths(inputs)]
    policy = context.sandbox
    if policy is not None:
        mounts += [Mount(str(p), str(p), type="bind") for p in policy.read_write if p.exists()]
    seen: set[str] = set()
    unique = []
    for mount in mounts:  # the workspace first: an input inside it needs no mount of its own
        inside = any(Path(mount["Target"]).is_relative_to(s) for s in seen)
        if not inside:
            seen.add(mount["Target"])
            unique.append(mount)
    env = {"MARK1_WORKDIR": str(workdir), "PYTHONUNBUFFERED": "1", **context.env}
    config: dict[str, Any] = {
        "image": image,
        "command": argv or None,  # none: the image's own CMD
        "name": f"mark1-{spec.plugin}-{spec.name}-{uuid.uuid4().hex[:8]}",
        "labels": {LABEL: spec.plugin, "mark1.capability": spec.name},
        "working_dir": str(workdir),
        "mounts": unique,
        "environment": env,
        "stdin_open": False,
        "tty": False,
    }
    if policy is not None:
        config.update(confinement(policy))
    return config


def confinement(policy: SandboxPolicy) -> dict[str, Any]:
    """The sandbox policy in engine terms.

    No ulimits are sent: a request that sets any gets the engine's built-in values for the
    others instead of its configured defaults, which breaks podman where root cannot raise its
    own limits. So ``cpu_seconds`` and ``max_open_files`` are left to the engine (the time limit
    still bounds a run); processes are capped by ``pids_limit``, memory by the cgroup.
    """
    config: dict[str, Any] = {
        "read_only": True,
        "tmpfs": {"/tmp": "rw,exec,nosuid,nodev"},
        "security_opt": ["no-new-privileges"],
        "pids_limit": policy.max_processes,
    }
    if not policy.network:
        config["network_mode"] = "none"
    if policy.max_memory:
        config["mem_limit"] = policy.max_memory
    if policy.cpus:
        config["nano_cpus"] = int(policy.cpus * 1e9)
    return config


def input_paths(inputs: dict[str, Any]) -> list[Path]:
    """Existing files and folders named by absolute paths in the inputs (the user shares them)."""
    found: list[Path] = []
    for value in named_paths(inputs):
        path = Path(os.path.normpath(value))  # where the plugin is told to look
        if path != Path("/") and path not in found:
            found.append(path)
    return sorted(found)


def context_digest(source: Path, dockerfile: Path) -> str:
    """12 hex digits naming the build: the Dockerfile's text, and every file's path, size and
    modification time in the context (cheap for a large repository; .git is left out)."""
    digest = hashlib.sha256(dockerfile.read_bytes())
    for root, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(files):
            path = Path(root, name)
            with contextlib.suppress(OSError):
                info = path.lstat()
                line = f"{path.relative_to(source)}\0{info.st_size}\0{info.st_mtime_ns}\n"
                digest.update(line.encode("utf-8", errors="surrogateescape"))
    return digest.hexdigest()[:12]


async def _run(
    container: Any,
    spec: CapabilitySpec,
    inputs: dict[str, Any],
    argv: list[str],
    context: RunContext,
) -> PluginResult:
    """Start ``container``, stream its output, wait for it within the time limit."""
    import docker.errors

    loop = asyncio.get_running_loop()

    def on_line(stream: str, text: str) -> None:  # called on the event loop
        progress = parse_progress(text)
        if progress is not None:
            context.emit(progress)
            if text.startswith(PROGRESS_PREFIX):
                return
        context.emit(OutputLine(stream, text))  # type: ignore[arg-type]

    # Attached before it starts, nothing it prints is missed; both streams arrive live on one
    # connection, in order, and it ends when the container does. (Following the logs instead
    # answers only once something was printed, and makes podman re-read its log file.)
    output = None
    try:  # podman prepares the container when it is attached to, so either step may fail
        output = await asyncio.to_thread(
            container.attach, stdout=True, stderr=True, stream=True, demux=True, logs=True
        )
        await asyncio.to_thread(container.start)
    except docker.errors.APIError as exc:  # e.g. the command is not in the image
        _close(output)
        return PluginResult("failed", command=argv, error=f"cannot start: {_explain(exc)}")
    started = time.monotonic()
    await asyncio.to_thread(container.reload)
    context.emit(RunStarted(argv, container.attrs.get("State", {}).get("Pid") or None))
    out, err = HeadCapture(STDOUT_LIMIT), TailCapture(STDERR_LIMIT)
    over = asyncio.Event()
    pump = asyncio.ensure_future(
        asyncio.to_thread(_pump, output, out, err, context.output_limit, loop, on_line, over.set)
    )
    pump.add_done_callback(_consume)
    waited: asyncio.Future[dict[str, Any]] = asyncio.ensure_future(
        asyncio.to_thread(container.wait)
    )
    waited.add_done_callback(_consume)
    timed_out = False
    try:
        await asyncio.wait_for(_finish(waited, pump, over), context.timeout)
    except TimeoutError:
        timed_out = True
    finally:
        if not waited.done():
            await asyncio.shield(_stop(container, waited, context.kill_grace))
        # the output ends with the container; else it ends when the container is removed
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(pump), DRAIN_WAIT)
    duration = time.monotonic() - started
    exit_code = None
    if waited.done() and not waited.cancelled() and waited.exception() is None:
        exit_code = waited.result().get("StatusCode")
    result = PluginResult(
        "succeeded",
        exit_code=exit_code,
        stdout=out.text(),
        stderr=err.text(),
        command=argv,
        metrics={"duration_s": round(duration, 4)},
    )
    if settle(result, timeout=context.timeout, timed_out=timed_out, output_exceeded=over.is_set()):
        pass
    elif exit_code != 0:
        result.status = "failed"
        result.error = f"exited with status {exit_code}"
        if exit_code == 137 and await asyncio.to_thread(_oom_killed, container):
            policy = context.sandbox
            limit = policy.max_memory if policy is not None else None
            result.error += f": out of memory (limit {limit} bytes)" if limit else ": out of memory"
        else:
            result.error += last_line(result.stderr)
    if out.truncated:
        result.error = (result.error or "") + " (stdout was truncated)"
    if result.ok:
        collect_outputs(spec, inputs, context.workdir, result)
    return result


async def _finish(
    waited: asyncio.Future[Any], pump: asyncio.Future[Any], over: asyncio.Event
) -> None:
    """Until the container has exited and its output is read, or it printed too much."""

    async def ended() -> None:
        await asyncio.shield(pump)
        await asyncio.shield(waited)

    watchers = [asyncio.ensure_future(ended()), asyncio.ensure_future(over.wait())]
    try:
        done, _ = await asyncio.wait(watchers, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for watcher in watchers:
            watcher.cancel()
    if watchers[0] in done:
        watchers[0].result()  # the engine's failure to wait, if any


async def _stop(container: Any, waited: asyncio.Future[Any], grace: float) -> None:
    """SIGTERM, ``grace`` seconds, then SIGKILL (like a process group in ``adapters.process``)."""
    import docker.errors

    for sig, wait in (("SIGTERM", grace), ("SIGKILL", KILL_WAIT)):
        with contextlib.suppress(docker.errors.APIError):  # it may have exited meanwhile
            await asyncio.to_thread(container.kill, signal=sig)
        try:
            await asyncio.wait_for(asyncio.shield(waited), wait)
        except TimeoutError:
            continue
        except Exception:  # the engine's answer to wait; the removal that follows settles it
            return
        return


def _pump(
    output: Any,
    out: HeadCapture,
    err: HeadCapture,
    limit: int,
    loop: asyncio.AbstractEventLoop,
    on_line: Callable[[str, str], None],
    exceeded: Callable[[], None],
) -> None:
    """Copy the container's output into ``out`` and ``err`` (in a thread), handing complete
    lines to the event loop as they come.

    Past ``limit`` bytes it calls ``exceeded`` and reads on without keeping anything, until
    the container is stopped and the output ends.
    """

    def emit(name: str, data: bytes) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is listening
            loop.call_soon_threadsafe(on_line, name, data.decode("utf-8", errors="replace"))

    pending = {"stdout": b"", "stderr": b""}
    captures = {"stdout": out, "stderr": err}
    flooding = False
    try:
        for frame in output:
            if flooding:
                continue
            for name, chunk in zip(("stdout", "stderr"), frame, strict=True):
                if not chunk:
                    continue
                captures[name].add(chunk)
                limit -= len(chunk)
                if limit < 0:
                    flooding = True
                    with contextlib.suppress(RuntimeError):
                        loop.call_soon_threadsafe(exceeded)
                    break
                *lines, pending[name] = LINE_END.split(pending[name] + chunk)
                for line in lines:
                    emit(name, line)
                if len(pending[name]) > CHUNK:
                    emit(name, pending[name])
                    pending[name] = b""
    except (OSError, ValueError):  # the connection broke: the run is over
        pass
    finally:
        _close(output)
    if not flooding:
        for name, rest in pending.items():
            if rest:
                emit(name, rest)


def _close(output: Any) -> None:
    """Release the connection of an attached stream (the SDK leaves this to its caller)."""
    response = getattr(output, "_response", None)
    if response is not None:
        with contextlib.suppress(Exception):
            response.close()


def _consume(future: asyncio.Future[Any]) -> None:
    """Retrieve a failure of ``wait`` nobody awaited (the container was removed first)."""
    if not future.cancelled():
        future.exception()


def _oom_killed(container: Any) -> bool:
    with contextlib.suppress(Exception):
        container.reload()
        return bool(container.attrs.get("State", {}).get("OOMKilled"))
    return False


def _remove(container: Any) -> str | None:
    """Remove ``container`` (killing it if need be); what went wrong, if anything did."""
    import docker.errors
    import requests.exceptions

    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        return None
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        return f"{container.name}: {_explain(exc)}"
    return None


def _probe(host: str) -> None:
    """Connect to a unix socket and hang up: OSError when nothing listens there. (The SDK
    would leave the socket of a failed attempt open; other kinds of host are left to it.)"""
    if host.startswith("unix://"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(host.removeprefix("unix://"))


def _explain(exc: object) -> str:
    """The engine's own words when it gave some, else the exception's."""
    text = getattr(exc, "explanation", None) or str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return str(text).strip()
