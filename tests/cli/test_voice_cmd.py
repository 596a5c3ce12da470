"""``mark1 voice``: speak into a real WAV file, transcribe it back with the real model, list
the (here absent) audio devices."""

from __future__ import annotations

import json
import wave
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.voice.tts import can_play
from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def test_say_into_a_file_then_transcribe_it(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "request.wav"
    said = cli("voice", "say", "please compress the images in my photos folder", "--out", str(out))
    assert said.code == 0, said.err
    assert said.out == f"wrote {out}\n" and out.is_file()

    heard = cli("voice", "transcribe", str(out), "--json")
    assert heard.code == 0, heard.err
    found = json.loads(heard.out)
    assert "compress" in found["text"].lower() and "image" in found["text"].lower()
    assert found["seconds"] > 1 and found["language"] == "en"

    plain = cli("voice", "transcribe", str(out))
    assert plain.code == 0 and plain.out.strip() == found["text"]


def test_a_silent_file_has_no_speech(cli: Cli, tmp_path: Path) -> None:
    silent = tmp_path / "silent.wav"
    with wave.open(str(silent), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\0\0" * 16000)
    done = cli("voice", "transcribe", str(silent))
    assert done.code == 0 and done.out == "" and "no speech" in done.err
    assert json.loads(cli("voice", "transcribe", str(silent), "--json").out)["text"] == ""


def test_say_without_a_speaker_points_to_out(cli: Cli) -> None:
    if can_play():
        pytest.skip("this machine has a speaker")
    done = cli("voice", "say", "hello")
    assert done.code == 2
    assert "no speaker" in done.err and "--out" in done.err


def test_devices(cli: Cli) -> None:
    listed = cli("voice", "devices", "--json")
    assert listed.code == 0, listed.err
    found = json.loads(listed.out)
    assert isinstance(found["inputs"], list) and isinstance(found["outputs"], list)
    plain = cli("voice", "devices")
    assert plain.code == 0
    if not found["inputs"] and not found["outputs"]:
        assert "No audio devices" in plain.out or "PortAudio" in plain.out
    else:
        assert found["outputs"][0]["name"] in plain.out or found["inputs"][0]["name"] in plain.out
