"""The installed plugins, what each can do and how it is confined, and the lifecycle
`mark1 plugin` offers, without leaving the app.

Keys: i install from a Git URL or folder · c configure (the setup wizard) · space/t enable or
disable · u update · r remove · escape back to the chat. An install of a plugin that needs
secrets, settings, services or a sign-in goes on into the setup wizard.

Install, update and remove run the Installer in a worker thread with its own event loop and
its own connection to the database, as a concurrent `mark1 plugin` process would: the
Installer asks for approval through a synchronous callback, which has to wait for the person to
answer a dialog (impossible on the app's loop), and some of its work blocks (deleting folders,
probing modules), which must not freeze the screen. The Installer also re-indexes capability
search after each of them, as it does for the CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Header, Input, Log, Static

from assistant.errors import Mark1Error
from assistant.plugins import registry
from assistant.tui.screens.plan import EFFECT_STYLE
from assistant.tui.screens.question import ConfirmScreen

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from assistant.agent.loop import Agent
    from assistant.config import Settings
    from assistant.plugins.analysis.report import Analysis
    from assistant.plugins.installer import Installer
    from assistant.plugins.registry import PluginRecord
    from assistant.tui.app import AssistantApp

STATUS_STYLE = {"ready": "green", "degraded": "yellow", "failed": "red"}
EMPTY = "No plugins installed. Press i to install one from a Git URL or a folder."

# What an install, update or removal does with the Installer: the message to show when it
# succeeds, and the plugin to select afterwards (None: keep the selection).
Operation = Callable[["Installer"], Awaitable[tuple[str, str | None]]]


class InstallDeclined(Exception):
    """The person said no to the analysis; raised through the Installer so it deletes the
    fetched repository, as it does when the CLI's confirmation is refused."""


def open_plugins(app: App[Any], source: str = "") -> None:
    """Show the plugins screen, unless it is showing already (a key and /plugins both open it);
    ``source`` (from /install URL) waits in the install box for Enter."""
    if not isinstance(app.screen, PluginsScreen):
        app.push_screen(PluginsScreen(source))


def analysis_text(analysis: Analysis) -> str:
    """The report `mark1 plugin install` prints before asking, as plain text.

    ``show_analysis`` writes with click; captured here (on the app's thread, with nothing
    awaited in between, so nothing else prints meanwhile) click drops its colours, and the
    dialog reads exactly as the terminal does.
    """
    from assistant.cli.analysis_view import show_analysis

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        show_analysis(analysis)
    return out.getvalue().rstrip()


def plugin_detail(record: PluginRecord, settings: Settings) -> Text:
    """What `mark1 plugin info` and `mark1 plugin permissions` say about a plugin, in one pane.

    Touches the file system (the workspace folder, the sandbox's paths): call it off the
    app's loop.
    """
    text = Text()
    text.append(f"{record.name} {record.manifest.version}", "bold")
    text.append(f"  {record.status}", STATUS_STYLE.get(record.status, "dim"))
    text.append("" if record.enabled else "  disabled: its capabilities do not run", "red")
    if record.manifest.description:
        text.append(f"\n{record.manifest.description}")
    where = (
        record.source_path if record.linked else f"{record.source} @ {(record.commit or '')[:12]}"
    )
    text.append(f"\nfrom {where}", "dim")
    text.append("\n\ncapabilities", "bold")
    failed = {
        check["name"]: check
        for check in record.validation.get("checks") or []
        if check.get("status") == "failed"
    }
    for cap in record.manifest.capabilities:
        text.append(f"\n  {cap.name} ")
        text.append(cap.side_effects, EFFECT_STYLE.get(cap.side_effects, ""))
        text.append(f" ({cap.entry_point.type})", "dim")
        if cap.description:
            text.append(f"\n    {cap.description}")
        check = failed.get(cap.name)
        if check is not None:
            text.append(f"\n    does not work: {check['reason']}", "red")
            if check.get("next_step"):
                text.append(f"\n    next: {check['next_step']}")
    text.append("\n\npermissions", "bold")
    for line in permission_lines(record, settings):
        text.append(f"\n  {line}")
    return text


def permission_lines(record: PluginRecord, settings: Settings) -> list[str]:
    """What the person granted, how a run is confined, and what the manifest asks for beyond
    the grants (each with the command that grants it: this screen does not change grants)."""
    from assistant.config import workspace
    from assistant.security.policy import grants_of, policy_for, requests

    grants = grants_of(record)
    granted = [
        *(["trusted (no sandbox)"] if grants.trusted else []),
        *(["network"] if grants.network else []),
        *grants.paths,
    ]
    lines = ["granted: " + (", ".join(granted) or "nothing beyond the sandbox")]
    try:
        cap = record.manifest.capabilities[0]
        policy = policy_for(record, cap, settings, workspace(settings), {})
    except Mark1Error as exc:
        lines.append(f"cannot be confined here: {exc.message}")
    else:
        if policy is None:
            why = "trusted" if grants.trusted else "the sandbox is off in the settings"
            lines.append(f"runs WITHOUT a sandbox ({why})")
        else:
            lines += ["sandboxed:", *(f"  {line}" for line in policy.describe())]
    lines += [f"asks for {request}" for request in requests(record)]
    return lines


class InstallApprovalScreen(ModalScreen[None]):
    """The analysis of a fetched repository and the manifest it would be installed with.
    Nothing of the repository has run yet.

    The answer goes to ``answer``, which the install's thread waits on; closing the dialog
    any other way (the app quitting) answers no, so that thread never waits forever.
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Install"),
        Binding("n,escape", "answer(False)", "Do not install"),
    ]

    def __init__(self, analysis: Analysis, answer: Future[bool]) -> None:
        super().__init__()
        self.analysis = analysis
        self.answer = answer
        self.report = analysis_text(analysis)

    def compose(self) -> ComposeResult:
        profile = self.analysis.profile
        high = sum(risk.severity == "high" for risk in profile.risks)
        with Vertical(id="approval-dialog"):
            yield Static(Text(f"Install {profile.name.value} with this manifest?", "bold"))
            if high:
                yield Static(Text(f"{high} high risk(s) found: read them below", "bold red"))
            with VerticalScroll(id="approval-report"):
                yield Static(self.report, markup=False, id="approval-text")
            yield Static("[b]y[/b] install   [b]n[/b] do not install (the fetched files go)")

    def on_mount(self) -> None:
        self.query_one("#approval-report").focus()

    def action_answer(self, yes: bool) -> None:
        if not self.answer.done():  # a second key press while the dialog closes
            self.answer.set_result(yes)
            self.dismiss()

    def on_unmount(self) -> None:
        if not self.answer.done():
            self.answer.set_result(False)


class PluginsScreen(Screen[None]):
    """The installed plugins on the left, the highlighted one's capabilities and permissions on
    the right, the progress of an install, update or removal below."""

    SUB_TITLE = "plugins"
    BINDINGS = [
        Binding("i", "install", "Install"),
        Binding("c", "configure", "Configure"),
        Binding("space,t", "toggle_enabled", "Enable/disable"),
        Binding("u", "update", "Update"),
        Binding("r", "remove", "Remove"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, source: str = "") -> None:
        super().__init__()
        self.records: dict[str, PluginRecord] = {}
        self.details: dict[str, Text] = {}
        self.source = source
        self.setup_next: str | None = None  # the plugin just installed, when it needs setup

    @property
    def assistant(self) -> AssistantApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="plugins-main"):
            yield DataTable(id="plugins-table", cursor_type="row")
            with VerticalScroll(id="plugin-detail"):
                yield Static(EMPTY, id="plugin-detail-text")
        yield Input(
            placeholder="Git URL or folder to install (Enter installs, Escape cancels)",
            id="plugin-source",
            classes="hidden",
        )
        yield Log(id="plugins-log", max_lines=500)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#plugins-table", DataTable)
        table.add_columns("plugin", "version", "status", "enabled")
        table.focus()
        self.reload()
        if self.source:
            self.action_install()
            self.query_one("#plugin-source", Input).value = self.source

    @work(group="plugins-list", exclusive=True)
    async def reload(self, select: str | None = None) -> None:
        """Read the installed plugins again and show them, keeping (or moving to ``select``)
        the selection."""
        try:
            agent = await self.assistant.agent()
            records = await registry.list_plugins(agent.store)
            details = await asyncio.to_thread(
                lambda: {r.name: plugin_detail(r, agent.settings) for r in records}
            )
        except Mark1Error as exc:
            self.app.notify(exc.render(), severity="error")
            return
        keep = select or self.selected()
        self.records = {r.name: r for r in records}
        self.details = details
        table = self.query_one("#plugins-table", DataTable)
        table.clear()
        for r in records:
            status = Text(r.status, STATUS_STYLE.get(r.status, "dim"))
            table.add_row(
                r.name, r.manifest.version, status, "yes" if r.enabled else "no", key=r.name
            )
        if keep in self.records:
            table.move_cursor(row=table.get_row_index(keep))
        self.show_detail(self.selected())

    def selected(self) -> str | None:
        """The highlighted plugin's name."""
        table = self.query_one("#plugins-table", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def show_detail(self, name: str | None) -> None:
        self.query_one("#plugin-detail-text", Static).update(
            self.details.get(name, EMPTY) if name else EMPTY
        )

    def on_data_table_row_highlighted(self, message: DataTable.RowHighlighted) -> None:
        self.show_detail(message.row_key.value)

    def log_line(self, text: str) -> None:
        """Add to the progress log, if the screen is still showing (an install goes on after
        escape; its outcome is then only notified)."""
        if self.is_attached:
            self.query_one("#plugins-log", Log).write_line(text)

    def _chosen(self) -> str | None:
        """The highlighted plugin, or None after saying there is none."""
        name = self.selected()
        if name is None:
            self.app.notify("No plugin selected: i installs one.", severity="warning")
        return name

    def action_install(self) -> None:
        box = self.query_one("#plugin-source", Input)
        box.remove_class("hidden")
        box.focus()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        message.stop()
        source = message.value.strip()
        self._close_source()
        if not source:
            return

        async def install(installer: Installer) -> tuple[str, str | None]:
            from assistant.plugins.plugin_needs import needs_setup

            record = await installer.install(source)
            self.setup_next = record.name if needs_setup(record.manifest) else None
            return (
                f"installed {record.name} {record.manifest.version}: {record.status}",
                record.name,
            )

        self.start(f"installing {source}", install, ask=True)

    def _close_source(self) -> None:
        box = self.query_one("#plugin-source", Input)
        box.value = ""
        box.add_class("hidden")
        self.query_one("#plugins-table", DataTable).focus()

    def action_back(self) -> None:
        if not self.query_one("#plugin-source", Input).has_class("hidden"):
            self._close_source()
        else:
            self.dismiss()

    def action_configure(self) -> None:
        name = self._chosen()
        if name is not None:
            self.configure(name)

    def configure(self, name: str) -> None:
        """Run the setup wizard for ``name`` (in a worker of the app's: its dialogs need one)."""
        self.app.run_worker(self.run_wizard(name), group="plugin-setup", exclusive=True)

    async def run_wizard(self, name: str) -> None:
        from assistant.plugins.setup_wizard import Wizard
        from assistant.tui.screens.setup import ScreenAsker

        try:
            agent = await self.assistant.agent()
            record = await registry.require_plugin(agent.store, name)
            asker = ScreenAsker(self.app, self.log_line)
            report = await Wizard(agent.store, agent.settings, record, asker).run()
        except Mark1Error as exc:
            self.app.notify(exc.render(), severity="error")
            return
        status = report.test.get("status", "set up")
        self.app.notify(f"{name} is configured: {status}", severity="information")
        if self.is_attached:
            self.reload(select=name)

    def action_toggle_enabled(self) -> None:
        name = self._chosen()
        if name is not None:
            self.set_enabled(name, not self.records[name].enabled)

    @work(group="plugins-toggle")
    async def set_enabled(self, name: str, enabled: bool) -> None:
        try:
            agent = await self.assistant.agent()
            await registry.set_enabled(agent.store, name, enabled)
        except Mark1Error as exc:
            self.app.notify(exc.render(), severity="error")
            return
        self.log_line(f"{name} {'enabled' if enabled else 'disabled'}")
        self.reload(select=name)

    def action_update(self) -> None:
        name = self._chosen()
        if name is None:
            return

        async def update(installer: Installer) -> tuple[str, str | None]:
            record, changed = await installer.update(name)
            if changed:
                return f"updated {name} to {record.manifest.version}: {record.status}", name
            return f"{name} is up to date ({(record.commit or '')[:12]})", name

        self.start(f"updating {name}", update)

    def action_remove(self) -> None:
        name = self._chosen()
        if name is None:
            return

        async def remove(installer: Installer) -> tuple[str, str | None]:
            await installer.remove(name)
            return f"removed {name}", None

        def answered(yes: bool | None) -> None:
            if yes:
                self.start(f"removing {name}", remove)

        question = f"Remove plugin '{name}' and its environment? Its run history stays."
        self.app.push_screen(ConfirmScreen(question), answered)

    @property
    def operating(self) -> bool:
        """Whether an install, update or removal is under way (one at a time, as their
        progress shares the log)."""
        return any(w.group == "plugin-op" and not w.is_finished for w in self.workers)

    def start(self, what: str, operation: Operation, *, ask: bool = False) -> None:
        """Run ``operation`` in a worker of the app's (so that it finishes, and says how it
        went, even after escape); ``ask``: show the analysis for approval first."""
        if self.operating:
            self.app.notify(
                "Wait for the plugin operation under way to finish.", severity="warning"
            )
            return
        self.log_line(f"{what}…")
        self.app.run_worker(self.operate(operation, ask), group="plugin-op")

    async def operate(self, operation: Operation, ask: bool) -> None:
        try:
            agent = await self.assistant.agent()
            message, select = await asyncio.to_thread(
                asyncio.run, self.in_own_loop(agent, operation, ask)
            )
        except InstallDeclined as declined:
            self.finished(str(declined), None, "information")
        except Mark1Error as exc:
            self.finished(exc.render(), None, "error")
        else:
            self.finished(message, select, "information")

    async def in_own_loop(
        self, agent: Agent, operation: Operation, ask: bool
    ) -> tuple[str, str | None]:
        """Run ``operation`` on an Installer over this thread's own connection; progress and
        the approval dialog are handed to the app's thread."""
        from assistant.plugins.installer import Installer
        from memory.store import Store

        def progress(text: str) -> None:
            self.app.call_from_thread(self.log_line, text)

        def approve(analysis: Analysis) -> None:
            answer: Future[bool] = Future()
            self.app.call_from_thread(self.ask, analysis, answer)
            if not answer.result():
                raise InstallDeclined(f"did not install {analysis.profile.source}")

        async with Store.open(agent.store.path) as store:
            installer = Installer(store, agent.settings, progress, approve if ask else None)
            return await operation(installer)

    def ask(self, analysis: Analysis, answer: Future[bool]) -> None:
        """Show the analysis for approval; on the app's thread, where the dialog captures
        what the CLI would print."""
        self.app.push_screen(InstallApprovalScreen(analysis, answer))

    def finished(self, message: str, select: str | None, severity: SeverityLevel) -> None:
        self.app.notify(message, severity=severity)
        if self.is_attached:
            self.log_line(message)
            self.reload(select=select)
        if self.setup_next is not None:
            self.log_line(f"{self.setup_next} needs setting up: starting the wizard")
            self.configure(self.setup_next)
            self.setup_next = None
