"""A spoken request end to end: speech synthesised with espeak-ng, transcribed by the real
model, planned by the offline planner over the real image-resizer plugin, and run. Nothing is
faked; there is no model server at all."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import EXAMPLES, CliResult


def test_a_spoken_request_is_planned_and_run(
    cli: Callable[..., CliResult],
    speech: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert cli("plugin", "install", str(EXAMPLES / "image-resizer"), "--yes").code == 0
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, size in (("a.png", (64, 48)), ("b.png", (32, 32))):
        Image.new("RGB", size, "teal").save(photos / name)
    monkeypatch.chdir(tmp_path)
    result = cli("ask", "--voice", str(speech["request"]), "--yes", "--json")
    assert result.code == 0, result.err
    done = json.loads(result.out)
    (step,) = done["plan"]["steps"]
    assert (step["plugin"], step["capability"]) == ("image-resizer", "compress")
    assert done["plan"]["workflow"]["steps"][0]["for_each"] == {"glob": "photos/*"}
    assert [u["clause"] for u in done["plan"]["unmatched"]] == ["send me a summary"]
    assert done["status"] == "answered" and len(done["run_ids"]) == 1


def test_silence_asks_for_the_request_again(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    import wave

    silent = tmp_path / "silence.wav"
    with wave.open(str(silent), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\0\0" * 16000 * 2)
    result = cli("ask", "--voice", str(silent))
    assert result.code == 2
    assert "no speech heard" in result.err and "record the request again" in result.err
