"""The voice operations' inputs and outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import BaseModel, Field, model_validator

from experts.voice.actions import ActionItem
from experts.voice.summary import KeyPoint, SpeakerShare


class TranscribeInput(BaseModel):
    audio: Path = Field(description="WAV, FLAC, MP3 or OGG; any rate (resampled to 16 kHz)")
    speakers: bool = Field(True, description="separate the speakers (VAD + speaker embeddings + clustering)")
    num_speakers: int | None = Field(None, ge=1, le=8, description="how many speakers, when known (default: "
                                     "estimated)")
    names: list[str] = Field(default_factory=list, description="names for the speakers, in order of first "
                             "appearance (default: S1, S2, ...)")
    model: str | None = Field(None, description="whisper / faster-whisper: the local model path (default from "
                              "$AGENTOS_WHISPER_MODEL / $AGENTOS_FASTER_WHISPER_MODEL); pocketsphinx ignores it")


class SpokenWord(BaseModel):
    text: str
    start: float
    end: float
    confidence: float | None = None


class SpokenSegment(BaseModel):
    speaker: str = Field(description="the speaker label or name ('' when speakers were not separated)")
    start: float
    end: float
    text: str
    confidence: float | None = Field(None, description="the backend's own confidence (see its docs); compare "
                                     "within one backend only")
    words: list[SpokenWord] = Field(default_factory=list)


class TranscribeOutput(BaseModel):
    text: str = Field("", description="everything heard, in order")
    segments: list[SpokenSegment]
    speakers: int = Field(description="how many speakers were found (0 when not separated)")
    backend: str = Field(description="the recogniser that ran, backend/mode (pocketsphinx/open, whisper/...)")
    duration: float = Field(description="seconds of audio")
    transcript: Path = Field(description="transcript.json: this output, for voice.summarize")
    readable: Path = Field(description="transcript.md: who said what, when")


class CommandInput(BaseModel):
    audio: Path
    phrases: list[str] = Field(default_factory=list, description="plain commands that may be said, one phrase "
                               "each (`cancel that`)")
    intents: dict[str, list[str]] = Field(default_factory=dict, description="intent name -> templates that ask "
                                          "for it, slots in braces: {run_script: [run {script} in {project}]}")
    slots: dict[str, list[str] | dict[str, str]] = Field(default_factory=dict, description="slot -> the values it "
                                                         "takes, as spoken (or spoken form -> value: {hello: main.py})")
    pronunciations: dict[str, str] = Field(default_factory=dict, description="phones (ARPAbet, as in CMUdict) "
                                           "for words the dictionary lacks: {northwind: N AO R TH W IH N D}")
    model: str | None = Field(None, description="whisper / faster-whisper: the local model path (default from "
                              "the backend's environment variable); pocketsphinx ignores it")

    @property
    def constrained(self) -> bool:
        """Whether the task says what may be said; with neither phrases nor intents, anything may."""
        return bool(self.phrases or self.intents)


class CommandOutput(BaseModel):
    heard: str = Field("", description="what the recogniser heard")
    request: str = Field(description="the command to act on: the allowed phrase matched (as written in the "
                         "task), or, when the task allows anything, what was heard (a node fails when nothing was)")
    intent: str = Field("", description="the intent of the phrase matched ('' for a plain phrase or none)")
    slots: dict[str, str] = Field(default_factory=dict, description="the slot values of the phrase matched")
    similarity: float | None = Field(None, description="open-vocabulary recognisers: how close the text heard is "
                                     "to the phrase matched (word-level ratio, 0..1)")
    confidence: float | None = None
    backend: str


class SummarizeInput(BaseModel):
    transcript: Path | None = Field(None, description="a transcript.json written by voice.transcribe")
    audio: Path | None = Field(None, description="or a recording: transcribed (speakers separated) first")
    names: list[str] = Field(default_factory=list, description="names for the speakers, in order of first "
                             "appearance, when transcribing `audio`")
    num_speakers: int | None = Field(None, ge=1, le=8)

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.transcript is None) == (self.audio is None):
            raise ValueError("give either `transcript` (a transcript.json) or `audio` (a recording), not both")
        return self


class SummarizeOutput(BaseModel):
    summary: str
    key_points: list[KeyPoint]
    action_items: list[ActionItem]
    speakers: list[SpeakerShare]
    written_by: str
    transcript: Path = Field(description="the transcript the summary was made from")
    report: Path = Field(description="summary.md: the summary, the action items with their quotes, the transcript")


class SpeakOutput(BaseModel):
    wav: Path
    seconds: float
    voice: str
    words: int
    text: str
