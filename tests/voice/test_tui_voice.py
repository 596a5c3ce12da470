"""Push-to-talk in the window, driven with Pilot through the file audio source (real speech
from espeak-ng, the real model, the offline planner, the real image-resizer plugin): a spoken
request, the microphone reopening for the plan, a spoken "yes" running it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assistant.tui.app import AssistantApp
from assistant.tui.widgets.messages import NoteLine, UserMessage
from assistant.tui.widgets.progress import ProgressPanel
from assistant.voice.audio import ArraySource, AudioSource, WavFileSource
from tests.conftest import EXAMPLES, CliResult
from tests.tui.test_chat import until


def notes(app: AssistantApp) -> list[str]:
    return [str(n.render()) for n in app.screen.query(NoteLine)]


def sources(*items: AudioSource) -> Callable[[], AudioSource]:
    """What push-to-talk records each time it opens the microphone, in order."""
    queue: Iterator[AudioSource] = iter(items)
    return lambda: next(queue)


async def test_a_spoken_request_and_a_spoken_yes(
    cli: Callable[..., CliResult],
    speech: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert cli("plugin", "install", str(EXAMPLES / "image-resizer"), "--yes").code == 0
    (tmp_path / "photos").mkdir()
    Image.new("RGB", (40, 30), "teal").save(tmp_path / "photos" / "a.png")
    monkeypatch.chdir(tmp_path)
    app = AssistantApp(
        audio_source=sources(WavFileSource(speech["request"]), WavFileSource(speech["yes"]))
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await app.agent()
        await pilot.press("ctrl+t")
        await until(pilot, lambda: "plan approved: image-resizer.compress" in notes(app), 60)
        await until(pilot, lambda: not app.turn_running)
        panel = app.screen.query_one("#progress", ProgressPanel)
        assert [s.status for s in panel.steps.values()] == ["succeeded"]
        spoken = [str(m.render()) for m in app.screen.query(UserMessage)]
        assert len(spoken) == 1 and "compress" in spoken[0].lower()


async def test_silence_starts_no_turn(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    app = AssistantApp(audio_source=sources(ArraySource(np.zeros(32000, dtype=np.float32))))
    async with app.run_test(size=(100, 30)) as pilot:
        await app.agent()
        await pilot.press("ctrl+t")
        await until(
            pilot, lambda: any("Nothing heard" in n.message for n in app._notifications), 20
        )
        assert not app.screen.query(UserMessage) and not app.turn_running


async def test_no_microphone_gives_the_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This machine has no sound card: the default source, the microphone, cannot open."""
    monkeypatch.chdir(tmp_path)
    app = AssistantApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await app.agent()
        await pilot.press("ctrl+t")
        await until(
            pilot,
            lambda: any(
                "microphone" in n.message.lower() or "portaudio" in n.message.lower()
                for n in app._notifications
            ),
        )
        assert not app.turn_running
