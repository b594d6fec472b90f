"""Speaker-attributed transcripts: diarize a recording, then recognise each speaker turn on its own.

Recognising turn by turn (rather than the whole file, then guessing whose each word is) gives every
segment exactly one speaker and gives the recogniser short utterances, which pocketsphinx handles
far better than minutes of audio. Without speaker separation the whole file is recognised at once.
"""

from __future__ import annotations

from collections.abc import Callable

from experts.voice.asr import Recognizer, Transcript
from experts.voice.audio import Audio, from_samples, load
from experts.voice.diarize import diarize
from experts.voice.models import SpokenSegment, SpokenWord, TranscribeInput

Progress = Callable[[float, str], None]


def _segments(t: Transcript, speaker: str, offset: float) -> list[SpokenSegment]:
    return [SpokenSegment(speaker=speaker, start=round(s.start + offset, 3), end=round(s.end + offset, 3),
                          text=s.text, confidence=s.confidence,
                          words=[SpokenWord(text=w.text, start=round(w.start + offset, 3), end=round(w.end + offset, 3),
                                            confidence=w.confidence) for w in s.words])
            for s in t.segments if s.text.strip()]


def names_for(labels: list[str], names: list[str]) -> dict[str, str]:
    """Speaker labels in order of first appearance → the names given, then S1, S2, ... for the rest."""
    order = list(dict.fromkeys(labels))
    return {label: names[i] if i < len(names) else f"S{i + 1}" for i, label in enumerate(order)}


def transcribe(recognizer: Recognizer, inputs: TranscribeInput, progress: Progress) -> tuple[list[SpokenSegment],
                                                                                             int, Audio]:
    """The segments of `inputs.audio` with their speakers, how many speakers were found, and the audio."""
    audio = load(inputs.audio)
    if not inputs.speakers:
        progress(0.1, f"recognising {audio.duration:.1f} s with {recognizer.label}")
        t = recognizer.transcribe(audio, progress=lambda f, what: progress(0.1 + 0.85 * f, what))
        return _segments(t, "", 0.0), 0, audio
    progress(0.05, f"separating the speakers in {audio.duration:.1f} s of audio")
    found = diarize(audio.samples, audio.rate, num_speakers=inputs.num_speakers)
    label = names_for([turn.speaker for turn in found.turns], inputs.names)
    segments: list[SpokenSegment] = []
    for i, turn in enumerate(found.turns, 1):
        progress(0.3 + 0.65 * i / len(found.turns), f"turn {i}/{len(found.turns)}: {label[turn.speaker]}")
        a, b = int(turn.start * audio.rate), int(turn.end * audio.rate)
        clip = from_samples(audio.samples[a:b], audio.rate, to_rate=audio.rate, allow_silent=True)
        segments += _segments(recognizer.transcribe(clip), label[turn.speaker], turn.start)
    return segments, found.num_speakers, audio
