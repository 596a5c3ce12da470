"""A sound card for the voice tests, made of ALSA's own ``file`` PCM.

This machine has no sound card. ALSA's ``file`` plugin, set as the default device through
``ALSA_CONFIG_PATH``, is a device PortAudio opens like any other: what is played to it lands
in a file, and what is recorded from it is read from a file. So PortAudio, ALSA and Mark-1's
capture and playback code all run for real; only the card itself is stood in for. Unlike a
card, it does not keep time: a recording or playback runs as fast as the CPU allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.voice.audio import read_wav

MIC_RATE = 44100  # what PortAudio reports as the file device's default rate

CONFIG = """\
pcm.!default {{
    type file
    slave.pcm {{ type null }}
    file "{speaker}"
    infile "{mic}"
    format "raw"
}}
"""


@dataclass
class SoundCard:
    folder: Path

    @property
    def mic(self) -> Path:
        return self.folder / "mic.raw"

    @property
    def speaker(self) -> Path:
        return self.folder / "speaker.raw"

    def say_into_mic(self, wav: Path, before: float = 0.5, after: float = 3.0) -> None:
        """What the microphone will hear: ``wav`` between stretches of silence, as float32
        samples at the device's rate (the format Mark-1 opens it with)."""
        speech = read_wav(wav)
        at_rate = np.interp(
            np.arange(0, len(speech), 16000 / MIC_RATE), np.arange(len(speech)), speech
        )
        quiet = np.zeros(int(MIC_RATE * max(before, after)), dtype="<f4")
        sound = [quiet[: int(MIC_RATE * before)], at_rate.astype("<f4"), quiet]
        np.concatenate(sound).tofile(self.mic)

    def played(self) -> np.ndarray:
        """Everything played so far, as float32 samples (Mark-1 plays float32 mono)."""
        return np.fromfile(self.speaker, dtype="<f4") if self.speaker.exists() else np.zeros(0)


def reopen_portaudio() -> None:
    """PortAudio lists devices once, when it starts: start it again to see the change."""
    import sounddevice

    sounddevice._terminate()
    sounddevice._initialize()
