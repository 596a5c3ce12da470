"""A clarifying question: pick one of its choices or type an answer; it goes back into the
same turn."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList

from assistant.agent.plan import Question


class QuestionScreen(ModalScreen[str | None]):
    """Returns the answer as text, or None when the person would rather stop the request."""

    BINDINGS = [Binding("escape", "skip", "Stop the request")]

    def __init__(self, question: Question) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="question-dialog"):
            yield Label(self.question.text, id="question-text")
            if self.question.choices:
                yield OptionList(*self.question.choices, id="question-choices")
            yield Input(placeholder="type an answer and press Enter", id="question-answer")

    def on_mount(self) -> None:
        target = "#question-choices" if self.question.choices else "#question-answer"
        self.query_one(target).focus()

    def on_option_list_option_selected(self, message: OptionList.OptionSelected) -> None:
        self.dismiss(str(message.option.prompt))

    def on_input_submitted(self, message: Input.Submitted) -> None:
        if message.value.strip():
            self.dismiss(message.value.strip())

    def action_skip(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question (installing a plugin, quitting while a run is going)."""

    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Label(self.text)
            yield Label("[b]y[/b] yes   [b]n[/b] no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
