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
    rf"|\b(tomorrow|tonight|today|next week|this week|this (?:morning|afternoon|evening)"
    rf"|next (?:{_DAYS}))\b", re.IGNORECASE)
_REQUEST = re.compile(r"^(?i:ok(?:ay)?|so|and|right|great)?[,\s]*(?P<name>[A-Z][a-z]+),?\s+(?i:can|could|would|will)"
                      r"\s+you\s+(?:please\s+)?(?P<task>[^?.!]+)")
_REQUEST_AFTER = re.compile(r"(?i:can|could|would|will)\s+you\s+(?:please\s+)?(?P<task>[^?.!,]+),\s*"
                            r"(?P<name>[A-Z][a-z]+)\s*[?.!]")
_PROMISE = re.compile(r"\b(?:I'll|I will|I am going to|I'm going to|I can)\s+(?P<task>[^?.!]+)", re.IGNORECASE)
_PLEASE_NAMED = re.compile(r"^(?P<name>[A-Z][a-z]+),\s+please\s+(?:also\s+)?(?P<task>[^?.!]+)")
_ASK = re.compile(r"^(?:(?i:can|could|would|will)\s+you\s+(?:please\s+)?|(?i:please)\s+)(?:also\s+)?(?P<task>[^?.!]+)")
_ASSIGN = re.compile(r"\b(?P<name>[A-Z][a-z]+)\s+(?:will|is going to|should)\s+(?P<task>[^?.!]+)")
_PRONOUN = re.compile(r"\b(?:it|them|that|this)\b", re.IGNORECASE)
_ACCEPT = re.compile(r"^\s*(?:sure|yes|yeah|ok(?:ay)?|of course|will do|no problem|fine)\b", re.IGNORECASE)
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


def _sentences(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"(?<=[.!?])\s+", text.strip()) if p.strip()]


def _named(m: re.Match[str] | None, people: set[str]) -> bool:
    return bool(m) and m["name"] in people and m["name"] not in _NOT_NAMES  # type: ignore[index]


def action_items(utterances: list[Utterance], known: set[str] | None = None) -> list[ActionItem]:
    """The action items in the order they were raised, sentence by sentence. `known` names the people who may
    own work (default: the speakers); a capitalised word outside it is not taken for a person. A request to
    no one by name goes to whoever answers it; a promise or a yes from the owner of a request made in the
    last two utterances confirms that request; a promise about "it" adds its due date to the speaker's
    last item instead of making a new one."""
    people = known or {u.speaker for u in utterances}
    items: list[ActionItem] = []
    raised_at: dict[int, int] = {}  # id(item) -> index of the utterance that raised it
    for k, u in enumerate(utterances):
        for sentence in _sentences(u.text):
            owner = task = None
            m = _REQUEST.search(sentence) or _REQUEST_AFTER.search(sentence) or _PLEASE_NAMED.search(sentence)
            if _named(m, people):
                owner, task = m["name"], m["task"]  # type: ignore[index]
            elif (m := _ASSIGN.search(sentence)) and _named(m, people):
                owner, task = m["name"], m["task"]
            elif m := _ASK.search(sentence):
                answer = next((v for v in utterances[k + 1:k + 2] if v.speaker != u.speaker), None)
                owner, task = (answer.speaker, m["task"]) if answer else (None, None)
            else:
                promise = _PROMISE.search(sentence)
                last = next((i for i in reversed(items) if i.owner == u.speaker and k - raised_at[id(i)] <= 2
                             and (i.confirmed_by is None or i.speaker == u.speaker)), None)
                vague = bool(promise and _PRONOUN.search(promise["task"]))
                if last is not None and last.speaker != u.speaker and (promise or _ACCEPT.search(sentence)):
                    last.confirmed_by = sentence  # a yes to a request
                    last.due = last.due or _due(sentence)
                    continue
                if last is not None and vague:  # "I can have it done by Wednesday": more on the same item
                    last.due = last.due or _due(sentence)
                    continue
                if promise:
                    owner, task = u.speaker, promise["task"]
            if owner is None or task is None or not _task(task):
                continue
            item = ActionItem(owner=owner, task=_task(task), due=_due(sentence), quote=sentence, speaker=u.speaker,
                              at=u.start)
            raised_at[id(item)] = k
            items.append(item)
    return items
