"""A meeting's summary from its speaker-attributed transcript: key points, talk time, action items.

Offline the summary is extractive: the sentences that carry the meeting's most repeated content
words, kept in the order they were said and attributed to their speakers, so each point can be
traced to one utterance. With a chat host, the host writes the summary and the action items
instead, and each item must still quote an utterance of the transcript word for word (checked).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from agentos.errors import ExpertError
from experts.voice.actions import ActionItem, Utterance, action_items

STOPWORDS = frozenset("""
a about after again all also am an and any are as at be because been before being both but by can could did do does
doing down during each few for from further had has have having he her here hers him his how i if in into is it its
itself just let lets me more most my no nor not now of off ok okay on once only or other our ours out over own same she
should so some such than that the their them then there these they this those through to too under until up us very
was we were what when where which while who whom why will with would yes you your yours sure right well good morning
everyone thanks thank great think really going get got one two three
""".split())  # noqa: SIM905 (a word list reads better as text)
KEY_POINTS = 5


class KeyPoint(BaseModel):
    speaker: str
    text: str = Field(description="the sentence, word for word")
    at: float


class SpeakerShare(BaseModel):
    speaker: str
    turns: int
    seconds: float


class MeetingSummary(BaseModel):
    summary: str
    key_points: list[KeyPoint]
    action_items: list[ActionItem]
    speakers: list[SpeakerShare]
    written_by: str = Field(description="'rules' (offline, extractive) or the host model's name")


def _sentences(u: Utterance) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", u.text.strip()) if s.strip()]


def _content(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z][a-z'-]+", text.lower()) if w not in STOPWORDS and len(w) > 2]


def key_points(utterances: list[Utterance], limit: int = KEY_POINTS) -> list[KeyPoint]:
    """The `limit` sentences richest in the meeting's recurring content words, in the order they were said."""
    counts = Counter(w for u in utterances for w in _content(u.text))
    scored = []
    for i, u in enumerate(utterances):
        for j, sentence in enumerate(_sentences(u)):
            words = _content(sentence)
            if len(words) >= 2:
                scored.append((sum(counts[w] for w in set(words)) / (1 + len(words)) ** 0.5, (i, j), u, sentence))
    chosen = sorted(sorted(scored, key=lambda s: -s[0])[:limit], key=lambda s: s[1])
    return [KeyPoint(speaker=u.speaker, text=sentence, at=u.start) for _, _, u, sentence in chosen]


def shares(utterances: list[Utterance]) -> list[SpeakerShare]:
    out: dict[str, SpeakerShare] = {}
    for u in utterances:
        s = out.setdefault(u.speaker, SpeakerShare(speaker=u.speaker, turns=0, seconds=0.0))
        s.turns += 1
        s.seconds = round(s.seconds + max(0.0, u.end - u.start), 2)
    return sorted(out.values(), key=lambda s: -s.seconds)


def _prose(points: list[KeyPoint], items: list[ActionItem], people: list[SpeakerShare]) -> str:
    who = ", ".join(p.speaker for p in people)
    lines = [f"{len(people)} speaker(s) ({who})."]
    lines += [f"{p.speaker}: {p.text}" for p in points]
    if items:
        lines.append("Action items: " + "; ".join(f"{i.owner} to {i.task}" + (f" ({i.due})" if i.due else "")
                                                  for i in items) + ".")
    return "\n".join(lines)


def summarize(utterances: list[Utterance], names: Iterable[str] | None = None) -> MeetingSummary:
    """The offline summary: extractive key points, talk time per speaker, rule-read action items. `names`: the
    people who may own work, as given to voice.transcribe (default: the speakers), so a name heard in lowercase
    is still found and written as given."""
    if not utterances:
        raise ExpertError("there is nothing to summarise: the transcript has no utterances")
    points, items, people = key_points(utterances), action_items(utterances, names), shares(utterances)
    return MeetingSummary(summary=_prose(points, items, people), key_points=points, action_items=items,
                          speakers=people, written_by="rules")


class _HostSummary(BaseModel):
    summary: str
    action_items: list[ActionItem]


HOST_SYSTEM = ("You summarise meetings. Reply with JSON: a short `summary` and the `action_items` (owner, task, "
               "due when said, and `quote`: the utterance the item comes from, copied word for word from the "
               "transcript, with its `speaker` and its start time `at`).")


async def summarize_with_host(utterances: list[Utterance], host: Any, model_name: str) -> MeetingSummary:
    """The host's summary and action items; key points and talk time stay extractive (they are measured)."""
    transcript = "\n".join(f"[{u.start:.1f}s] {u.speaker}: {u.text}" for u in utterances)
    reply = await host.chat([{"role": "system", "content": HOST_SYSTEM},
                             {"role": "user", "content": f"The transcript:\n{transcript}"}],
                            json_schema=_HostSummary.model_json_schema(), schema_name="MeetingSummary")
    try:
        got = _HostSummary.model_validate(json.loads(reply.text.strip().removeprefix("```json").strip("`")))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise ExpertError(f"the host's summary is not the JSON asked for: {str(exc).splitlines()[0]}") from None
    return MeetingSummary(summary=got.summary, key_points=key_points(utterances), action_items=got.action_items,
                          speakers=shares(utterances), written_by=model_name)
