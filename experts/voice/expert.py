"""The voice experts: one per speech-recognition backend, so the router can choose among them.

`voice-sphinx` (pocketsphinx, whose wheel ships its English model: always available offline),
`voice-whisper` and `voice-faster-whisper` (local weights only: unavailable until
$AGENTOS_WHISPER_MODEL / $AGENTOS_FASTER_WHISPER_MODEL names them) all offer `voice.transcribe`,
`voice.summarize` and `voice.command` (pocketsphinx with a grammar of the allowed phrases, Whisper in
open vocabulary matched to the nearest one); `voice-sphinx` also offers `voice.speak` (espeak-ng).
"""

from __future__ import annotations

import abc
import asyncio
import os
from pathlib import Path
from typing import Any, ClassVar

from agentos.errors import ExpertError
from agentos.sdk import Expert, ExpertContext, no_chat_host, operation
from experts.voice import asr, tts
from experts.voice.actions import Utterance
from experts.voice.checks import SUMMARY_CHECKS, TRANSCRIPT_CHECKS
from experts.voice.commands import Grammar, understand
from experts.voice.models import (
    CommandInput,
    CommandOutput,
    SpeakOutput,
    SpokenSegment,
    SummarizeInput,
    SummarizeOutput,
    TranscribeInput,
    TranscribeOutput,
)
from experts.voice.summary import MeetingSummary, summarize, summarize_with_host
from experts.voice.transcribe import transcribe


def _readable(segments: list[SpokenSegment]) -> str:
    return "\n".join(f"[{s.start:7.2f}–{s.end:7.2f}] {s.speaker + ': ' if s.speaker else ''}{s.text}"
                     for s in segments) + "\n"


def _report(summary: MeetingSummary, segments: list[SpokenSegment]) -> str:
    items = "\n".join(f"- **{i.owner}**: {i.task}" + (f" ({i.due})" if i.due else "")
                      + f" — {i.speaker} at {i.at:.1f} s: “{i.quote}”"
                      + (f" / “{i.confirmed_by}”" if i.confirmed_by else "") for i in summary.action_items)
    return (f"# Meeting summary\n\n{summary.summary}\n\n## Action items\n\n{items or '(none)'}\n\n"
            f"## Transcript\n\n```\n{_readable(segments)}```\n")


def _clip(text: str, n: int = 80) -> str:
    return repr(text if len(text) <= n else text[:n] + "…")


class _Listening(Expert, abc.ABC):
    """What every recogniser offers; subclasses say which recogniser and when it is available."""

    domain = "voice"
    backend: ClassVar[type[asr.Recognizer]]

    def unavailable(self, host: Any) -> str | None:
        return self.backend.unavailable()

    @abc.abstractmethod
    def recognizer(self, inputs: TranscribeInput) -> asr.Recognizer:
        """The recogniser for this call (constructing it checks its model is there)."""

    def command_recognizer(self, inputs: CommandInput, grammar: Grammar) -> asr.Recognizer:
        """The recogniser for a command: by default this backend's open-vocabulary one."""
        return self.recognizer(TranscribeInput(audio=inputs.audio, model=inputs.model))

    def _command(self, inputs: CommandInput, ctx: ExpertContext) -> CommandOutput:
        grammar = Grammar(inputs.phrases, inputs.intents, inputs.slots)
        recognizer = self.command_recognizer(inputs, grammar)
        what = f"{len(grammar.meanings)} allowed phrase(s)" if inputs.constrained else "any request"
        ctx.progress(0.05, f"{recognizer.label}: listening for {what}")
        heard = recognizer.transcribe(inputs.audio, progress=ctx.progress)
        confidence = asr.mean_confidence(heard)
        said = Path(inputs.audio).name
        if not inputs.constrained:
            if not heard.text:
                raise ExpertError(f"{said}: {recognizer.label} heard no words")
            return CommandOutput(heard=heard.text, request=heard.text, confidence=confidence, backend=recognizer.label)
        exact = heard.mode == "grammar"
        meaning, similarity = understand(grammar, (heard.phrase or "") if exact else heard.text, exact=exact)
        if meaning is None:
            closeness = f", at most {similarity:.2f} similar to one (0.75 needed)" if heard.text and similarity else ""
            raise ExpertError(f"{said}: {recognizer.label} heard {_clip(heard.text) if heard.text else 'no words'}, "
                              f"which is none of the {len(grammar.meanings)} allowed phrases{closeness}; they include "
                              + ", ".join(repr(p) for p in grammar.phrases[:3]))
        return CommandOutput(heard=heard.text, request=meaning.phrase, intent=meaning.intent, slots=meaning.slots,
                             similarity=similarity, confidence=confidence, backend=recognizer.label)

    def _transcribe(self, inputs: TranscribeInput, ctx: ExpertContext) -> TranscribeOutput:
        recognizer = self.recognizer(inputs)
        segments, speakers, audio = transcribe(recognizer, inputs, ctx.progress)
        readable = ctx.artifacts.write_text("transcript.md", _readable(segments))
        out = TranscribeOutput(text=" ".join(s.text for s in segments), segments=segments, speakers=speakers,
                               backend=recognizer.label, duration=round(audio.duration, 3),
                               transcript=ctx.artifacts.path("transcript.json"), readable=readable)
        out.transcript.write_text(out.model_dump_json(indent=2), encoding="utf-8")
        return out

    async def _summarize(self, inputs: SummarizeInput, ctx: ExpertContext) -> SummarizeOutput:
        if inputs.audio is not None:
            heard = await asyncio.to_thread(self._transcribe, TranscribeInput(
                audio=inputs.audio, names=inputs.names, num_speakers=inputs.num_speakers), ctx)
        else:
            try:
                heard = TranscribeOutput.model_validate_json(Path(inputs.transcript).read_text(encoding="utf-8"))
            except OSError:
                raise ExpertError(f"transcript {inputs.transcript} cannot be read") from None
            except ValueError as exc:
                raise ExpertError(f"{inputs.transcript} is not a transcript.json written by voice.transcribe: "
                                  f"{str(exc).splitlines()[0]}") from None
        said = [Utterance(speaker=s.speaker or "S1", start=s.start, end=s.end, text=s.text) for s in heard.segments]
        ctx.progress(0.9, f"summarising {len(said)} utterance(s)")
        if no_chat_host(ctx.host) is None:
            summary = await summarize_with_host(said, ctx.host, getattr(ctx.host, "model", "host"))
        else:
            summary = summarize(said, names=[*inputs.names, *(u.speaker for u in said)])
        report = ctx.artifacts.write_text("summary.md", _report(summary, heard.segments))
        return SummarizeOutput(**summary.model_dump(), transcript=heard.transcript, report=report)


class SphinxVoice(_Listening):
    """Speech to text with pocketsphinx (offline, its English model in the wheel): meetings with speakers
    separated, commands from a grammar of allowed phrases, and spoken replies with espeak-ng. Poor on
    synthetic or accented speech in open vocabulary; reliable on a known set of commands."""

    name = "voice-sphinx"
    backend = asr.PocketSphinx

    def recognizer(self, inputs: TranscribeInput) -> asr.Recognizer:
        return asr.PocketSphinx("open")

    @operation("voice.transcribe", cost=0.1, latency_s=10.0, checks=TRANSCRIPT_CHECKS)
    def transcribe_audio(self, inputs: TranscribeInput, ctx: ExpertContext) -> TranscribeOutput:
        """A recording as text, segment by segment, with speakers separated (who spoke when), times and
        confidence; writes transcript.json (for voice.summarize) and transcript.md."""
        return self._transcribe(inputs, ctx)

    @operation("voice.summarize", cost=0.15, latency_s=15.0, checks=SUMMARY_CHECKS)
    async def summarize_meeting(self, inputs: SummarizeInput, ctx: ExpertContext) -> SummarizeOutput:
        """A meeting's summary: key points by speaker, talk time, and action items (owner, task, due date when
        said), each quoting the utterance it came from; from a recording or a transcript.json."""
        return await self._summarize(inputs, ctx)

    def command_recognizer(self, inputs: CommandInput, grammar: Grammar) -> asr.Recognizer:
        if not inputs.constrained:
            return asr.PocketSphinx("open", pronunciations=inputs.pronunciations)
        return asr.PocketSphinx("grammar", phrases=grammar.phrases, pronunciations=inputs.pronunciations)

    @operation("voice.command", cost=0.05, latency_s=2.0)
    def hear_command(self, inputs: CommandInput, ctx: ExpertContext) -> CommandOutput:
        """A spoken command as a request to act on: recognised against the allowed phrases or intents with
        slots (a grammar of exactly those, so it answers one of them or none), giving the phrase, its intent
        and slot values; with neither, open vocabulary (poor on synthetic or accented speech)."""
        return self._command(inputs, ctx)

    @operation("voice.speak", cost=0.01, latency_s=1.0)
    def speak(self, inputs: tts.SpeakInput, ctx: ExpertContext) -> SpeakOutput:
        """Text said aloud with espeak-ng, as a WAV file (a spoken reply)."""
        spoken = tts.speak(inputs.text, ctx.artifacts.path("reply.wav"), voice=inputs.voice, speed=inputs.speed,
                           pitch=inputs.pitch)
        return SpeakOutput(**spoken.model_dump(), text=inputs.text)


class WhisperVoice(_Listening):
    """Speech to text with openai-whisper from a local checkpoint ($AGENTOS_WHISPER_MODEL): accurate on
    open speech, slow on a CPU; speakers separated the same way."""

    name = "voice-whisper"
    backend = asr.Whisper
    env = asr.WHISPER_ENV

    def unavailable(self, host: Any) -> str | None:
        if not os.environ.get(self.env):
            return f"no local model: set ${self.env} (nothing is downloaded at run time)"
        return super().unavailable(host)

    def recognizer(self, inputs: TranscribeInput) -> asr.Recognizer:
        return self.backend(inputs.model)  # type: ignore[call-arg]

    @operation("voice.transcribe", cost=0.5, latency_s=60.0, checks=TRANSCRIPT_CHECKS)
    def transcribe_audio(self, inputs: TranscribeInput, ctx: ExpertContext) -> TranscribeOutput:
        """A recording as text with speakers separated, times, confidence and word timestamps."""
        return self._transcribe(inputs, ctx)

    @operation("voice.summarize", cost=0.6, latency_s=70.0, checks=SUMMARY_CHECKS)
    async def summarize_meeting(self, inputs: SummarizeInput, ctx: ExpertContext) -> SummarizeOutput:
        """A meeting's summary and action items, each quoting its utterance, from a recording or transcript."""
        return await self._summarize(inputs, ctx)

    @operation("voice.command", cost=0.3, latency_s=10.0)
    def hear_command(self, inputs: CommandInput, ctx: ExpertContext) -> CommandOutput:
        """A spoken command in open vocabulary, matched to the nearest allowed phrase or intent template
        (word-level similarity ≥ 0.75) when the task lists them; else what was heard is the request."""
        return self._command(inputs, ctx)


class FasterWhisperVoice(WhisperVoice):
    """Speech to text with faster-whisper (CTranslate2) from a local model folder
    ($AGENTOS_FASTER_WHISPER_MODEL): Whisper's accuracy, several times faster on a CPU."""

    name = "voice-faster-whisper"
    backend = asr.FasterWhisper
    env = asr.FASTER_WHISPER_ENV
