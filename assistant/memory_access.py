"""The memory subsystem as the application uses it: one vector index per process, memory
stores and capability indexes built from the settings, and what must be redacted.

``memory`` is a library that knows nothing of Mark-1's settings, paths or secrets; this module
is where they meet it. Nothing heavy is imported here: Chroma and the model load when a vector
is first needed.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from assistant import paths
from assistant.config import Settings
from assistant.security import known_secrets as handed_out
from memory.capability_index import CapabilityIndex
from memory.memories import MemoryStore
from memory.redaction import Redactor
from memory.store import Store
from memory.vectors import VectorIndex

# Environment variables whose values are secrets by their names (until the vault exists, the
# environment is where ``${secrets.X}`` comes from). Broader than the redactor's key names on
# purpose: a variable ending in KEY (MARK1_VAULT_KEY, SSH_KEY) holds a secret, while the word
# "key" in prose or a JSON field usually does not.
SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIALS?)$", re.I)


def vector_index() -> VectorIndex:
    """The process's Chroma database under the current data folder."""
    return _vector_index(paths.vectors_dir())


@functools.cache
def _vector_index(folder: Path) -> VectorIndex:
    return VectorIndex(folder)


def known_secrets() -> list[str]:
    """The values that must never be stored: those of secret-named environment variables and
    every secret handed to a plugin so far (from the vault)."""
    named = [value for name, value in os.environ.items() if SECRET_NAME.search(name) and value]
    return [*named, *handed_out.values()]


class CurrentRedactor(Redactor):
    """A redactor that also knows the secrets handed out after it was made: a conversation
    opens its memory before the first plugin runs and gets its secrets."""

    __slots__ = ("_count",)

    def __init__(self) -> None:
        super().__init__(known_secrets())
        self._count = len(handed_out.values())

    def redact(self, text: str) -> str:
        if len(handed_out.values()) != self._count:
            self.__init__()  # type: ignore[misc]
        return super().redact(text)


def redactor() -> Redactor:
    return CurrentRedactor()


async def memory_store(store: Store, settings: Settings) -> MemoryStore:
    """The conversational memory, opened (see ``MemoryStore.open``)."""
    return await MemoryStore(
        store, vector_index(), model_id=settings.memory.model, redactor=redactor()
    ).open()


def capability_index(settings: Settings) -> CapabilityIndex:
    """The process's capability index for the configured model: one per folder and model, so
    what it last synced is remembered and a search with nothing new installed embeds nothing
    and reads no metadata."""
    return _capability_index(vector_index(), settings.memory.model)


@functools.cache
def _capability_index(vectors: VectorIndex, model_id: str) -> CapabilityIndex:
    return CapabilityIndex(vectors, model_id)
