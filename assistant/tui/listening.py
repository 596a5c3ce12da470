"""Push-to-talk: record from an audio source until the person stops (the same key) or falls
silent, then transcribe offline. Recording and transcription run in threads; the window only
reads the level and the time for its meter.

What a spoken answer means to a plan: "yes", "approve", "go ahead" approve; "no", "cancel",
"stop" reject. Anything else is not taken as a decision (the dialog stays for the keys).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.voice.audio import AudioSource, Samples
    from assistant.voice.tts import Playback

SILENCE_ENDS = 1.2  # seconds of quiet after speech that end a recording
LONGEST = 30.0
YES = {"yes", "yeah", "yep", "approve", "approved", "ok", "okay", "sure", "go", "proceed", "run"}
NO = {"no", "nope", "cancel", "stop", "reject", "don't"}

SourceFactory = Callable[[], "AudioSource"]


def microphone() -> AudioSource:
    from assistant.voice.audio import MicrophoneSource

    return MicrophoneSource()


class Recording:
    """One push-to-talk recording: stoppable, with its level and length for the meter."""

    def __init__(self, source: AudioSource) -> None:
        self.source = source
        self.stopped = threading.Event()
        self.started = time.monotonic()
        self.level = 0.0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def chunks(self) -> Iterator[Samples]:
        import numpy as np

        for chunk in self.source.chunks():
            if self.stopped.is_set():
                return
            self.level = float(np.sqrt(np.mean(chunk**2))) if chunk.size else 0.0
            yield chunk

    async def words(self, model: str, folder: Path) -> str:
        """What was said, its names grounded in ``folder`` ("" for silence)."""
        return await asyncio.to_thread(self._words, model, folder)

    def _words(self, model: str, folder: Path) -> str:
        from assistant.voice.audio import record
        from assistant.voice.grounding import grounded
        from assistant.voice.stt import transcriber

        samples = record(self, until_silence=SILENCE_ENDS, max_seconds=LONGEST)
        text = transcriber(model).transcribe(samples).text.strip()
        return grounded(text, folder) if text else ""


def decision_in(text: str) -> bool | None:
    """True for a spoken yes, False for a spoken no, None when it is neither."""
    words = {w.strip(".,!?").lower() for w in text.split()}
    if words & NO:
        return False
    if words & YES:
        return True
    return None


def meter(level: float, width: int = 8) -> str:
    filled = min(width, round(level * width * 10))
    return "▮" * filled + "▯" * (width - filled)


def level_line(recording: Recording) -> str:
    return f"● listening {recording.elapsed:.1f}s {meter(recording.level)}  (ctrl+t stops)"


def speak(text: str, voice: str, rate: int, playback: Playback) -> None:
    """Say ``text`` (shortened for speech) on the speaker until ``playback`` is stopped;
    raises VoiceUnavailable."""
    import tempfile

    from assistant.voice import audio
    from assistant.voice.tts import Speaker, speakable

    audio.device_info(None, "output")  # no speaker: say so before synthesising anything
    with tempfile.TemporaryDirectory() as folder:
        path = Speaker(voice, rate).to_file(speakable(text), Path(folder) / "reply.wav")
        playback.play(path)


def voice_status(speaking: bool) -> str:
    """What ``/voice`` says: the microphone and speaker PortAudio would use (or why there is
    none), and whether answers are spoken."""
    from assistant.errors import VoiceUnavailable
    from assistant.voice.audio import device_info

    lines = ["Push-to-talk: ctrl+t starts listening; ctrl+t again or a pause stops."]
    for kind, what in (("input", "microphone"), ("output", "speaker")):
        try:
            lines.append(f"{what}: {device_info(None, kind)['name']}")
        except VoiceUnavailable as exc:
            lines.append(f"{what}: none ({exc.message})")
    state = "on" if speaking else "off"
    lines.append(f"spoken answers: {state} (/voice on or /voice off for this session)")
    return "\n".join(lines)
