"""Where the model lives: named profiles for the usual OpenAI-compatible servers, and the one
function that decides, from settings and environment, which model the agent talks to (or that
it plans offline).

Precedence: MARK1_MODEL / OPENAI_BASE_URL / OPENAI_API_KEY in the environment, then
``llm.*`` settings, then the profile's defaults. With nothing configured the offline planner
is the default, so a fresh install works with no key and no server.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from assistant.config import LlmSettings


@dataclass(frozen=True)
class Profile:
    """Defaults of one kind of server."""

    base_url: str
    model: str
    key_env: str | None  # the variable holding its key; None: the server needs none
    note: str  # what the server is, for "is ... running?"


PROFILES: dict[str, Profile] = {
    "openai": Profile("https://api.openai.com/v1", "gpt-4o-mini", "OPENAI_API_KEY", "OpenAI"),
    "ollama": Profile(
        "http://localhost:11434/v1", "llama3.1", None, "Ollama (`ollama serve`, `ollama pull`)"
    ),
    "vllm": Profile("http://localhost:8000/v1", "default", None, "vLLM (`vllm serve MODEL`)"),
    "llamacpp": Profile(
        "http://localhost:8080/v1",
        "local",
        None,
        "llama.cpp server (`python -m llama_cpp.server --chat_format chatml-function-calling`)",
    ),
    "lmstudio": Profile("http://localhost:1234/v1", "local-model", None, "LM Studio's server"),
    "openrouter": Profile(
        "https://openrouter.ai/api/v1", "openai/gpt-4o-mini", "OPENROUTER_API_KEY", "OpenRouter"
    ),
}

CONFIGURE_HINT = (
    "set a model with `mark1 config set llm.profile ollama` (or openai, vllm, llamacpp, "
    "lmstudio, openrouter), `mark1 config set llm.base_url URL` and `llm.model NAME`, or export "
    "OPENAI_API_KEY / OPENAI_BASE_URL / MARK1_MODEL"
)
OFFLINE_NOTE = "no language model is configured: the built-in offline planner is in use"


@dataclass(frozen=True)
class ModelConfig:
    """A resolved model: everything the client needs. ``api_key`` is never printed."""

    profile: str
    base_url: str
    model: str
    api_key: str
    missing_key: str | None  # the variable that must hold a key but is empty
    timeout: float
    max_retries: int
    stream: bool
    temperature: float | None = None

    def describe(self) -> str:
        return f"{self.model} at {self.base_url} ({self.profile} profile)"


def resolve(settings: LlmSettings, env: Mapping[str, str] | None = None) -> ModelConfig | None:
    """The model to use, or None for the offline planner."""
    env = os.environ if env is None else env
    name = settings.profile
    base_url = env.get("OPENAI_BASE_URL") or settings.base_url
    model = env.get("MARK1_MODEL") or settings.model
    if name is None:
        if not (base_url or env.get("OPENAI_API_KEY")):
            return None
        name = "openai"
    if name == "offline":
        return None
    profile = PROFILES[name]
    needs_key = profile.key_env
    if name == "openai" and base_url and base_url.rstrip("/") != profile.base_url:
        needs_key = None  # a custom OpenAI-compatible server: a key is optional
    api_key = env.get(profile.key_env or "OPENAI_API_KEY") or env.get("OPENAI_API_KEY") or ""
    return ModelConfig(
        profile=name,
        base_url=(base_url or profile.base_url).rstrip("/"),
        model=model or profile.model,
        api_key=api_key or "not-needed",
        missing_key=needs_key if not api_key else None,
        timeout=settings.timeout,
        max_retries=settings.max_retries,
        stream=settings.stream,
        temperature=settings.temperature,
    )
