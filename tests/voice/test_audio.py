"""Audio sources: WAV files of every common encoding become 16 kHz mono float32; the
microphone fails with a hint on a machine without one."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import InputError, VoiceUnavailable
from assistant.voice.audio import (
    SAMPLE_RATE,
    ArraySource,
    MicrophoneSource,
    WavFileSource,
    devices,
    load_wav,
    read_wav,
    record,
)


def tone(rate: int, seconds: float = 1.0, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_pcm(path: Path, samples: np.ndarray, rate: int, width: int, channels: int = 1) -> Path:
    frames = np.repeat(samples[:, None], channels, axis=1).reshape(-1)
    if width == 1:
        raw = (frames * 127 + 128).astype(np.uint8).tobytes()
    elif width == 3:
        ints = (frames * (2**23 - 1)).astype(np.int32)
        raw = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints)
    else:
        kind = np.int16 if width == 2 else np.int32
        raw = (frames * (2 ** (8 * width - 1) - 1)).astype(kind).tobytes()
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(raw)
    return path


def write_float(path: Path, samples: np.ndarray, rate: int) -> Path:
    """An IEEE-float WAV (format 3), which the standard ``wave`` module cannot read."""
    data = samples.astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def peak_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.argmax(spectrum) * SAMPLE_RATE / samples.size)


@pytest.mark.parametrize(
    ("rate", "width", "channels"),
    [(16000, 2, 1), (44100, 2, 2), (22050, 1, 1), (48000, 3, 2), (8000, 4, 1)],
)
def test_pcm_wavs_become_16k_mono(tmp_path: Path, rate: int, width: int, channels: int) -> None:
    path = write_pcm(tmp_path / "tone.wav", tone(rate), rate, width, channels)
    samples = read_wav(path)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(samples.size - SAMPLE_RATE) <= 1
    assert abs(float(np.max(np.abs(samples))) - 0.5) < 0.02
    assert abs(peak_hz(samples) - 440) < 2


def test_float_wav_is_read_at_its_own_rate(tmp_path: Path) -> None:
    path = write_float(tmp_path / "float.wav", tone(32000, 0.5), 32000)
    samples, rate = load_wav(path)
    assert rate == 32000 and samples.size == 16000
    assert read_wav(path).size == 8000


def test_not_a_wav_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("hello")
    with pytest.raises(InputError, match="not a WAV"):
        read_wav(bad)


def test_sources_yield_chunks_of_the_whole(tmp_path: Path) -> None:
    path = write_pcm(tmp_path / "tone.wav", tone(22050, 0.55), 22050, 2)
    chunks = list(WavFileSource(path).chunks())
    assert {c.size for c in chunks[:-1]} == {1600}
    assert np.allclose(np.concatenate(chunks), read_wav(path))
    stereo = np.stack([tone(SAMPLE_RATE), tone(SAMPLE_RATE)], axis=1)
    assert ArraySource(stereo).samples.shape == (SAMPLE_RATE,)


def test_record_for_seconds_or_until_silence() -> None:
    assert record(ArraySource(tone(SAMPLE_RATE, 3.0)), seconds=1.5).size == 24000
    quiet, loud = np.zeros(SAMPLE_RATE, dtype=np.float32), tone(SAMPLE_RATE, 1.0)
    # leading silence does not end it; 0.5 s of silence after speech does
    talk = np.concatenate([quiet, loud, quiet, quiet, loud])
    heard = record(ArraySource(talk), until_silence=0.5)
    assert heard.size == int(2.5 * SAMPLE_RATE)
    assert record(ArraySource(talk), until_silence=0.5, max_seconds=1.2).size == 19200


def test_microphone_without_a_device_is_unavailable_with_a_hint() -> None:
    device = 9999 if any(d.inputs for d in devices()) else None
    with pytest.raises(VoiceUnavailable) as caught:
        MicrophoneSource(device).chunks()
    assert "microphone" in caught.value.message
    assert "mark1 voice devices" in (caught.value.hint or "")


def test_misheard_names_are_grounded_in_the_working_folder(tmp_path: Path) -> None:
    from assistant.voice.grounding import grounded

    (tmp_path / "photos").mkdir()
    (tmp_path / "sales.csv").write_text("a\n")
    said = "compress all images in the photo folder and summarise sale.csv for me"
    assert grounded(said, tmp_path) == (
        "compress all images in the photos folder and summarise sales.csv for me"
    )
    assert grounded("show the photos", tmp_path / "missing") == "show the photos"
