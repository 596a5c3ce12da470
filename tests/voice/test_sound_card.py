"""The microphone and speaker paths through PortAudio and ALSA, on the stand-in sound card of
``sound_card.py`` (ALSA's ``file`` device): real speech from espeak-ng recorded from the
default input and transcribed by the real model, replies played to the default output, and
playback stopped by new input."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from assistant.tui.app import AssistantApp
from assistant.tui.screens.chat import ChatScreen
from assistant.tui.widgets.messages import NoteLine, UserMessage
from assistant.voice.audio import MicrophoneSource, load_wav, record
from assistant.voice.stt import Transcriber
from assistant.voice.tts import Playback, Speaker
from tests.conftest import CliResult
from tests.tui.test_chat import send, texts, until
from tests.voice.sound_card import SoundCard

Cli = Callable[..., CliResult]


def test_the_microphone_records_a_request_until_silence(
    sound_card: SoundCard,
    speech: dict[str, Path],
    stt: Transcriber,
) -> None:
    sound_card.say_into_mic(speech["request"])
    samples = record(MicrophoneSource(), until_silence=1.0, max_seconds=15)
    words = stt.transcribe(samples).text.lower()
    assert "compress" in words and "images" in words and "summary" in words
    assert len(samples) / 16000 < 10  # it stopped at the silence after the request


def test_devices_lists_the_card_and_say_plays_to_it(sound_card: SoundCard, cli: Cli) -> None:
    listed = cli("voice", "devices")
    assert listed.code == 0 and "default" in listed.out
    done = cli("voice", "say", "The forecast for Oslo is ready.")
    assert done.code == 0, done.err
    played = sound_card.played()
    assert len(played) > 0.5 * 22050 and float(np.sqrt(np.mean(played**2))) > 0.01


async def test_push_to_talk_sends_what_the_microphone_heard(
    sound_card: SoundCard,
    speech: dict[str, Path],
) -> None:
    sound_card.say_into_mic(speech["request"])
    app = AssistantApp()  # the default source: the microphone
    async with app.run_test(size=(100, 30)) as pilot:
        await app.agent()
        await pilot.press("ctrl+t")
        await until(pilot, lambda: bool(app.screen.query(UserMessage)), 60)
        (sent,) = [str(m.render()).lower() for m in app.screen.query(UserMessage)]
        assert "🎤" in sent and "compress" in sent and "summary" in sent
        await until(pilot, lambda: not app.turn_running, 60)
        # the answer is spoken to the card: let it finish before the window closes
        await until(pilot, lambda: all(w.is_finished for w in app.workers if w.group == "speech"))


def long_speech(folder: Path, seconds: float = 180.0) -> Path:
    """A reply long enough to be stopped half-way, even on a device that keeps no time."""
    import wave

    one = Speaker().to_file("This is a very long answer that goes on and on.", folder / "one.wav")
    samples, rate = load_wav(one)
    repeated = np.tile(samples, int(seconds * rate / len(samples)) + 1)
    path = folder / "long.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((repeated * 32767).astype("<i2").tobytes())
    return path


def play_in_background(playback: Playback, path: Path, card: SoundCard) -> threading.Thread:
    thread = threading.Thread(target=playback.play, args=(path,))
    thread.start()
    deadline = time.monotonic() + 30
    while len(card.played()) == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    return thread


def test_stop_ends_playback_early(sound_card: SoundCard, tmp_path: Path) -> None:
    path = long_speech(tmp_path)
    total = len(load_wav(path)[0])
    playback = Playback()
    thread = play_in_background(playback, path, sound_card)
    playback.stop()
    thread.join(10)
    assert not thread.is_alive() and 0 < len(sound_card.played()) < total * 0.9


async def test_new_input_interrupts_the_spoken_reply(
    sound_card: SoundCard,
    tmp_path: Path,
) -> None:
    path = long_speech(tmp_path)
    total = len(load_wav(path)[0])
    app = AssistantApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await app.agent()
        chat = app.screen
        assert isinstance(chat, ChatScreen)
        playback = chat.playback = Playback()  # the reply the window is speaking
        thread = play_in_background(playback, path, sound_card)
        chat.query_one("#prompt").text = "/help"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: not thread.is_alive(), 10)
    assert playback.stopped and len(sound_card.played()) < total * 0.9


async def test_voice_command_names_the_devices_and_switches_spoken_answers(
    sound_card: SoundCard,
) -> None:
    app = AssistantApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "/voice")
        await until(pilot, lambda: any("microphone: default" in t for t in texts(app, NoteLine)))
        shown = next(t for t in texts(app, NoteLine) if "microphone:" in t)
        assert "speaker: default" in shown and "spoken answers: on" in shown
        await send(pilot, "/voice off")
        await until(pilot, lambda: any("spoken answers: off" in t for t in texts(app, NoteLine)))
        chat = app.screen
        assert isinstance(chat, ChatScreen) and not chat.speaks(await app.agent())


async def test_voice_command_says_why_there_is_no_microphone() -> None:
    """No stand-in card: this machine has none, so PortAudio lists no device."""
    app = AssistantApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "/voice")
        await until(pilot, lambda: any("microphone: none (" in t for t in texts(app, NoteLine)))
