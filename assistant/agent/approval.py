"""When a plan waits for the person: the ``agent.approval`` policy with its per-plugin and
per-capability overrides, and what each step is shown with (who runs it, with what inputs,
what it may touch, its side-effect class)."""

from __future__ import annotations

from assistant.agent.events import PlannedStep
from assistant.agent.plan import Plan
from assistant.config import AgentSettings
from assistant.plugins.registry import CapabilityRow

TOUCHES = {
    "read-only": "reads files",
    "writes-workspace": "writes in the workspace",
    "external": "acts outside this machine",
    "destructive": "may delete or overwrite data",
}


def step_needs_approval(
    settings: AgentSettings, plugin: str, capability: str, effects: str
) -> bool:
    """The most specific rule wins: plugin.capability, then plugin, then the default."""
    overrides = settings.approval_overrides
    mode = overrides.get(f"{plugin}.{capability}") or overrides.get(plugin) or settings.approval
    if mode == "never":
        return False
    return mode == "always" or effects != "read-only"


def touches(row: CapabilityRow) -> list[str]:
    """What running ``row`` may reach, in words."""
    c = row.capability
    found = [TOUCHES[c.side_effects]]
    if c.permissions.network:
        found.append("network")
    found.extend(f"path {p}" for p in c.permissions.paths)
    found.extend(f"service {s.name}" for s in c.services)
    found.extend(f"env {e.name}" for e in c.env)
    return found


def planned_steps(
    plan: Plan, rows: dict[tuple[str, str], CapabilityRow], settings: AgentSettings
) -> list[PlannedStep]:
    """The plan's steps as shown for approval (steps of unknown capabilities were refused
    before this is called)."""
    shown = []
    for step in plan.steps:
        row = rows[(step.plugin, step.capability)]
        effects = row.capability.side_effects
        shown.append(
            PlannedStep(
                name=step.name,
                plugin=step.plugin,
                capability=step.capability,
                inputs=dict(step.inputs),
                depends_on=list(step.depends_on),
                side_effects=effects,
                touches=touches(row),
                needs_approval=step_needs_approval(settings, step.plugin, step.capability, effects),
                why=step.why,
            )
        )
    return shown


def who_does_what(steps: list[PlannedStep]) -> str:
    """The seed's one-line summary of a plan: "I'll use data-analyzer for ..., and ..."."""
    users = ", ".join(dict.fromkeys(f"{s.plugin} for {s.capability}" for s in steps))
    return f"I'll use {users}."
