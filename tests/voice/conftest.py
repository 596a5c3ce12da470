"""Real speech for the voice tests: espeak-ng sentences synthesised once per session, and the
one Whisper model every test shares (loading it takes about half a second)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.voice.stt import Transcriber, transcriber
from assistant.voice.tts import Speaker

REQUEST = "compress all images in the photos folder then send me a summary"


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{"request": WAV, "yes": WAV}``: a spoken request of ~4 seconds and a one-word answer."""
    folder = tmp_path_factory.mktemp("speech")
    speaker = Speaker()
    return {
        "request": speaker.to_file(REQUEST, folder / "request.wav"),
        "yes": speaker.to_file("yes", folder / "yes.wav"),
    }


@pytest.fixture(scope="session")
def stt() -> Transcriber:
    return transcriber()
