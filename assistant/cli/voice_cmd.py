"""``mark1 voice``: speech from the command line: transcribe a WAV file, speak text, list the
audio devices. Every heavy library (numpy, faster-whisper, pyttsx3, sounddevice) is imported
inside the commands, so ``mark1 voice --help`` stays instant."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click

from assistant.cli.output import echo_json, json_option, table
from assistant.errors import VoiceUnavailable


@click.group()
def voice() -> None:
    """Speech, offline: Whisper tiny.en listens, espeak-ng speaks.

    \b
    Examples:
      mark1 voice transcribe request.wav
      mark1 voice say "Your photos are compressed" --out done.wav
      mark1 voice devices

    Settings: voice.stt_model, voice.voice and voice.rate (`mark1 config list`).
    """


@voice.command(short_help="Print the words spoken in a WAV file.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
def transcribe(file: Path, as_json: bool) -> None:
    """Print the words spoken in FILE (a WAV file of any rate and channels); nothing when it
    holds no speech."""
    from assistant.config import load_settings
    from assistant.voice.stt import transcriber

    found = transcriber(load_settings().voice.stt_model).transcribe(file)
    if as_json:
        echo_json({"text": found.text, "seconds": found.seconds, "language": found.language})
    elif found.text:
        click.echo(found.text)
    else:
        click.echo(f"no speech in {file}", err=True)


@voice.command(short_help="Speak text aloud or into a WAV file.")
@click.argument("text")
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the speech to this WAV file instead of playing it.",
)
@json_option
def say(text: str, out: Path | None, as_json: bool) -> None:
    """Speak TEXT with espeak-ng: on the speaker, or into a WAV file with --out."""
    from assistant.config import load_settings
    from assistant.voice.tts import Playback, Speaker, can_play

    settings = load_settings().voice
    speaker = Speaker(settings.voice, settings.rate)
    if out is not None:
        start = time.perf_counter()
        speaker.to_file(text, out)
        if as_json:
            echo_json({"file": str(out), "seconds": round(time.perf_counter() - start, 3)})
        else:
            click.echo(f"wrote {out}")
        return
    if not can_play():
        raise VoiceUnavailable(
            "there is no speaker to play to", hint="write a file instead: --out speech.wav"
        )
    with tempfile.TemporaryDirectory(prefix="mark1-say-") as folder:
        Playback().play(speaker.to_file(text, Path(folder) / "speech.wav"))
    if as_json:
        echo_json({"played": True})


@voice.command(short_help="List microphones and speakers.")
@json_option
def devices(as_json: bool) -> None:
    """List the microphones and speakers PortAudio sees."""
    from assistant.voice.audio import devices as found_devices

    try:
        found = found_devices()
    except VoiceUnavailable as exc:
        if as_json:
            echo_json({"inputs": [], "outputs": [], "notice": exc.message, "hint": exc.hint})
        else:
            click.echo(f"{exc.message}\n  hint: {exc.hint}")
        return
    if as_json:
        echo_json(
            {
                "inputs": [d.__dict__ for d in found if d.inputs],
                "outputs": [d.__dict__ for d in found if d.outputs],
                "notice": None if found else "no audio devices",
            }
        )
        return
    if not found:
        click.echo("No audio devices: this machine has no microphone or speaker PortAudio sees.")
        return
    table(
        ["index", "name", "inputs", "outputs", "rate"],
        [(d.index, d.name, d.inputs, d.outputs, f"{d.default_rate:.0f}") for d in found],
    )
