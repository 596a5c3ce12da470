"""Speech in and out, offline: audio sources (``audio``), speech-to-text with faster-whisper
(``stt``) and text-to-speech with espeak-ng (``tts``).

Everything here is optional (the ``voice`` extra plus espeak-ng and PortAudio from
scripts/setup) and heavy, so nothing is imported until used; whatever is missing surfaces as
``assistant.errors.VoiceUnavailable`` with a hint, never as a crash.
"""
