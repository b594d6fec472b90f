"""Action items from a speaker-attributed transcript: who does what, by when, and the words it came from.

Offline the items are read by rules from the forms meetings use to hand out work: a request to a
named person ("Maria, can you send the budget draft by Friday?"), a promise ("I'll book the room"),
an assignment ("Tom will check the numbers"). A reply that accepts the last request to its speaker
("Sure, I'll do it by Friday") confirms that item instead of making a second one. Every item keeps
the utterance it came from, word for word, so a check (and a reader) can find it in the transcript.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

_DAYS = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
DUE = re.compile(
    rf"\b(?:by|before|on|until|for)\s+((?:next\s+|this\s+)?(?:{_DAYS}|tomorrow|tonight|noon"
    rf"|(?:the )?end of (?:the|this|next) (?:day|week|month)|next week|the \d{{1,2}}(?:st|nd|rd|th)"
    rf"|(?:january|february|march|april|may|june|july|august|september|october|november|december) \d{{1,2}}))"
    rf"|\b(tomorrow|tonight|today|next week|this week)\b", re.IGNORECASE)
_REQUEST = re.compile(r"^(?i:ok(?:ay)?|so|and|right|great)?[,\s]*(?P<name>[A-Z][a-z]+),?\s+(?i:can|could|would|will)"
                      r"\s+you\s+(?:please\s+)?(?P<task>[^?.!]+)")
_REQUEST_AFTER = re.compile(r"(?i:can|could|would|will)\s+you\s+(?:please\s+)?(?P<task>[^?.!,]+),\s*"
                            r"(?P<name>[A-Z][a-z]+)\s*[?.!]")
_PROMISE = re.compile(r"\b(?:I'll|I will|I am going to|I'm going to|I can)\s+(?P<task>[^?.!]+)", re.IGNORECASE)
_ASSIGN = re.compile(r"\b(?P<name>[A-Z][a-z]+)\s+(?:will|is going to|should)\s+(?P<task>[^?.!]+)")
_ACCEPT = re.compile(r"^\s*(?:sure|yes|yeah|ok(?:ay)?|of course|will do|no problem|fine)\b", re.IGNORECASE)
_VAGUE = re.compile(r"^(?:do|send|handle|take care of|get)\s+(?:it|that|this)\b", re.IGNORECASE)
_NOT_NAMES = {"I", "We", "You", "They", "He", "She", "It", "That", "This", "There", "Then", "So", "And", "But",
              "Okay", "Ok", "Sure", "Yes", "Great", "Right", "Well", "Thanks", "Also", "Next", "Let", "Who", "What"}


class Utterance(BaseModel):
    speaker: str
    start: float = 0.0
    end: float = 0.0
    text: str


class ActionItem(BaseModel):
    owner: str = Field(description="who does it (a name, or the speaker who promised it)")
    task: str
    due: str | None = Field(None, description="when it is due, as said ('by Friday'), when said")
    quote: str = Field(description="the utterance it came from, word for word")
    speaker: str = Field(description="who said the quoted utterance")
    at: float = Field(description="when the quoted utterance starts, seconds")
    confirmed_by: str | None = Field(None, description="the reply that accepted it, word for word")


def _due(text: str) -> str | None:
    m = DUE.search(text)
    return m.group(0).strip() if m else None


def _task(raw: str) -> str:
    """The task without its due date and filler: 'send the budget draft by Friday' → 'send the budget draft'."""
    task = DUE.sub("", raw)
    task = re.sub(r"\b(?:please|for me|for us)\b|^\s*(?:also|then|just)\b", "", task, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", task).strip(" ,;")


def _names(utterances: list[Utterance]) -> set[str]:
    return {u.speaker for u in utterances}


def action_items(utterances: list[Utterance], known: set[str] | None = None) -> list[ActionItem]:
    """The action items in the order they were raised. `known` names the people who may own work (default: the
    speakers); a capitalised word outside it is not taken for a person."""
    people = known or _names(utterances)
    items: list[ActionItem] = []
    for u in utterances:
        text = u.text.strip()
        owner = task = None
        m = _REQUEST.search(text) or _REQUEST_AFTER.search(text)
        if m and m["name"] in people and m["name"] not in _NOT_NAMES:
            owner, task = m["name"], m["task"]
        if owner is None and (m := _ASSIGN.search(text)) and m["name"] in people and m["name"] not in _NOT_NAMES:
            owner, task = m["name"], m["task"]
        if owner is None and (m := _PROMISE.search(text)):
            owner, task = u.speaker, m["task"]
            last = next((i for i in reversed(items) if i.owner == u.speaker), None)
            if last is not None and last.confirmed_by is None and (_ACCEPT.search(text) or _VAGUE.match(m["task"])):
                last.confirmed_by = text
                last.due = last.due or _due(text)
                continue
        if owner is None or task is None or not _task(task):
            continue
        items.append(ActionItem(owner=owner, task=_task(task), due=_due(text), quote=text, speaker=u.speaker,
                                at=u.start))
    return items
