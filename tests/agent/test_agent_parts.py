"""The agent's small parts on their own: model profiles, tool names, JSON repair, typed
function tools, the approval policy and plan edits."""

from __future__ import annotations

import pytest

from assistant.agent.approval import step_needs_approval
from assistant.agent.events import Edit, StepEdit
from assistant.agent.function_tools import ArgumentsError, function_tool
from assistant.agent.plan import Plan, PlanStep
from assistant.agent.plan_edit import apply_edit
from assistant.agent.profiles import resolve
from assistant.agent.repair import loads_repaired
from assistant.agent.toolset import TOOL_NAME_LIMIT, tool_name
from assistant.config import AgentSettings, LlmSettings
from assistant.errors import UserError


def test_nothing_configured_means_the_offline_planner() -> None:
    assert resolve(LlmSettings(), env={}) is None
    assert resolve(LlmSettings(profile="offline"), env={"OPENAI_API_KEY": "k"}) is None


def test_an_api_key_alone_selects_openai_and_the_environment_wins_over_settings() -> None:
    config = resolve(LlmSettings(model="from-settings"), env={"OPENAI_API_KEY": "sk-1"})
    assert config is not None
    assert (config.profile, config.base_url, config.model) == (
        "openai",
        "https://api.openai.com/v1",
        "from-settings",
    )
    env = {"OPENAI_API_KEY": "sk-1", "MARK1_MODEL": "from-env"}
    assert resolve(LlmSettings(model="from-settings"), env=env).model == "from-env"  # type: ignore[union-attr]


def test_local_profiles_need_no_key_and_a_missing_key_is_named() -> None:
    ollama = resolve(LlmSettings(profile="ollama"), env={})
    assert ollama is not None and ollama.missing_key is None
    assert ollama.base_url == "http://localhost:11434/v1"
    openrouter = resolve(LlmSettings(profile="openrouter"), env={})
    assert openrouter is not None and openrouter.missing_key == "OPENROUTER_API_KEY"
    custom = resolve(LlmSettings(), env={"OPENAI_BASE_URL": "http://box:8000/v1/"})
    assert custom is not None and custom.missing_key is None
    assert custom.base_url == "http://box:8000/v1"


def test_tool_names_are_valid_everywhere_and_never_collide() -> None:
    assert tool_name("csv-summary", "summarize") == "csv-summary__summarize"
    dotted, underscored = tool_name("a.b", "c"), tool_name("a_b", "c")
    assert dotted != underscored
    long = tool_name("p" * 60, "c" * 60)
    assert len(long) <= TOOL_NAME_LIMIT and long != tool_name("p" * 60, "c" * 61)
    for name in (dotted, underscored, long):
        assert all(ch.isalnum() or ch in "_-" for ch in name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('```json\n{"a": [1, 2,],}\n```', {"a": [1, 2]}),
        ('Here is the plan: {"x": True, "y": None} - done', {"x": True, "y": None}),
        ("{'a': 'b'}", {"a": "b"}),
        ('{"q": "a \\"}\\" b"}', {"q": 'a "}" b'}),
    ],
)
def test_json_repairs(text: str, expected: object) -> None:
    assert loads_repaired(text) == expected


def test_unrepairable_json_says_where() -> None:
    with pytest.raises(ValueError, match="line 1 column"):
        loads_repaired('{"steps": [ broken')


def test_a_function_tool_takes_its_schema_from_the_signature() -> None:
    def resize(path: str, width: int = 100) -> str:
        """Resize an image.

        More words the model does not need."""
        return f"{path}:{width}"

    tool = function_tool(resize)
    spec = tool.spec()["function"]
    assert spec["name"] == "resize" and spec["description"] == "Resize an image."
    assert spec["parameters"]["required"] == ["path"]
    assert spec["parameters"]["properties"]["width"]["type"] == "integer"
    assert tool.call('{"path": "a.png", "width": "300"}') == "a.png:300"
    with pytest.raises(ArgumentsError, match="width"):
        tool.parse('{"path": "a.png", "width": "wide"}')
    with pytest.raises(ArgumentsError, match="Extra inputs"):
        tool.parse('{"path": "a.png", "colour": 1}')


@pytest.mark.parametrize(
    ("mode", "overrides", "effects", "asks"),
    [
        ("always", {}, "read-only", True),
        ("side-effects", {}, "read-only", False),
        ("side-effects", {}, "writes-workspace", True),
        ("never", {}, "destructive", False),
        ("never", {"mail": "always"}, "external", True),
        ("always", {"mail": "never", "mail.send": "always"}, "external", True),
        ("always", {"mail": "never"}, "external", False),
    ],
)
def test_the_most_specific_approval_rule_wins(
    mode: str, overrides: dict[str, str], effects: str, asks: bool
) -> None:
    settings = AgentSettings(approval=mode, approval_overrides=overrides)  # type: ignore[arg-type]
    assert step_needs_approval(settings, "mail", "send", effects) is asks


def chain() -> Plan:
    def step(name: str, after: list[str], **inputs: object) -> PlanStep:
        return PlanStep(name=name, plugin="p", capability="c", inputs=inputs, depends_on=after)

    return Plan(
        goal="g",
        steps=[
            step("a", [], v=1),
            step("b", ["a"], v="${steps.a.outputs.x}"),
            step("c", [], v=3),
        ],
    )


def test_edits_change_inputs_drop_steps_and_reorder() -> None:
    edited = apply_edit(chain(), Edit([StepEdit("a", {"v": 9, "w": 2})], drop=["c"]))
    assert [s.name for s in edited.steps] == ["a", "b"]
    assert edited.steps[0].inputs == {"v": 9, "w": 2}
    reordered = apply_edit(chain(), Edit(order=["c", "a", "b"]))
    assert [(s.name, s.depends_on) for s in reordered.steps] == [
        ("c", []),
        ("a", ["c"]),
        ("b", ["a"]),
    ]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (Edit(drop=["a"]), "uses the outputs of a"),
        (Edit(order=["b", "a", "c"]), "would run after it"),
        (Edit(order=["a", "b"]), "every remaining step"),
        (Edit([StepEdit("zz", {})]), "no step named zz"),
        (Edit(drop=["a", "b", "c"]), "reject the plan instead"),
    ],
)
def test_edits_that_cannot_stand_are_refused(edit: Edit, message: str) -> None:
    with pytest.raises(UserError, match=message):
        apply_edit(chain(), edit)


def test_mentions_pin_installed_plugins_only() -> None:
    from assistant.agent.mentions import pinned_plugins, without_mentions

    request = "@image-resizer shrink cat.png, mail me@example.com and ask @nobody"
    pinned = pinned_plugins(request, ["image-resizer", "example.com", "mailer"])
    assert pinned == {"image-resizer"}  # an e-mail address is not a mention
    assert without_mentions(request, pinned).startswith("image-resizer shrink cat.png")
