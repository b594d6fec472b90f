"""The voice checks: they re-read the transcript file, not the expert's word."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentos.checks import NodeOutcome, OutputCheck
from experts.voice.models import SpokenSegment, SummarizeOutput, TranscribeOutput


class TranscriptHolds(OutputCheck):
    """transcript.json is the output itself; segments run forward in time inside the audio, each with a start
    before its end; with speakers separated, each segment names one and they number as many as reported."""

    name = "voice.transcript"
    what = "transcript check(s)"
    kind = TranscribeOutput

    def inspect(self, out: Any, outcome: NodeOutcome) -> tuple[int, list[str]]:
        problems = []
        try:
            saved = TranscribeOutput.model_validate_json(Path(out.transcript).read_text(encoding="utf-8"))
            if saved != out:
                problems.append("transcript.json differs from the node's output")
        except (OSError, ValueError) as exc:
            problems.append(f"transcript.json cannot be read back: {str(exc).splitlines()[0]}")
        last = 0.0
        for i, s in enumerate(out.segments):
            if not 0 <= s.start < s.end <= out.duration + 0.05:
                problems.append(f"segment {i} runs {s.start:.2f}–{s.end:.2f} s in {out.duration:.2f} s of audio")
            if s.start < last - 0.05:
                problems.append(f"segment {i} starts at {s.start:.2f} s, before segment {i - 1} does")
            last = s.start
        if out.speakers:
            named = {s.speaker for s in out.segments}
            if "" in named:
                problems.append("a segment has no speaker although speakers were separated")
            if len(named - {""}) > out.speakers:
                problems.append(f"{len(named)} speaker names for {out.speakers} speaker(s) found")
        return 2 + len(out.segments), problems


def _said_by(segments: list[SpokenSegment], speaker: str, words: str, at: float | None = None) -> bool:
    return any(s.speaker == speaker and words in s.text and (at is None or abs(s.start - at) < 0.01)
               for s in segments)


class QuotesHold(OutputCheck):
    """Every action item quotes, word for word, an utterance its speaker said at the time it gives (and so does
    the reply that confirmed it); every key point is a sentence its speaker said."""

    name = "voice.quotes"
    what = "quote(s) found in the transcript"
    kind = SummarizeOutput

    def inspect(self, out: Any, outcome: NodeOutcome) -> tuple[int, list[str]]:
        try:
            heard = TranscribeOutput.model_validate_json(Path(out.transcript).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return 1, [f"the transcript {out.transcript} cannot be read: {str(exc).splitlines()[0]}"]
        segments = [s.model_copy(update={"speaker": s.speaker or "S1"}) for s in heard.segments]
        problems = [f"action item {i.owner}: {i.task!r} quotes {i.quote!r}, which {i.speaker} did not say at "
                    f"{i.at:.1f} s" for i in out.action_items if not _said_by(segments, i.speaker, i.quote, i.at)]
        problems += [f"action item {i.owner}: {i.task!r}: its confirmation {i.confirmed_by!r} is not in the "
                     "transcript" for i in out.action_items
                     if i.confirmed_by and not any(i.confirmed_by in s.text for s in segments)]
        problems += [f"key point {p.text!r} is not something {p.speaker} said" for p in out.key_points
                     if not _said_by(segments, p.speaker, p.text)]
        return len(out.action_items) + len(out.key_points) or 1, problems


TRANSCRIPT_CHECKS = [TranscriptHolds()]
SUMMARY_CHECKS = [QuotesHold()]
