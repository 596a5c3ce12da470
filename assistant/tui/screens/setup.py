"""The setup wizard as screens: the same questions `mark1 plugin configure` asks, one dialog
each, with the wizard's progress in the plugins screen's log.

The wizard runs in a worker on the app's loop and waits for each dialog (``push_screen_wait``);
everything it does between questions (live service checks, starting a local server, the test
run) is asynchronous, so the app stays responsive. Escape stops the wizard; what was
answered before is already stored.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from assistant.errors import UserError
from assistant.plugins.setup_questions import Question


class SetupStopped(UserError):
    """The person pressed escape in the wizard."""


class SetupQuestionScreen(ModalScreen[str | None]):
    """One question: a list for choices, a (hidden, for secrets) input for the rest. Returns
    the answer, or None to stop the wizard."""

    BINDINGS = [Binding("escape", "stop", "Stop setup")]

    def __init__(self, question: Question, problem: str | None) -> None:
        super().__init__()
        self.question, self.problem = question, problem

    def compose(self) -> ComposeResult:
        q = self.question
        with Vertical(id="question-dialog"):
            yield Label(q.title, id="question-text", markup=False)
            if q.help and q.help not in q.title:
                yield Label(q.help, classes="setup-help", markup=False)
            if self.problem:
                yield Label(f"✗ {self.problem}", id="setup-problem", markup=False)
            if q.kind == "choice":
                yield OptionList(*(Option(Text(c), id=c) for c in q.choices), id="question-choices")
            else:
                hint = "Enter keeps the stored value" if not q.required else "type and press Enter"
                default = f" (default {q.default})" if q.default else ""
                yield Input(
                    placeholder=hint + default,
                    password=q.kind == "secret",
                    id="question-answer",
                )

    def on_mount(self) -> None:
        if self.question.kind == "choice":
            choices = self.query_one("#question-choices", OptionList)
            if self.question.default in self.question.choices:
                choices.highlighted = self.question.choices.index(self.question.default)
            choices.focus()
        else:
            self.query_one("#question-answer", Input).focus()

    def on_option_list_option_selected(self, message: OptionList.OptionSelected) -> None:
        self.dismiss(message.option.id or "")

    def on_input_submitted(self, message: Input.Submitted) -> None:
        self.dismiss(message.value)

    def action_stop(self) -> None:
        self.dismiss(None)


class ScreenAsker:
    """The wizard's ``Asker`` in the app: a dialog per question, ``tell`` to ``log``."""

    def __init__(self, app: App[object], log: Callable[[str], None]) -> None:
        self.app, self.log = app, log

    async def ask(self, question: Question, problem: str | None) -> str:
        answer = await self.app.push_screen_wait(SetupQuestionScreen(question, problem))
        if answer is None:
            raise SetupStopped("setup stopped; the answers given so far are kept")
        return answer

    def tell(self, text: str) -> None:
        self.log(text)
