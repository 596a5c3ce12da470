"""What voice costs, on this machine's CPU (issue 10).

* Model load: the packaged faster-whisper tiny.en (int8, sha256 checked), cold in a fresh
  process, beside that process's bare Python start.
* End of speech to transcript: a ~4-second request synthesised by espeak-ng, transcribed from
  samples already in memory (as push-to-talk has them when the key is released), median of
  five, beside the utterance's own length. Target: under 1 s on 2 cores.
* Text to speech, time to first audio: pyttsx3 on espeak-ng writing a reply to a WAV file,
  median of five, beside espeak-ng's own command line doing the same; and from the reply's
  text to its first samples reaching the default output device through PortAudio. This
  machine has no sound card, so the device is ALSA's ``file`` PCM (what tests use too,
  tests/voice/sound_card.py), which keeps no time: the figure is the time to the first block,
  not to sound from a speaker.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import ms, table  # noqa: E402

REQUEST = "compress all images in the photos folder, then send me a summary of what changed"
REPLY = "I compressed twelve images in the photos folder and saved four megabytes."
ROUNDS = 5


def cold_load() -> tuple[float, float]:
    """Seconds to load the model in a fresh process, and that process's bare start."""
    load = (
        "import time; t = time.perf_counter();"
        "from assistant.voice.stt import transcriber; transcriber().load();"
        "print(time.perf_counter() - t)"
    )
    took = float(subprocess.run([sys.executable, "-c", load], capture_output=True,
                                text=True, check=True).stdout)  # fmt: skip
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return took, time.perf_counter() - started


def first_audio(speaker: object, folder: Path) -> float:
    """Seconds from a reply's text to its first samples written to the output device."""
    import threading

    from assistant.voice.tts import Playback

    played = folder / "speaker.raw"
    played.unlink(missing_ok=True)
    started = time.perf_counter()
    path = speaker.to_file(REPLY, folder / "first.wav")  # type: ignore[attr-defined]
    thread = threading.Thread(target=Playback().play, args=(path,))
    thread.start()
    while not played.exists() or played.stat().st_size == 0:
        time.sleep(0.0005)
    took = time.perf_counter() - started
    thread.join()
    return took


def file_device(folder: Path) -> None:
    """Make ALSA's ``file`` PCM the default device (before PortAudio starts)."""
    import os

    config = folder / "asound.conf"
    silence = folder / "mic.raw"
    silence.write_bytes(b"\0" * 4 * 44100)
    config.write_text(
        "pcm.!default { type file; slave.pcm { type null }; "
        f'file "{folder / "speaker.raw"}"; infile "{silence}"; format "raw" }}\n'
    )
    os.environ["ALSA_CONFIG_PATH"] = str(config)


def main() -> None:
    from assistant.voice.audio import read_wav
    from assistant.voice.stt import transcriber
    from assistant.voice.tts import Speaker

    load, bare = cold_load()
    stt = transcriber()
    speaker = Speaker()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        samples = read_wav(speaker.to_file(REQUEST, folder / "request.wav"))
        length = len(samples) / 16000
        stt.transcribe(samples)  # warm
        file_device(folder)
        stt_times, tts_times, espeak_times, first_times = [], [], [], []
        for i in range(ROUNDS):
            started = time.perf_counter()
            heard = stt.transcribe(samples).text
            stt_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            speaker.to_file(REPLY, folder / f"reply{i}.wav")
            tts_times.append(time.perf_counter() - started)
            espeak = shutil.which("espeak-ng")
            if espeak:
                started = time.perf_counter()
                subprocess.run([espeak, "-w", str(folder / f"e{i}.wav"), REPLY], check=True)
                espeak_times.append(time.perf_counter() - started)
            first_times.append(first_audio(speaker, folder))
    print(
        table(
            ["figure", "Mark-1", "baseline", "target"],
            [
                ["model load, cold process (s)", f"{load:.2f}", f"python -c pass {bare:.2f}", ""],
                [
                    f"end of speech to transcript, {length:.1f} s utterance",
                    ms(median(stt_times)),
                    f"utterance {length:.1f} s",
                    "< 1000 ms",
                ],
                [
                    "text to speech, reply to WAV",
                    ms(median(tts_times)),
                    f"espeak-ng CLI {ms(median(espeak_times))}" if espeak_times else "no espeak-ng",
                    "",
                ],
                [
                    "reply text to first audio block (PortAudio, ALSA file PCM)",
                    ms(median(first_times)),
                    f"to WAV only {ms(median(tts_times))}",
                    "",
                ],
            ],
            title="voice (bench/bench_voice.py)",
        )
    )
    print(f"heard: {heard}")


if __name__ == "__main__":
    main()
