"""The setup wizard's questions at a terminal, with prompt-toolkit: hidden input for
secrets, completion for choices (a number picks one too), the default in brackets, and the
problem with the last answer shown before asking again."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from assistant.plugins.setup_questions import Question

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession


class PromptAsker:
    """An ``Asker`` on prompt-toolkit (whatever input and output its app session has, so
    tests drive it through a pipe)."""

    def __init__(self) -> None:
        self._session: PromptSession[str] | None = None

    @property
    def session(self) -> PromptSession[str]:
        if self._session is None:
            from prompt_toolkit import PromptSession

            self._session = PromptSession()
        return self._session

    async def ask(self, question: Question, problem: str | None) -> str:
        if problem:
            self.tell(f"  ✗ {problem}")
        if question.help and question.help not in question.title:
            self.tell(f"  {question.help}")
        if question.kind == "choice":
            return await self._choose(question)
        shown = f" [{question.default}]" if question.default and question.kind != "secret" else ""
        return await self.session.prompt_async(
            f"{question.title}{shown}: ", is_password=question.kind == "secret"
        )

    async def _choose(self, question: Question) -> str:
        from prompt_toolkit.completion import WordCompleter

        for number, choice in enumerate(question.choices, 1):
            mark = " (default)" if choice == question.default else ""
            self.tell(f"  {number}. {choice}{mark}")
        answer = await self.session.prompt_async(
            f"{question.title} [{question.default}]: ",
            completer=WordCompleter(list(question.choices), sentence=True),
        )
        answer = answer.strip()
        if answer.isdigit() and 1 <= int(answer) <= len(question.choices):
            return question.choices[int(answer) - 1]
        return answer

    def tell(self, text: str) -> None:
        """On stderr, so ``--json`` keeps stdout for the report."""
        click.echo(text, err=True)
