"""Text to speech with the real espeak-ng, into WAV files (no sound card needed), and the
shortening of written answers for speech."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import load_settings
from assistant.errors import ConfigError, UserError, VoiceUnavailable
from assistant.voice.audio import load_wav
from assistant.voice.tts import Playback, Speaker, can_play, speakable


def test_speech_is_written_to_a_wav_quietly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = Speaker().to_file("Your photos are compressed.", tmp_path / "out" / "done.wav")
    samples, rate = load_wav(path)
    assert rate == 22050 and 1.0 < samples.size / rate < 4.0
    assert samples.std() > 0.01
    assert capsys.readouterr().out == ""  # pyttsx3's "Audio saved to" line is swallowed


def test_rate_and_voice_come_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARK1_VOICE__RATE", "320")
    settings = load_settings().voice
    assert settings.rate == 320 and settings.voice == "en-us"
    text = "one two three four five six seven eight nine ten"
    fast, _ = load_wav(Speaker(settings.voice, settings.rate).to_file(text, tmp_path / "f.wav"))
    slow, _ = load_wav(Speaker("en-gb", 120).to_file(text, tmp_path / "s.wav"))
    assert fast.size < slow.size * 0.6


def test_unknown_voice_and_empty_text_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no voice 'klingon'") as caught:
        Speaker("klingon").to_file("hello", tmp_path / "x.wav")
    assert "espeak-ng --voices" in (caught.value.hint or "")
    with pytest.raises(UserError, match="nothing to say"):
        Speaker().to_file("  ", tmp_path / "x.wav")


def test_playing_without_a_speaker_is_unavailable(tmp_path: Path) -> None:
    if can_play():
        pytest.skip("this machine has a speaker")
    path = Speaker().to_file("hello", tmp_path / "hello.wav")
    with pytest.raises(VoiceUnavailable) as caught:
        Playback().play(path)
    assert "WAV file" in (caught.value.hint or "")


def test_speakable_strips_markdown_and_keeps_first_sentences() -> None:
    answer = (
        "# Done\n"
        "I compressed **12 images** in `photos/`. See [the report](https://example.com/r).\n\n"
        "```python\nprint('secret code')\n```\n"
        "- a.jpg: 1.2 MB to 300 kB\n"
    )
    spoken = speakable(answer)
    assert spoken.startswith("Done. I compressed 12 images in photos/. See the report.")
    assert "*" not in spoken and "`" not in spoken and "secret" not in spoken
    assert "https" not in spoken and "a.jpg" in spoken
    long = " ".join(f"Sentence number {i} is here." for i in range(40))
    cut = speakable(long)
    assert len(cut) <= 300 and cut.endswith("here.")
    words = speakable("word " * 200)
    assert len(words) <= 301 and words.endswith("…")
