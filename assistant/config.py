"""Layered settings: defaults < user ``config.toml`` < project ``.mark1/config.toml``
< ``MARK1_*`` environment variables < command-line flags.

Each TOML file is checked on its own first so that a bad value is reported against the file
that holds it, with the key and the fix, instead of as an anonymous merged error.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from adapters.process import OUTPUT_LIMIT
from assistant import paths
from assistant.errors import ConfigError, Location
from assistant.plugins.manifest import Size
from memory.embedder import MODEL_ID, MODELS


class InstallSettings(BaseModel):
    """How plugins are fetched and provisioned."""

    model_config = ConfigDict(extra="forbid")

    clone_timeout: float = Field(300.0, gt=0, description="Seconds a git clone/fetch may take.")
    depth: int = Field(1, ge=0, description="Clone depth; 0 clones the full history.")
    python: str | None = Field(
        None, description="Interpreter for plugin environments (default: the one running mark1)."
    )
    build_timeout: float = Field(
        900.0, gt=0, description="Seconds dependency installation may take."
    )
    offline_first: bool = Field(
        True, description="Install from the package cache first; ask the index only if needed."
    )


class RunSettings(BaseModel):
    """How capabilities are executed."""

    model_config = ConfigDict(extra="forbid")

    timeout: float = Field(300.0, gt=0, description="Default wall-clock limit of one run, seconds.")
    kill_grace: float = Field(
        3.0, ge=0, description="Seconds between SIGTERM and SIGKILL when a run is stopped."
    )
    output_limit: Size = Field(
        OUTPUT_LIMIT, description="Output (stdout + stderr) after which a run is stopped."
    )


class SandboxSettings(BaseModel):
    """Default confinement of every plugin (a manifest may ask for more memory or CPU)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        True, description="Confine plugins (turn off only to debug; trust single plugins instead)."
    )
    max_memory: Size = Field(2 * 1024**3, description="Address-space limit per run, e.g. 2GiB.")
    cpu_seconds: int = Field(600, gt=0, description="CPU seconds a run may use.")
    max_processes: int = Field(256, gt=0, description="Processes a run may have at once.")
    max_open_files: int = Field(1024, gt=0, description="Files a process may keep open.")
    cpus: float | None = Field(
        2.0, gt=0, description="CPU cores a container run may use at once (None: no cap)."
    )


class WorkflowSettings(BaseModel):
    """How workflows run unless a command says otherwise."""

    model_config = ConfigDict(extra="forbid")

    parallelism: int = Field(4, ge=1, le=256, description="Step instances running at once.")
    plugin_limits: dict[str, int] = Field(
        default_factory=dict, description="Most instances of one plugin at once, e.g. {ocr = 1}."
    )
    executor: str = Field(
        "local", description="local, dask (a LocalCluster) or tcp://HOST:PORT (a Dask scheduler)."
    )
    dask_workers: int = Field(2, ge=1, le=256, description="Workers of the LocalCluster.")


class MemorySettings(BaseModel):
    """What the assistant remembers and how it recalls it."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        MODEL_ID,
        description="Embedding model; changing it re-embeds stored memories "
        f"(`mark1 memory reindex`). One of: {', '.join(MODELS)} (smaller, for huge memories).",
    )
    recall: int = Field(5, ge=1, le=100, description="Memories recalled per request, at most.")
    budget_tokens: int = Field(
        1000, ge=50, description="Prompt tokens recalled memories may take, at most."
    )
    namespace: str = Field(
        "default", min_length=1, description="Whose memories: one namespace per user or agent."
    )

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        if value not in MODELS:
            raise ValueError(f"unknown embedding model; choose one of: {', '.join(MODELS)}")
        return value


class VoiceSettings(BaseModel):
    """How Mark-1 listens and speaks (the `voice` extra: faster-whisper and espeak-ng)."""

    model_config = ConfigDict(extra="forbid")

    stt_model: str = Field(
        "tiny.en",
        min_length=1,
        description="Speech-to-text model: tiny.en (bundled, English) or the folder of a "
        "CTranslate2 Whisper model (model.bin, config.json, tokenizer.json).",
    )
    voice: str = Field(
        "en-us", min_length=1, description="espeak-ng voice (`espeak-ng --voices` lists them)."
    )
    rate: int = Field(175, ge=80, le=450, description="Speaking rate, words per minute.")
    send_at_once: bool = Field(
        True, description="Send a spoken request at once (off: put it in the box to correct)."
    )
    speak_replies: bool = Field(
        True, description="Speak the answers to spoken requests (when a speaker exists)."
    )


LlmProfileName = Literal[
    "offline", "openai", "ollama", "vllm", "llamacpp", "lmstudio", "openrouter"
]
ApprovalMode = Literal["always", "side-effects", "never"]


class LlmSettings(BaseModel):
    """Which language model the agent talks to. Keys never live here: they come from the
    environment (OPENAI_API_KEY, or the profile's own variable such as OPENROUTER_API_KEY)."""

    model_config = ConfigDict(extra="forbid")

    profile: LlmProfileName | None = Field(
        None,
        description="offline, openai, ollama, vllm, llamacpp, lmstudio or openrouter; unset: "
        "openai when OPENAI_API_KEY or OPENAI_BASE_URL is set, else the offline planner.",
    )
    base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1."
    )
    model: str | None = Field(None, description="Model name (MARK1_MODEL overrides it).")
    timeout: float = Field(60.0, gt=0, description="Seconds one model call may take.")
    max_retries: int = Field(
        3, ge=0, le=10, description="Retries (with backoff) on 429, 5xx and timeouts."
    )
    stream: bool = Field(True, description="Stream replies as they are written.")
    temperature: float | None = Field(
        None, ge=0, le=2, description="Sampling temperature (unset: the server's default)."
    )
    max_tools: int = Field(
        16, ge=1, le=128, description="Plugin tools offered per request, most relevant first."
    )


class AgentSettings(BaseModel):
    """How the agent plans and when it asks before acting."""

    model_config = ConfigDict(extra="forbid")

    approval: ApprovalMode = Field(
        "always",
        description="always: every plan waits for you; side-effects: read-only plans run "
        "at once; never: plans run without asking.",
    )
    approval_overrides: dict[str, ApprovalMode] = Field(
        default_factory=dict,
        description="Per plugin or plugin.capability; in config.toml under [agent]: "
        'approval_overrides = {"csv-summary" = "never"}.',
    )
    step_attempts: int = Field(
        2, ge=1, le=10, description="Runs of a read-only or workspace step before it fails."
    )
    max_model_calls: int = Field(
        8, ge=2, le=50, description="Model calls one request may take before the agent stops."
    )
    history_turns: int = Field(
        6, ge=0, le=100, description="Earlier turns of the conversation sent with a request."
    )


class Settings(BaseSettings):
    """Everything a user can configure; see ``mark1 config list``."""

    model_config = SettingsConfigDict(
        env_prefix="MARK1_", env_nested_delimiter="__", extra="ignore", validate_default=True
    )

    workspace: Path | None = Field(None, description="Folder where runs work and write files.")
    install: InstallSettings = InstallSettings()
    run: RunSettings = RunSettings()
    sandbox: SandboxSettings = SandboxSettings()
    workflow: WorkflowSettings = WorkflowSettings()
    memory: MemorySettings = MemorySettings()
    llm: LlmSettings = LlmSettings()
    agent: AgentSettings = AgentSettings()
    voice: VoiceSettings = VoiceSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        files = [f for f in (paths.project_config_file(), paths.config_file()) if f and f.is_file()]
        tomls = tuple(TomlConfigSettingsSource(settings_cls, toml_file=f) for f in files)
        return (init_settings, env_settings, *tomls)


def read_toml(path: Path) -> dict[str, Any]:
    """Parse one TOML file, turning syntax errors into a located ConfigError."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"invalid TOML: {exc}", where=Location(path), hint="fix the syntax or delete the file"
        ) from exc


def _check_file(path: Path) -> None:
    data = read_toml(path)
    try:
        _reject_unknown(path, data, Settings)
        Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"setting '{key}': {first['msg']}",
            where=Location(path),
            hint=f"run `mark1 config set {key} VALUE` or edit the file; `mark1 config list` "
            "shows every setting",
        ) from exc


def _reject_unknown(
    path: Path, data: dict[str, Any], model: type[BaseModel], prefix: str = ""
) -> None:
    """Typos in a config file must not pass silently (the settings model ignores extras)."""
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            known = ", ".join(prefix + k for k in model.model_fields)
            raise ConfigError(
                f"unknown setting '{prefix}{key}'", where=Location(path), hint=f"known: {known}"
            )
        sub = field.annotation
        if isinstance(value, dict) and isinstance(sub, type) and issubclass(sub, BaseModel):
            _reject_unknown(path, value, sub, f"{prefix}{key}.")


PATH_KEYS = ("workspace",)


def load_settings(**overrides: Any) -> Settings:
    """The effective settings, every layer applied; flags arrive as ``overrides``."""
    for f in (paths.config_file(), paths.project_config_file()):
        if f is not None and f.is_file():
            _check_file(f)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"setting '{key}': {first['msg']}",
            hint="check the MARK1_* environment variables and the flags you passed",
        ) from exc


def workspace(settings: Settings) -> Path:
    """The workspace folder in force, created on first use."""
    folder = (settings.workspace or paths.default_workspace()).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"run": {"timeout": 5}}`` -> ``{"run.timeout": 5}``: the keys `mark1 config` uses."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def known_keys() -> dict[str, str]:
    """Every settable key with its description."""
    out: dict[str, str] = {}

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            sub = field.annotation
            if isinstance(sub, type) and issubclass(sub, BaseModel):
                walk(sub, f"{prefix}{name}.")
            else:
                out[f"{prefix}{name}"] = field.description or ""

    walk(Settings, "")
    return out


def set_value(path: Path, key: str, raw: str) -> Any:
    """Validate ``raw`` for ``key`` and write it into the TOML file at ``path``; returns the value."""
    import tomli_w

    keys = known_keys()
    if key not in keys:
        raise ConfigError(f"unknown setting '{key}'", hint="known settings: " + ", ".join(keys))
    data = read_toml(path)
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = raw
    try:
        checked = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            f"'{raw}' is not a valid value for {key}: {exc.errors()[0]['msg']}",
            hint=keys[key] or None,
        ) from exc
    value = flatten(checked.model_dump(mode="json"))[key]
    if key in PATH_KEYS and value is not None:
        value = str(Path(value).expanduser().resolve())  # relative to where it was typed
    node[parts[-1]] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(tomli_w.dumps(_drop_none(data)), encoding="utf-8")
    tmp.replace(path)
    return value


def unset_value(path: Path, key: str) -> bool:
    """Remove ``key`` from the TOML file; returns whether it was there."""
    import tomli_w

    data = read_toml(path)
    node: Any = data
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.get(part)
        if not isinstance(node, dict):
            return False
    if parts[-1] not in node:
        return False
    del node[parts[-1]]
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return True


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {
        k: _drop_none(v) if isinstance(v, dict) else v for k, v in data.items() if v is not None
    }
