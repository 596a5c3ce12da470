"""Real speech for the voice tests: espeak-ng sentences synthesised once per session, and the
one Whisper model every test shares (loading it takes about half a second)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.voice.stt import Transcriber, transcriber
from assistant.voice.tts import Speaker
from tests.voice.sound_card import CONFIG, MIC_RATE, SoundCard, reopen_portaudio

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


@pytest.fixture
def sound_card(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SoundCard]:
    """The default audio device is the stand-in card of ``sound_card.py`` for this test."""
    card = SoundCard(tmp_path / "card")
    card.folder.mkdir()
    np.zeros(MIC_RATE, dtype="<f4").tofile(card.mic)  # silence until a test speaks
    config = card.folder / "asound.conf"
    config.write_text(CONFIG.format(speaker=card.speaker, mic=card.mic))
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(config))
    reopen_portaudio()
    yield card
    monkeypatch.delenv("ALSA_CONFIG_PATH")
    reopen_portaudio()
