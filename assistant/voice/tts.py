"""Text to speech, offline: pyttsx3 over espeak-ng, written to WAV files and played from them.

Synthesis always goes to a file first: that works on a headless machine (no sound card) and
the same file can be played, kept or sent. espeak-ng is one global library per process, so
all synthesis happens on one thread of its own, with a fresh pyttsx3 engine per file (a
reused engine can lose its end-of-utterance event and hang in ``runAndWait``).

Answers written for a screen (Markdown, long lists) are tiring to listen to; ``speakable``
turns them into their first few plain sentences.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError, UserError, VoiceUnavailable

SPOKEN_LIMIT = 300
BLOCK_SECONDS = 0.1  # how soon a stop is heard: playback is written in blocks this long
OUTPUT_HINT = "no sound card here: write the speech to a WAV file instead"
_espeak_thread = ThreadPoolExecutor(1, thread_name_prefix="espeak")

_MARKDOWN = [
    (re.compile(r"```.*?(```|$)", re.S), " "),  # code blocks are not read aloud
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), " "),  # images
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links: their words
    (re.compile(r"https?://\S+"), "a link"),
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"^\s{0,3}(#{1,6}|>|[-*+]|\d+[.)])\s+", re.M), ""),  # headings, quotes, items
    (re.compile(r"(\*\*|__|\*|_|~~)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # emphasis
    (re.compile(r"^\s*\|?\s*:?-{3,}.*$", re.M), " "),  # table rules
    (re.compile(r"[ \t]*\|[ \t]*"), ", "),  # table cells
]
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def speakable(text: str, limit: int = SPOKEN_LIMIT) -> str:
    """``text`` as something worth hearing: Markdown stripped, then as many whole sentences
    as fit in ``limit`` characters (a long first sentence is cut at a word, with an ellipsis)."""
    for pattern, replacement in _MARKDOWN:
        text = pattern.sub(replacement, text)
    lines = [re.sub(r"(, )+", ", ", line).strip(" ,") for line in text.splitlines()]
    # a line without closing punctuation (a list item, a heading) still ends a sentence
    flat = " ".join(
        line if line.endswith((".", "!", "?", ":", ";")) else line + "." for line in lines if line
    )
    flat = re.sub(r"\s+", " ", flat).strip()
    spoken = ""
    for sentence in _SENTENCE_END.split(flat):
        joined = f"{spoken} {sentence}".strip()
        if len(joined) > limit:
            break
        spoken = joined
    if not spoken and flat:
        spoken = flat[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return spoken


def _espeak_library() -> Any:
    from pyttsx3.drivers import _espeak

    return _espeak


class Speaker:
    """espeak-ng with one voice and rate (the ``voice.voice`` and ``voice.rate`` settings)."""

    def __init__(self, voice: str = "en-us", rate: int = 175) -> None:
        self.voice, self.rate = voice, rate

    def to_file(self, text: str, path: Path | str) -> Path:
        """Synthesise ``text`` into the WAV file ``path`` (16-bit mono, 22.05 kHz)."""
        if not text.strip():
            raise UserError("there is nothing to say", hint="give some text")
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        _espeak_thread.submit(self._synthesise, text, target).result()
        if not target.is_file():
            raise VoiceUnavailable(
                f"espeak-ng wrote no audio to {target}",
                hint="check espeak-ng works: espeak-ng 'hello' --stdout > /dev/null",
            )
        return target

    def _synthesise(self, text: str, target: Path) -> None:
        """On the espeak thread only: espeak-ng keeps one global state (and one synth
        callback) per process, which engines on different threads trample."""
        engine = self._engine()
        try:
            engine.save_to_file(text, str(target))
            # pyttsx3's espeak driver prints "Audio saved to ..." on stdout; keep it ours
            with contextlib.redirect_stdout(io.StringIO()):
                engine.runAndWait()
                # espeak may still hold events of this text (it buffers internally): deliver
                # them to this engine, not to one that no longer exists
                _espeak_library().Synchronize()
        finally:
            # freed here, before the next engine: a dying engine resets the synth callback
            del engine

    def _engine(self) -> Any:
        try:
            import pyttsx3
        except ImportError as exc:
            raise VoiceUnavailable(
                "pyttsx3 is not installed", hint="install the voice extra: scripts/setup"
            ) from exc
        try:
            engine = pyttsx3.Engine("espeak")
        except Exception as exc:  # noqa: BLE001 - a missing libespeak-ng surfaces in many types
            raise VoiceUnavailable(
                f"espeak-ng cannot be started: {exc}",
                hint="install it (Debian: sudo apt-get install espeak-ng; scripts/setup)",
            ) from exc
        known = {
            name
            for v in engine.getProperty("voices")
            for name in (v.id, v.id.rsplit("/", 1)[-1], v.name, *(v.languages or ()))
        }
        if self.voice not in known:
            raise ConfigError(
                f"espeak-ng has no voice '{self.voice}'",
                hint="`espeak-ng --voices` lists them; mark1 config set voice.voice en-us",
            )
        engine.setProperty("voice", self.voice)
        engine.setProperty("rate", self.rate)
        return engine


def can_play() -> bool:
    """Whether ``play`` has somewhere to play to (without raising)."""
    from assistant.voice.audio import device_info

    try:
        device_info(None, "output")
    except VoiceUnavailable:
        return False
    return True


class Playback:
    """One utterance on the default output device: through PortAudio when it is installed,
    else through ALSA's ``aplay``. ``stop`` (from any thread, even before ``play`` starts)
    ends it: the person saying or typing something new interrupts the assistant."""

    def __init__(self) -> None:
        self._stopped = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def stop(self) -> None:
        self._stopped.set()
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()

    def play(self, path: Path | str) -> None:
        """Play a WAV file to its end or until stopped; VoiceUnavailable when neither
        PortAudio nor aplay can reach a speaker."""
        from assistant.voice import audio

        if self.stopped:
            return
        try:
            audio.device_info(None, "output")
        except VoiceUnavailable as exc:
            if "PortAudio" not in exc.message or shutil.which("aplay") is None:
                raise VoiceUnavailable(exc.message, hint=OUTPUT_HINT) from exc
            self._aplay(Path(path), exc)
            return
        self._portaudio(*audio.load_wav(Path(path)))

    def _portaudio(self, samples: Any, rate: int) -> None:
        import sounddevice

        block = int(rate * BLOCK_SECONDS)
        try:
            with sounddevice.OutputStream(samplerate=rate, channels=1, dtype="float32") as stream:
                for start in range(0, len(samples), block):
                    if self.stopped:
                        stream.abort()
                        return
                    stream.write(samples[start : start + block].reshape(-1, 1))
        except sounddevice.PortAudioError as exc:
            raise VoiceUnavailable(f"the speaker cannot be used: {exc}", hint=OUTPUT_HINT) from exc

    def _aplay(self, path: Path, cause: VoiceUnavailable) -> None:
        self._process = subprocess.Popen(
            ["aplay", "-q", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        if self.stopped:  # stopped while it was starting
            self._process.terminate()
        _, errors = self._process.communicate()
        if self._process.returncode != 0 and not self.stopped:
            raise VoiceUnavailable(
                f"aplay cannot play {path}: {errors.decode(errors='replace').strip()}",
                hint=OUTPUT_HINT,
            ) from cause
