"""When a step's earlier result may be reused instead of running it again.

The key covers everything that decides the result: the plugin's version and commit, the
capability, the inputs after defaults are filled, and the contents of every file the inputs
name (a changed file with the same name is a different input). Files handed over from earlier
steps live in a run's artifact store, at a path that differs from run to run; they are keyed by
content and name only, so the same data reaching the same step in the next run is a hit. Only
steps whose side effects stay in their workspace are cached; a step that reaches the outside
world always runs.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from assistant.workflow.targets import Target
from memory.artifacts import file_sha256
from memory.store import dumps


def cache_key(target: Target, inputs: dict[str, Any], runs_root: Path) -> str:
    """The key of running ``target`` with ``inputs``; ``runs_root`` holds every run's folder."""
    root = str(runs_root) + os.sep
    material = dumps([target.plugin, target.capability, target.version, _keyed(inputs, root)])
    return hashlib.sha256(material.encode()).hexdigest()


def _keyed(value: Any, runs_root: str) -> Any:
    if isinstance(value, str) and os.path.isabs(value) and os.path.isfile(value):
        digest = file_sha256(Path(value))
        if value.startswith(runs_root):
            return {"artifact": digest, "name": os.path.basename(value)}
        return {"file": value, "sha256": digest}
    if isinstance(value, dict):
        return {k: _keyed(v, runs_root) for k, v in value.items()}
    if isinstance(value, list):
        return [_keyed(v, runs_root) for v in value]
    return value
