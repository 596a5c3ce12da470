"""Files a run produced, each with open and copy-path actions, listed under the answer."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label


def produced_files(outputs: dict[str, Any]) -> list[Path]:
    """The outputs of a step that are files on this machine (produced files are absolute)."""
    found = []
    for value in outputs.values():
        if isinstance(value, str) and value.startswith("/") and "\n" not in value:
            path = Path(value)
            if path.is_file():
                found.append(path)
    return found


class ArtifactList(Vertical):
    """The files of one run."""

    DEFAULT_CLASSES = "artifacts"

    def __init__(self, files: list[Path], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.files = files

    def compose(self) -> ComposeResult:
        yield Label(f"Files ({len(self.files)}):")
        for i, path in enumerate(self.files):
            with Horizontal(classes="artifact"):
                yield Button("open", id=f"open-{i}", compact=True)
                yield Button("copy path", id=f"copy-{i}", compact=True)
                yield Label(f" {path.name}  [dim]{path.parent}[/dim]")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        action, _, index = (event.button.id or "").partition("-")
        path = self.files[int(index)]
        if action == "copy":
            self.app.copy_to_clipboard(str(path))
            self.app.notify(f"copied {path}")
            return
        opener = shutil.which("xdg-open") or shutil.which("open")
        if opener is None:
            self.app.notify(f"no program to open files here; the file is {path}", timeout=10)
            return
        subprocess.Popen(  # the viewer outlives nothing of ours: detached, output discarded
            [opener, str(path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
