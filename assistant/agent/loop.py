"""The turn loop: one request in, one stream of typed events out.

recall memory -> the model (or the offline planner) -> for work that needs plugins, one plan
for the whole request -> shown -> approved, edited or rejected (a reason makes the model plan
again) -> the workflow engine runs it, progress streams -> the results are summarised -> the
turn is remembered. Clarifying questions are asked and answered inside the same loop.

The loop runs as a task that puts events on a queue; ``Agent.turn`` yields them, so a front
end that is slow to answer a question never blocks the engine's progress events, and leaving
the ``async for`` early (Ctrl-C) cancels whatever is running.
"""

from __future__ import annotations

import asyncio
import functools
import string
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from assistant.agent import builtin_tools as bt
from assistant.agent.events import (
    Answer,
    AnswerText,
    Approve,
    ConfirmAction,
    Notice,
    QuestionAsked,
    TextDelta,
    ToolUsed,
    TurnFinished,
    TurnStarted,
)
from assistant.agent.function_tools import ArgumentsError, arguments_object, dumps_result
from assistant.agent.mentions import pinned_plugins, without_mentions
from assistant.agent.model import ChatModel, Message, ModelReply, ToolCall, Usage
from assistant.agent.plan import Plan, PlanStep, Question
from assistant.agent.plan_edit import Rows, unknown_capabilities
from assistant.agent.plan_runner import Declined, Planned, PlanRunner
from assistant.agent.profiles import OFFLINE_NOTE, ModelConfig, resolve
from assistant.agent.results import fence, for_model, plain_summary, run_report
from assistant.agent.toolset import CapabilityTool, capability_tools
from assistant.config import Settings
from assistant.errors import (
    ModelOutputError,
    ModelRefused,
    ModelUnreachable,
    NotFoundError,
    WorkflowError,
)
from memory.ids import new_id
from memory.store import Store

RECORDED = ("succeeded", "failed", "timed_out", "cancelled")  # a tool call's statuses
MAX_REPAIRS = 2  # malformed or impossible plans sent back to the model before giving up
_END = object()


@dataclass
class Turn:
    """The state of one request while it is served."""

    request: str
    emit: Callable[[Any], None]
    runner: PlanRunner
    offered: Rows  # the capabilities this request may use (all, or the @-pinned plugins')
    usage: Usage = field(default_factory=Usage)
    repairs: int = 0
    executed: bool = False
    answer: str = ""
    status: str = "answered"


class Agent:
    """A conversation with the assistant: its history, its model (or none) and its tools."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        model: ModelConfig | None = None,
        base_dir: Path | None = None,
        session_id: str | None = None,
        plan_only: bool = False,
    ):
        """``model`` None resolves the configured one (or the offline planner); ``plan_only``
        shows plans and runs nothing (`mark1 plan`)."""
        self.store = store
        self.settings = settings
        self.config = model if model is not None else resolve(settings.llm)
        self.model = ChatModel(self.config) if self.config else None
        self.base_dir = base_dir or Path.cwd()
        self.session_id = session_id or new_id()
        self.builtins = bt.Builtins(store, settings, self.session_id)
        self.functions = self.builtins.tools()
        self.history: list[Message] = []
        self._session_started = False
        self._planner: Any = None
        self.plan_only = plan_only

    async def resume(self, session_id: str) -> list[Message]:
        """Continue a past conversation: its last turns become this agent's history (what the
        model sees) and later turns are added to it. Returns its messages, to show them."""
        from memory import history

        session = await history.get_session(self.store, session_id)
        if session is None:
            raise NotFoundError(f"no conversation {session_id}", hint="`mark1 history` lists them")
        said = [
            {"role": m["role"], "content": m["content"]}
            for m in session["messages"]
            if m["role"] in ("user", "assistant")
        ]
        self.session_id = session["id"]
        self.builtins.session_id = self.session_id
        self._session_started = True
        self.history = (
            said[-2 * self.settings.agent.history_turns :]
            if self.settings.agent.history_turns
            else []
        )
        return said

    async def aclose(self) -> None:
        if self.model is not None:
            await self.model.aclose()

    @property
    def planner_name(self) -> str:
        return f"model {self.config.describe()}" if self.config else "offline planner"

    @property
    def planner_label(self) -> str:
        """A short name for a status line: the model and its profile, no address."""
        return f"{self.config.model} ({self.config.profile})" if self.config else "offline planner"

    async def turn(self, request: str) -> AsyncIterator[Any]:
        """Serve ``request``; yields events until ``TurnFinished``."""
        queue: asyncio.Queue[Any] = asyncio.Queue()
        task = asyncio.create_task(self._serve(request, queue.put_nowait))
        task.add_done_callback(lambda _t: queue.put_nowait(_END))
        try:
            while (event := await queue.get()) is not _END:
                yield event
            await task  # raise what the loop raised
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _serve(self, request: str, emit: Callable[[Any], None]) -> None:
        from assistant.plugins import registry

        rows = {
            (r.plugin, r.capability.name): r for r in await registry.list_capabilities(self.store)
        }
        runner = PlanRunner(
            self.store, self.settings, rows, emit, self.base_dir, plan_only=self.plan_only
        )
        turn = Turn(request, emit, runner, offered=rows)
        pinned = pinned_plugins(request, {plugin for plugin, _ in rows})
        if pinned:
            turn.offered = {key: row for key, row in rows.items() if row.plugin in pinned}
            emit(Notice(f"only {', '.join(sorted(pinned))} for this request (@ pins a plugin)"))
        emit(TurnStarted(self.session_id, request, self.planner_name))
        try:
            if self.model is None:
                emit(Notice(OFFLINE_NOTE))
                await self._offline(turn)
            else:
                await self._with_model(turn)
        except asyncio.CancelledError:
            turn.status = "cancelled"
            raise
        finally:
            emit(TurnFinished(turn.status, turn.usage, list(runner.run_ids)))  # type: ignore[arg-type]
        await self._remember(turn)

    # ---- the model path ------------------------------------------------------------------

    async def _with_model(self, turn: Turn) -> None:
        assert self.model is not None
        tools = await self._capability_tools(turn.request, turn.offered)
        specs = [f.spec() for f in self.functions.values()] + [t.spec() for t in tools.values()]
        messages: list[Message] = [
            {"role": "system", "content": await self._system_prompt(turn.request)},
            *self.history,
            {"role": "user", "content": turn.request},
        ]
        for _ in range(self.settings.agent.max_model_calls):
            try:
                reply = await self.model.complete(
                    messages, tools=specs, on_text=lambda t: turn.emit(TextDelta(t))
                )
            except (ModelUnreachable, ModelRefused) as exc:
                if turn.executed:
                    raise
                turn.emit(Notice(f"{exc.message}; {exc.hint}", "warning"))
                await self._offline(turn)
                return
            turn.usage.add(reply.usage)
            if not reply.tool_calls:
                turn.answer = reply.content.strip() or self._fallback_summary(turn)
                turn.emit(Answer(turn.answer))
                return
            messages.append(reply.as_message())
            if await self._tool_calls(turn, reply, tools, messages):
                return
        turn.status = "failed"
        turn.answer = "I stopped: this request took more model calls than agent.max_model_calls."
        turn.emit(Answer(turn.answer))

    async def _tool_calls(
        self,
        turn: Turn,
        reply: ModelReply,
        tools: dict[str, CapabilityTool],
        messages: list[Message],
    ) -> bool:
        """Answer every tool call of ``reply`` (each needs a tool message); True ends the turn."""
        planning = [c for c in reply.tool_calls if c.name == bt.PROPOSE_PLAN or c.name in tools]
        for call in reply.tool_calls:
            if call in planning:
                continue
            result = await self._other_tool(turn, call)
            messages.append(_tool_message(call, result))
        if not planning:
            return False
        try:
            plan = self._plan_from(planning, tools)
        except ArgumentsError as exc:
            if all(c.name != bt.PROPOSE_PLAN for c in planning):
                return await self._send_back(turn, planning, messages, str(exc))
            plan, planning = await self._reask_plan(turn, planning, messages, str(exc))
        problems = unknown_capabilities(plan, turn.runner.rows)
        if problems:
            return await self._send_back(turn, planning, messages, "; ".join(problems))
        outcome = await turn.runner.propose(plan, force=turn.executed)
        if isinstance(outcome, Planned):
            turn.status = "planned"
            return True
        if isinstance(outcome, Declined):
            text = f"The person rejected this plan: {outcome.reason or 'no reason given'}."
            if not outcome.reason:
                turn.status = "rejected"
                turn.answer = "Plan rejected; nothing ran."
                turn.emit(Answer(turn.answer))
                return True
            _answer_all(messages, planning, text + " Propose a different plan, or ask.")
            return False
        turn.executed = True
        result = for_model(outcome.run_id, outcome.outcome)
        _answer_all(messages, planning, result)
        if outcome.outcome.status != "succeeded":
            turn.status = "failed"
        return False

    @staticmethod
    def _fallback_summary(turn: Turn) -> str:
        """What ran, when the model's summary came back empty (small models do that)."""
        last = turn.runner.last
        return plain_summary(last.run_id, last.outcome) if last else ""

    def _plan_from(self, calls: list[ToolCall], tools: dict[str, CapabilityTool]) -> Plan:
        """One plan from a ``propose_plan`` call, or from direct capability calls (each a
        step; several in one reply run in parallel)."""
        proposed = [c for c in calls if c.name == bt.PROPOSE_PLAN]
        if proposed:
            parsed = self.functions[bt.PROPOSE_PLAN].parse(proposed[0].arguments)
            return Plan(goal=parsed["goal"], steps=parsed["steps"])
        steps = []
        for i, call in enumerate(calls, 1):
            tool = tools[call.name]
            inputs = arguments_object(call.arguments, call.name)
            name = tool.capability if len(calls) == 1 else f"{tool.capability}-{i}"
            steps.append(
                PlanStep(
                    name=name[:64], plugin=tool.plugin, capability=tool.capability, inputs=inputs
                )
            )
        return Plan(goal=steps[0].name, steps=steps)

    async def _send_back(
        self, turn: Turn, calls: list[ToolCall], messages: list[Message], problem: str
    ) -> bool:
        """A plan that does not parse or fit goes back to the model, a bounded number of times."""
        turn.repairs += 1
        if turn.repairs > MAX_REPAIRS:
            raise ModelOutputError(
                f"the model's plan was still unusable after {MAX_REPAIRS} corrections: {problem}",
                hint="try again, rephrase the request, or use a stronger model "
                "(`mark1 config set llm.model NAME`)",
            )
        turn.emit(Notice(f"the model's plan was unusable ({problem}); asking it again", "warning"))
        _answer_all(messages, calls, f"Error: {problem}. Call the tool again, corrected.")
        return False

    async def _reask_plan(
        self, turn: Turn, calls: list[ToolCall], messages: list[Message], problem: str
    ) -> tuple[Plan, list[ToolCall]]:
        """Ask again, through instructor, for a plan that did not parse; the conversation then
        reads as if the model had proposed the corrected plan."""
        from assistant.agent.structured import reask

        assert self.model is not None
        turn.emit(Notice(f"the model's plan did not parse ({problem}); asking again", "warning"))
        _answer_all(messages, calls, f"Error: {problem}. Give the whole plan again as valid JSON.")
        plan, usage = await reask(self.model, messages, Plan, MAX_REPAIRS)
        turn.usage.add(usage)
        repaired = ToolCall(
            f"call_repaired_{turn.usage.calls}", bt.PROPOSE_PLAN, plan.model_dump_json()
        )
        messages.append(ModelReply(tool_calls=[repaired]).as_message())
        return plan, [repaired]

    async def _other_tool(self, turn: Turn, call: ToolCall) -> str:
        """A built-in tool call that is not a plan; errors become results the model reads."""
        function = self.functions.get(call.name)
        if function is None:
            return f"Error: there is no tool named {call.name}; use only the tools given."
        try:
            arguments = function.parse(call.arguments)
            if call.name == bt.ASK_USER:
                question: Question = function.function(**arguments)
                event = QuestionAsked(question)
                turn.emit(event)
                reply = await event.answer()
                return reply.text if isinstance(reply, AnswerText) else str(reply)
            if call.name == bt.INSTALL_PLUGIN:
                consent = ConfirmAction("install a plugin", arguments["source"])
                turn.emit(consent)
                if not isinstance(await consent.answer(), Approve):
                    return "The person declined the installation."
            result = dumps_result(await function.function(**arguments))
        except ArgumentsError as exc:
            return f"Error: {exc}"
        except WorkflowError as exc:  # an install refused for a reason the person can fix
            return f"Error: {exc.message}"
        turn.emit(ToolUsed(call.name, result.splitlines()[0] if result else "", result))
        return fence(call.name, result)

    async def _capability_tools(self, request: str, rows: Rows) -> dict[str, CapabilityTool]:
        """All enabled capabilities, or the most relevant ``llm.max_tools`` of many."""
        from assistant.plugins.capability_search import search

        enabled = [r for r in rows.values() if r.enabled]
        limit = self.settings.llm.max_tools
        if len(enabled) > limit:
            found = await search(self.store, self.settings, request, k=limit, enabled_only=True)
            enabled = [f.row for f in found if (f.row.plugin, f.row.capability.name) in rows]
        return capability_tools(enabled)

    async def _system_prompt(self, request: str) -> str:
        template = system_template()
        memories = await self._recalled(request)
        block = (
            f"\nWhat you remember that may matter:\n{fence('memory', memories)}" if memories else ""
        )
        return template.safe_substitute(memories=block)

    async def _recalled(self, request: str) -> str:
        memory = await self.builtins.memory()
        found = await memory.recall(
            request,
            namespace=self.settings.memory.namespace,
            k=self.settings.memory.recall,
            budget_tokens=self.settings.memory.budget_tokens,
        )
        return "\n".join(f"- {r.memory.text}" for r in found.items)

    # ---- the offline path ----------------------------------------------------------------

    async def _offline(self, turn: Turn) -> None:
        planner = await self._offline_planner(turn.offered)
        pinned = {row.plugin for row in turn.offered.values()} if turn.offered else set()
        request = without_mentions(turn.request, pinned)
        draft = await asyncio.to_thread(planner.plan, request)
        if draft.plan is None:  # the notes say why: they are the answer
            turn.answer = "\n".join(draft.notes) or "Nothing installed can do that."
            turn.emit(Answer(turn.answer))
            return
        for note in draft.notes:
            turn.emit(Notice(note))
        plan = await turn.runner.ask(draft.plan, draft.questions)
        outcome = await turn.runner.propose(plan, unmatched=draft.unmatched)
        if isinstance(outcome, Planned):
            turn.status = "planned"
            return
        if isinstance(outcome, Declined):
            turn.status = "rejected"
            turn.answer = "Plan rejected; nothing ran."
        else:
            turn.executed = True
            turn.answer = plain_summary(outcome.run_id, outcome.outcome)
            if outcome.outcome.status != "succeeded":
                turn.status = "failed"
        turn.emit(Answer(turn.answer))

    async def _offline_planner(self, rows: Rows) -> Any:
        from assistant.agent.offline_planner import OfflinePlanner

        enabled = tuple(r for r in rows.values() if r.enabled)
        key = tuple((r.plugin, r.capability.name, r.capability.description) for r in enabled)
        if self._planner is None or self._planner[0] != key:
            planner = OfflinePlanner(list(enabled), model_id=self.settings.memory.model)
            self._planner = (key, planner)
        return self._planner[1]

    # ---- memory --------------------------------------------------------------------------

    async def _remember(self, turn: Turn) -> None:
        """The turn goes into the history (SQLite) and conversational memory."""
        from memory import history

        if not turn.answer or self.plan_only:
            return
        self.history += [
            {"role": "user", "content": turn.request},
            {"role": "assistant", "content": turn.answer},
        ]
        del self.history[: -2 * self.settings.agent.history_turns or None]
        if not self._session_started:
            await history.start_session(
                self.store,
                self.session_id,
                title=turn.request[:80],
                namespace=self.settings.memory.namespace,
            )
            self._session_started = True
        await history.add_message(self.store, self.session_id, "user", turn.request)
        runs = turn.runner.run_ids
        message_id = await history.add_message(
            self.store,
            self.session_id,
            "assistant",
            turn.answer,
            run_id=runs[-1] if runs else None,
            tokens_in=turn.usage.prompt_tokens,
            tokens_out=turn.usage.completion_tokens,
            meta={"model_calls": turn.usage.calls, "status": turn.status, "runs": runs},
        )
        for ran in turn.runner.runs:  # each approved plan, as the tool call that ran it
            call = await history.add_tool_call(
                self.store,
                message_id,
                call_id=ran.run_id,
                name="workflow",
                arguments=ran.plan.to_workflow(),
                run_id=ran.run_id,
            )
            status = ran.outcome.status if ran.outcome.status in RECORDED else "failed"
            await history.finish_tool_call(
                self.store,
                call,
                status=status,  # type: ignore[arg-type]
                result=run_report(ran.run_id, ran.outcome),
            )
        memory = await self.builtins.memory()
        await memory.remember(
            f"User asked: {turn.request}\nMark-1 answered: {turn.answer}",
            kind="turn",
            namespace=self.settings.memory.namespace,
            session_id=self.session_id,
            run_id=runs[-1] if runs else None,
            embed=False,
        )


@functools.cache
def system_template() -> string.Template:
    """The system prompt (prompts/agent_system.md), read once per process."""
    text = (resources.files("prompts") / "agent_system.md").read_text(encoding="utf-8")
    return string.Template(text)


def _tool_message(call: ToolCall, content: str) -> Message:
    return {"role": "tool", "tool_call_id": call.id, "content": content}


def _answer_all(messages: list[Message], calls: list[ToolCall], content: str) -> None:
    """Every call of a plan gets the same result (the plan ran, or was refused, as a whole)."""
    for call in calls:
        messages.append(_tool_message(call, content))
