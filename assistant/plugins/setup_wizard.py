"""The setup wizard: everything a plugin needs before it can run, asked once, checked live.

Driven by the manifest (and so by the repository analysis that wrote it): each environment
variable with the right kind of question, each external service ("use an existing one",
tested live, or "start a local one"), the OAuth sign-in, the resource limits, and finally a
test run. Every accepted answer is stored at once (secrets in the vault, other values in the
plugin's configuration, limits in its grants), so stopping half-way loses nothing already
answered, and running it again (``mark1 plugin configure``) offers what is stored.

Answers may also come from ``presets`` (``--from-env FILE``, the environment): they are
checked like typed ones. Without a person (``--non-interactive``) a missing or wrong answer
stops the wizard with the name of what is missing and how to give it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from assistant.config import Settings
from assistant.errors import UserError
from assistant.plugins import registry
from assistant.plugins.local_services import why_not_local
from assistant.plugins.manifest import Manifest, Service, parse_size
from assistant.plugins.plugin_needs import asked_variables, declared_services
from assistant.plugins.registry import PluginRecord
from assistant.plugins.services import Probe, probe_url
from assistant.plugins.setup_questions import (
    NO,
    YES,
    Asker,
    Question,
    env_question,
    number_check,
    path_grants,
    paths_check,
    size_check,
    yes_no,
)
from assistant.security import vault_init
from assistant.security.policy import grants_of
from assistant.security.secret_lookup import stored_names
from assistant.security.vault import Vault, WrongVaultKey, derive_key
from assistant.security.vault_key import locked_passphrase_vault, remember, unlocked_vault
from memory.store import Store

EXISTING, LOCAL = "use an existing one", "start a local one"
PROBE_SECONDS = 5.0


@dataclass
class SetupReport:
    """What the wizard did, for the front end's last screen and ``--json``."""

    plugin: str
    stored: list[str] = field(default_factory=list)  # names given a value, secrets included
    services: dict[str, str] = field(default_factory=dict)  # name -> what was checked
    signed_in: str | None = None
    limits: dict[str, Any] = field(default_factory=dict)
    test: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.test.get("status") in (None, "ready")


class Wizard:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        plugin: PluginRecord,
        asker: Asker,
        *,
        presets: Mapping[str, str] | None = None,
        interactive: bool = True,
    ) -> None:
        self.store, self.settings, self.plugin = store, settings, plugin
        self.asker, self.interactive = asker, interactive
        self.presets = dict(presets or {})
        self.report = SetupReport(plugin.name)

    # ---- asking --------------------------------------------------------------------------

    async def answer(self, question: Question, preset: str | None = None) -> str:
        """An accepted answer: the preset if it passes, else asked until it does (or, with
        nobody to ask, an error naming what to provide)."""
        problem = None
        if preset is not None:
            problem = question.problem(preset)
            if problem is None:
                return preset
        if not self.interactive:
            answer = question.default or ""
            problem = problem or question.problem(answer)
            if problem is None:
                return answer
            raise UserError(
                f"{self.plugin.name}: {question.title}: {problem}",
                hint=f"give it in the --from-env file ({_preset_name(question.key)}=...) "
                "or run `mark1 plugin configure` at a terminal",
            )
        while True:
            answer = (await self.asker.ask(question, problem)).strip()
            answer = answer or (question.default or "")
            problem = question.problem(answer)
            if problem is None:
                return answer

    def tell(self, text: str) -> None:
        self.asker.tell(text)

    # ---- the walk ------------------------------------------------------------------------

    async def run(self) -> SetupReport:
        self.tell(f"Setting up {self.plugin.name}")
        await self.unlock()
        await self.environment()
        await self.services()
        await self.sign_in()
        await self.limits()
        await self.test_run()
        return self.report

    async def environment(self) -> None:
        stored = stored_names(self.plugin.name)
        configured = self.plugin.config.get("env", {})
        for var in asked_variables(self.plugin.manifest):
            question = env_question(var, var.name in stored, configured.get(var.name))
            value = await self.answer(question, self._preset(var.name))
            if var.secret and value:
                await self.keep_secret(var.name, value)
            elif not var.secret:
                # the manifest's default stays the manifest's (an update may change it)
                value = "" if value == var.default else value
                await self.keep_config("env", var.name, value or None)
            if value:
                self.report.stored.append(var.name)

    def _preset(self, name: str) -> str | None:
        return self.presets.get(name, os.environ.get(name))

    # ---- services ------------------------------------------------------------------------

    async def services(self) -> None:
        for service in declared_services(self.plugin.manifest):
            await self.service(service)

    async def service(self, service: Service) -> None:
        reason = why_not_local(service.name)
        options = (EXISTING,) if reason else (EXISTING, LOCAL)
        chosen = self.plugin.config.get("services", {}).get(service.name, {})
        default = LOCAL if chosen.get("mode") == "local" and not reason else EXISTING
        what = f"{service.name} ({service.kind})" + (
            f": {service.description}" if service.description else ""
        )
        if reason:
            self.tell(f"{service.name}: no local server can be started here ({reason})")
        url_preset = self._preset(service.url_env) if service.url_env else None
        mode_preset = self.presets.get(f"service.{service.name}") or (
            EXISTING if url_preset else None
        )
        mode = await self.answer(
            Question(
                f"service.{service.name}", what, kind="choice", choices=options, default=default
            ),
            mode_preset,
        )
        if mode == LOCAL:
            await self.start_local(service)
        else:
            await self.use_existing(service, url_preset)

    async def use_existing(self, service: Service, preset: str | None) -> None:
        if not service.url_env:
            await self.keep_config("services", service.name, {"mode": "existing"})
            return
        stored = service.url_env in stored_names(self.plugin.name)
        checked: dict[str, Probe] = {}

        async def live(url: str) -> str | None:
            probe = await probe_url(url, timeout=PROBE_SECONDS)
            checked[url] = probe
            if probe.ok is False:
                return f"{probe.detail}" + (f"; {probe.fix}" if probe.fix else "")
            return None

        question = Question(
            f"service.{service.name}.url",
            f"{service.url_env}: the URL of the {service.name} server, credentials included"
            + (" (stored; press Enter to keep it)" if stored else ""),
            kind="secret",
            required=not stored,
        )
        url = await self._checked_answer(question, preset, live)
        if url:
            await self.keep_secret(service.url_env, url)
            self.report.stored.append(service.url_env)
        probe = checked.get(url)
        self.report.services[service.name] = probe.detail if probe else "kept as stored"
        self.tell(f"{service.name}: {self.report.services[service.name]}")
        await self.keep_config(
            "services", service.name, {"mode": "existing", "url_env": service.url_env}
        )

    async def _checked_answer(
        self, question: Question, preset: str | None, live: Callable[[str], Awaitable[str | None]]
    ) -> str:
        """Like ``answer``, with a live check (async) of every non-empty answer."""
        while True:
            value = await self.answer(question, preset)
            problem = await live(value) if value else None
            if problem is None:
                return value
            if not self.interactive:
                raise UserError(f"{self.plugin.name}: {question.title}: {problem}")
            self.tell(problem)
            preset = None

    async def start_local(self, service: Service) -> None:
        from assistant.plugins.service_runtime import started

        self.tell(f"starting a local {service.name} server for {self.plugin.name}...")
        server = await started(self.plugin.name, service.name, service.name)
        probe = await probe_url(server.url, timeout=PROBE_SECONDS)
        self.report.services[service.name] = probe.detail
        self.tell(f"{service.name}: {probe.detail}")
        record = {"mode": "local", "kind": service.name, "url_env": service.url_env}
        await self.keep_config("services", service.name, record)

    # ---- OAuth ---------------------------------------------------------------------------

    async def sign_in(self) -> None:
        spec = self.plugin.manifest.oauth
        if spec is None:
            return
        from assistant.security import oauth
        from assistant.security.oauth_tokens import VaultSlot, client_secret

        slot = VaultSlot(self.plugin.name, spec.provider)
        signed_in = slot.read() is not None
        question = yes_no(
            "oauth",
            f"Sign in to {spec.provider} now?" + (" (already signed in)" if signed_in else ""),
            default=not signed_in,
        )
        if await self.answer(question, self.presets.get("oauth")) == NO:
            return
        await self.vault()  # the token is kept there
        secret = client_secret(self.plugin.name, spec)
        if spec.flow == "device":
            await oauth.device_flow(
                spec, slot, show=lambda code: self.tell(code.instructions()), client_secret=secret
            )
        else:
            await oauth.redirect_flow(spec, slot, open_url=self._open, client_secret=secret)
        self.report.signed_in = spec.provider
        self.tell(f"signed in to {spec.provider}")

    def _open(self, url: str) -> None:
        import webbrowser

        self.tell(f"Open this address to sign in: {url}")
        with contextlib.suppress(Exception):
            webbrowser.open(url)

    # ---- limits --------------------------------------------------------------------------

    async def limits(self) -> None:
        """Time, memory and CPU limits, network access and extra folders, with what applies
        now as the default (the user's earlier choice, else the manifest's, else the
        settings')."""
        grants = grants_of(self.plugin)
        manifest = self.plugin.manifest
        wants_network = any(c.permissions.network for c in manifest.capabilities)
        timeout = grants.timeout or manifest.timeout or self.settings.run.timeout
        memory = (
            grants.max_memory or manifest.resources.max_memory or self.settings.sandbox.max_memory
        )
        cpu = grants.cpu_seconds or self.settings.sandbox.cpu_seconds
        questions = [
            Question(
                "timeout",
                "Time limit per run, in seconds",
                default=_number(timeout),
                check=number_check,
            ),
            Question(
                "max_memory",
                "Memory limit (e.g. 512M, 2G, or none)",
                default=_size(memory),
                check=size_check,
            ),
            Question(
                "cpu_seconds",
                "CPU time limit per run, in seconds",
                default=_number(cpu),
                check=number_check,
            ),
            yes_no(
                "network",
                "Allow network access?" + (" (the plugin asks for it)" if wants_network else ""),
                default=grants.network or wants_network,
                help="without it the plugin runs with no network at all",
            ),
            Question(
                "paths",
                "Folders it may use besides its workspace (PATH:ro or PATH:rw, comma separated;"
                " none for none)",
                default=", ".join(grants.paths) or "none",
                help=_asked_paths(manifest),
                check=paths_check,
            ),
        ]
        answers = {q.key: await self.answer(q, self.presets.get(q.key)) for q in questions}
        chosen = {
            "timeout": float(answers["timeout"]),
            "max_memory": None
            if answers["max_memory"] == "none"
            else parse_size(answers["max_memory"]),
            "cpu_seconds": int(float(answers["cpu_seconds"])),
            "network": answers["network"] == YES,
            "paths": path_grants(answers["paths"]),
        }
        updated = grants.model_copy(update=chosen)
        self.plugin = await registry.set_grants(self.store, self.plugin.name, updated.model_dump())
        self.report.limits = chosen

    # ---- the test run --------------------------------------------------------------------

    async def test_run(self) -> None:
        """The plugin's own checks with the configuration just given, recorded like the
        install's, so `mark1 plugin list` shows the result."""
        from assistant.plugins.validation import validate_plugin

        self.tell(f"test run of {self.plugin.name}...")
        report = await validate_plugin(self.plugin, self.settings, self.tell)
        self.report.test = report.to_dict()
        self.tell(f"{self.plugin.name} is {report.status}")

    # ---- storing -------------------------------------------------------------------------

    async def vault(self) -> Vault:
        """The unlocked vault, created the first time a secret needs it."""
        found = unlocked_vault()
        if found is not None:
            return found
        kind = vault_init.default_kind(can_ask=self.interactive)
        passphrase = None
        if kind == "passphrase":
            passphrase = os.environ.get("MARK1_VAULT_KEY") or await self.new_passphrase()
        vault, _ = vault_init.create(kind, passphrase)
        self.tell(f"created the secrets vault: {vault_init.describe(kind)}")
        return vault

    async def unlock(self) -> None:
        if self.interactive:
            await ask_to_unlock(self.asker)

    async def new_passphrase(self) -> str:
        first = await self.answer(
            Question(
                "vault.passphrase",
                "A passphrase for the new secrets vault (asked once per session)",
                kind="secret",
                check=vault_init.check_passphrase,
            )
        )
        again = Question(
            "vault.repeat",
            "Repeat the passphrase",
            kind="secret",
            check=lambda answer: None if answer == first else "the two passphrases differ",
        )
        await self.answer(again)
        return first

    async def keep_secret(self, name: str, value: str) -> None:
        vault = await self.vault()
        vault.set(self.plugin.name, name, value)

    async def keep_config(self, section: str, name: str, value: Any) -> None:
        config = dict(self.plugin.config)
        part = dict(config.get(section, {}))
        if value is None:
            part.pop(name, None)
        else:
            part[name] = value
        config[section] = part
        self.plugin = await registry.set_config(self.store, self.plugin.name, config)


async def ask_to_unlock(asker: Asker) -> bool:
    """Ask for the passphrase of a passphrase vault through the front end (a full-screen app
    cannot use the terminal prompt), until it opens the vault; False when nothing was locked."""
    locked = locked_passphrase_vault()
    if locked is None:
        return False
    question = Question("vault.unlock", "Passphrase of the secrets vault", kind="secret")
    problem = None
    while True:
        passphrase = await asker.ask(question, problem)
        try:
            locked.unlock(derive_key(passphrase, locked.kdf or {}))
        except WrongVaultKey:
            problem = "that passphrase does not open the vault"
            continue
        remember(locked)
        return True


def _asked_paths(manifest: Manifest) -> str:
    asked = sorted({p for c in manifest.capabilities for p in c.permissions.paths})
    return f"the plugin asks for: {', '.join(asked)}" if asked else ""


def _preset_name(key: str) -> str:
    """What to write in a --from-env file for a question: the variable's own name."""
    return key.removeprefix("env.")


def _number(value: float | int | None) -> str:
    return "" if value is None else f"{value:g}"


def _size(value: int | None) -> str:
    if not value:
        return "none"
    for unit, size in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if value % size == 0:
            return f"{value // size}{unit}iB"
    return str(value)
