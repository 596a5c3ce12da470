"""Audio in the one shape speech recognition wants: 16 kHz mono float32 in [-1, 1].

Every source (a WAV file, an array, the microphone) yields chunks of that shape, so the
recogniser and ``record`` never care where sound comes from. WAV files are decoded by hand
(PCM 8/16/24/32-bit and IEEE float, plain or WAVE_FORMAT_EXTENSIBLE) and resampled with
numpy, so no decoder library is needed for the common case of a recorded or synthesised file.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from assistant.errors import InputError, VoiceUnavailable

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Samples = NDArray[np.float32]

SAMPLE_RATE = 16_000
CHUNK_SECONDS = 0.1
SILENCE_RMS = 0.01  # below this a chunk counts as silence (speech peaks are ~0.1 to 0.5)
PORTAUDIO_HINT = "install PortAudio (Debian: sudo apt-get install libportaudio2; scripts/setup)"
DEVICES_HINT = "`mark1 voice devices` lists the microphones and speakers PortAudio sees"


class AudioSource(Protocol):
    """Where sound comes from; ``chunks`` yields 16 kHz mono float32 arrays until the source
    ends (a file) or the caller stops iterating (a microphone)."""

    def chunks(self) -> Iterator[Samples]: ...


@dataclass(frozen=True)
class Device:
    """One PortAudio device, as `mark1 voice devices` shows it."""

    index: int
    name: str
    inputs: int
    outputs: int
    default_rate: float


def load_wav(path: Path) -> tuple[Samples, int]:
    """A WAV file's samples, mixed down to mono float32, at the file's own rate."""
    import numpy as np

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise InputError(f"{path} is not a WAV file", hint="give a .wav file (RIFF/WAVE)")
    fmt: tuple[int, int, int, int] | None = None
    payload: bytes | None = None
    offset = 12
    while offset + 8 <= len(data):
        tag, size = data[offset : offset + 4], struct.unpack("<I", data[offset + 4 : offset + 8])[0]
        body = data[offset + 8 : offset + 8 + size]
        if tag == b"fmt " and len(body) >= 16:
            code, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if code == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the real code
                code = struct.unpack("<H", body[24:26])[0]
            fmt = (code, channels, rate, bits)
        elif tag == b"data":
            payload = body
        offset += 8 + size + (size & 1)  # chunks are padded to an even length
    if fmt is None or payload is None:
        raise InputError(f"{path} has no audio (its fmt or data chunk is missing)")
    code, channels, rate, bits = fmt
    width = bits // 8
    if channels < 1 or rate < 1 or width < 1:
        raise InputError(f"{path} has an invalid format ({channels} channels at {rate} Hz)")
    usable = len(payload) - len(payload) % (width * channels)
    raw = payload[:usable]
    if code == 3 and bits in (32, 64):
        samples = np.frombuffer(raw, dtype=np.float32 if bits == 32 else np.float64)
    elif code == 1 and bits == 8:
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128) / 128
    elif code == 1 and bits in (16, 32):
        ints = np.frombuffer(raw, dtype=np.int16 if bits == 16 else np.int32)
        samples = ints.astype(np.float64) / float(2 ** (bits - 1))
    elif code == 1 and bits == 24:
        triples = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        values = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        samples = np.where(values >= 1 << 23, values - (1 << 24), values) / float(1 << 23)
    else:
        raise InputError(
            f"{path} uses an unsupported WAV encoding (format {code}, {bits} bits)",
            hint="convert it to 16-bit PCM, e.g. ffmpeg -i IN -ac 1 -ar 16000 OUT.wav",
        )
    mono = samples.reshape(-1, channels).mean(axis=1)
    return mono.astype(np.float32), rate


def resample(samples: Samples, rate: int, target: int = SAMPLE_RATE) -> Samples:
    """``samples`` at ``target`` Hz by linear interpolation: plenty for speech recognition,
    which keeps only what lies below 8 kHz anyway, and needs nothing beyond numpy."""
    import numpy as np

    if rate == target or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    count = max(1, round(samples.size * target / rate))
    positions = np.arange(count, dtype=np.float64) * (rate / target)
    return np.interp(positions, np.arange(samples.size), samples).astype(np.float32)


def read_wav(path: Path) -> Samples:
    """A WAV file as 16 kHz mono float32, whatever its rate, width or channels."""
    samples, rate = load_wav(path)
    return resample(samples, rate)


class ArraySource:
    """Samples already in memory (tests, or audio decoded elsewhere), at ``rate`` Hz."""

    def __init__(self, samples: Any, rate: int = SAMPLE_RATE) -> None:
        import numpy as np

        array = np.asarray(samples, dtype=np.float32)
        if array.ndim == 2:  # frames x channels
            array = array.mean(axis=1)
        self.samples = resample(array.reshape(-1), rate)

    def chunks(self) -> Iterator[Samples]:
        step = int(SAMPLE_RATE * CHUNK_SECONDS)
        for start in range(0, self.samples.size, step):
            yield self.samples[start : start + step]


class WavFileSource(ArraySource):
    """A WAV file, converted on opening to 16 kHz mono."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        super().__init__(read_wav(self.path))


def _sounddevice() -> Any:
    """The sounddevice module, or VoiceUnavailable when it or PortAudio is missing (it raises
    OSError at import when the PortAudio library cannot be found)."""
    try:
        import sounddevice
    except ImportError as exc:
        raise VoiceUnavailable(
            "sounddevice is not installed", hint="install the voice extra: scripts/setup"
        ) from exc
    except OSError as exc:
        raise VoiceUnavailable(f"PortAudio cannot be loaded: {exc}", hint=PORTAUDIO_HINT) from exc
    return sounddevice


def devices() -> list[Device]:
    """Every audio device PortAudio sees (empty on a machine without a sound card)."""
    sd = _sounddevice()
    return [
        Device(
            index=int(d["index"]),
            name=str(d["name"]),
            inputs=int(d["max_input_channels"]),
            outputs=int(d["max_output_channels"]),
            default_rate=float(d["default_samplerate"]),
        )
        for d in sd.query_devices()
    ]


def device_info(device: int | str | None, kind: str) -> dict[str, Any]:
    """PortAudio's description of the ``kind`` ("input" or "output") device to use, or
    VoiceUnavailable saying there is none (or no such one)."""
    sd = _sounddevice()
    try:
        return dict(sd.query_devices(device, kind=kind))
    except (ValueError, sd.PortAudioError) as exc:
        what = "microphone" if kind == "input" else "speaker"
        found = f"no {what} '{device}'" if device is not None else f"no {what} (audio {kind})"
        raise VoiceUnavailable(f"{found}: {exc}", hint=DEVICES_HINT) from exc


class MicrophoneSource:
    """Live sound from a PortAudio input device (the default one unless ``device`` names an
    index or a name), recorded at the device's own rate and resampled chunk by chunk."""

    def __init__(self, device: int | str | None = None) -> None:
        self.device = device

    def chunks(self) -> Iterator[Samples]:
        """Check the device now (so a missing one fails here, not at the first ``next``),
        then stream from it until the caller stops iterating."""
        info = device_info(self.device, "input")
        rate = int(info["default_samplerate"])
        sd = _sounddevice()
        try:
            stream = sd.InputStream(
                samplerate=rate,
                channels=1,
                dtype="float32",
                device=self.device,
                blocksize=int(rate * CHUNK_SECONDS),
            )
            stream.start()
        except sd.PortAudioError as exc:
            raise VoiceUnavailable(
                f"the microphone cannot be opened: {exc}",
                hint="another program may be using it; close it or pick another device. "
                + DEVICES_HINT,
            ) from exc
        return self._stream(stream, rate)

    @staticmethod
    def _stream(stream: Any, rate: int) -> Iterator[Samples]:
        try:
            while True:
                block, _overflowed = stream.read(int(rate * CHUNK_SECONDS))
                yield resample(block[:, 0].copy(), rate)
        finally:
            stream.close()


def record(
    source: AudioSource,
    *,
    seconds: float | None = None,
    until_silence: float | None = None,
    max_seconds: float = 30.0,
) -> Samples:
    """Collect ``source`` for ``seconds``, or until ``until_silence`` seconds of quiet follow
    some speech (how a spoken request ends), never beyond ``max_seconds`` or the source's end."""
    import numpy as np

    limit = min(seconds, max_seconds) if seconds is not None else max_seconds
    parts: list[Samples] = []
    total = quiet = 0
    heard = False
    for chunk in source.chunks():
        parts.append(chunk)
        total += chunk.size
        if until_silence is not None and chunk.size:
            loud = float(np.sqrt(np.mean(chunk**2))) >= SILENCE_RMS
            heard = heard or loud
            quiet = 0 if loud else quiet + chunk.size
            if heard and quiet >= until_silence * SAMPLE_RATE:
                break
        if total >= limit * SAMPLE_RATE:
            break
    joined = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    return joined[: int(limit * SAMPLE_RATE)]
