"""Action items from a speaker-attributed transcript: who does what, by when, and the words it came from.

Offline the items are read by rules from the forms meetings use to hand out work: a request to a
named person ("Maria, can you send the budget draft by Friday?"), a promise ("I'll book the room"),
an assignment ("Tom will check the numbers"). A reply that accepts the last request to its speaker
("Sure, I'll do it by Friday") confirms that item instead of making a second one. Every item keeps
the utterance it came from, word for word, so a check (and a reader) can find it in the transcript.

A recogniser such as pocketsphinx hears "maria can you send the budget draft by friday sure i'll do it":
no sentences, no capitals. Such a turn is cut into clauses where a request, a promise or a reply begins,
names are matched against the people in any case (and written as the people are), and each item quotes
its clause, which is still word for word in the turn.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import NamedTuple

from pydantic import BaseModel, Field

_DAYS = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
DUE = re.compile(
    rf"\b(?:by|before|on|until|for)\s+((?:next\s+|this\s+)?(?:{_DAYS}|tomorrow|tonight|noon"
    rf"|(?:the )?end of (?:the|this|next) (?:day|week|month)|next week|the \d{{1,2}}(?:st|nd|rd|th)"
    rf"|(?:january|february|march|april|may|june|july|august|september|october|november|december) \d{{1,2}}))"
    rf"|\b(tomorrow|tonight|today|next week|this week|this (?:morning|afternoon|evening)"
    rf"|next (?:{_DAYS}))\b", re.IGNORECASE)
_ASKS = r"can|could|would|will"
_PROMISES = r"i'll|i will|i am going to|i'm going to|i can"
_REPLIES = r"sure|yes|yeah|ok(?:ay)?|of course|will do|no problem|thanks|thank you"  # where heard replies begin
_PROMISE = re.compile(rf"\b(?:{_PROMISES})\s+(?P<task>[^?.!]+)", re.IGNORECASE)
_ASK = re.compile(r"^(?:(?i:can|could|would|will)\s+you\s+(?:please\s+)?|(?i:please)\s+)(?:also\s+)?(?P<task>[^?.!]+)")
_PRONOUN = re.compile(r"\b(?:it|them|that|this)\b", re.IGNORECASE)
_ACCEPT = re.compile(r"^\s*(?:sure|yes|yeah|ok(?:ay)?|of course|will do|no problem|fine)\b", re.IGNORECASE)
_PUNCTUATION = re.compile(r"[.,!?;:]")
_LINKS = {"to", "with", "for", "from", "by", "about", "of", "at", "on", "and", "or", "than"}
_NOT_AFTER_WH = "".join(rf"(?<!\b{w} )" for w in ("what", "how", "when", "where", "why", "who", "which"))


class _Rules(NamedTuple):
    """The rules that name a person, for one set of people and one form of text."""

    request: re.Pattern[str]
    request_after: re.Pattern[str]
    please_named: re.Pattern[str]
    assign: re.Pattern[str]
    cues: re.Pattern[str]


@functools.lru_cache(maxsize=16)
def _rules(people: frozenset[str], plain: bool) -> _Rules:
    """Names are matched against the people only, as written (`plain`: in any case, as a recogniser hears them);
    unpunctuated text has no comma before a trailing name, only the end of the clause after it."""
    alt = "|".join(sorted(map(re.escape, people), key=len, reverse=True)) or "(?!)"
    alt = f"(?i:{alt})" if plain else alt
    name = rf"\b(?P<name>{alt})\b"
    comma, end = (r"\s+", r"\s*$") if plain else (r",\s*", r"\s*[?.!]")
    return _Rules(
        request=re.compile(rf"^(?i:ok(?:ay)?|so|and|right|great)?[,\s]*{name},?\s+(?i:{_ASKS})\s+you\s+"
                           r"(?i:please\s+)?(?P<task>[^?.!]+)"),
        request_after=re.compile(rf"(?i:{_ASKS})\s+you\s+(?:please\s+)?(?P<task>[^?.!,]+){comma}{name}{end}"),
        please_named=re.compile(rf"^{name},?\s+(?i:please)\s+(?:also\s+)?(?P<task>[^?.!]+)"),
        assign=re.compile(rf"{name}\s+(?i:will|is going to|should)\s+(?P<task>[^?.!]+)"),
        cues=re.compile(rf"\b(?:(?:{_REPLIES})\s+)*(?:{_PROMISES})\b"  # "sure i'll": one clause, a yes
                        rf"|\b(?:{alt}\s+|{_NOT_AFTER_WH})(?:{_ASKS})\s+you(?:\s+please)?\b"
                        rf"|\b{alt}\s+(?:please|will|is going to|should)\b|\b(?:please|{_REPLIES})\b", re.IGNORECASE))


class Utterance(BaseModel):
    speaker: str
    start: float = 0.0
    end: float = 0.0
    text: str


class ActionItem(BaseModel):
    owner: str = Field(description="who does it (a name, or the speaker who promised it)")
    task: str
    due: str | None = Field(None, description="when it is due, as said ('by Friday'), when said")
    quote: str = Field(description="the sentence it came from (a clause, in unpunctuated text), word for word")
    speaker: str = Field(description="who said the quoted utterance")
    at: float = Field(description="when the quoted utterance starts, seconds")
    confirmed_by: str | None = Field(None, description="the reply that accepted it, word for word")


def _due(text: str) -> str | None:
    m = DUE.search(text)
    return m.group(0).strip() if m else None


def _agreed(asked: str | None, reply: str) -> str | None:
    """The due date a yes agrees to: the request's, unless the reply names another ('by Friday' to 'by the end of
    the week'), which is then the one its owner committed to."""
    m = DUE.search(reply)
    if m is None or (asked is not None and asked.lower().endswith((m[1] or m[2]).lower())):
        return asked
    return m.group(0).strip()


def _task(raw: str) -> str:
    """The task without its due date and filler: 'send the budget draft by Friday' → 'send the budget draft'."""
    task = DUE.sub("", raw)
    task = re.sub(r"\b(?:please|for me|for us)\b|^\s*(?:also|then|just)\b", "", task, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", task).strip(" ,;")


def _sentences(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"(?<=[.!?])\s+", text.strip()) if p.strip()]


def _clauses(text: str, cues: re.Pattern[str]) -> list[str]:
    """Unpunctuated text cut before each cue: the recogniser gives no sentences to read one at a time."""
    starts = sorted({0, *(m.start() for m in cues.finditer(text))})
    return [c for a, b in zip(starts, [*starts[1:], len(text)], strict=True) if (c := text[a:b].strip())]


def _addressee(m: re.Match[str] | None, plain: bool) -> re.Match[str] | None:
    """A name after a request names whom it asks; heard without a comma, not after a lone verb or a preposition
    ('could you ask tom', 'could you send it to tom' ask someone else)."""
    if m is None or not plain:
        return m
    words = m["task"].split()
    return m if len(words) >= 2 and words[-1].lower() not in _LINKS else None


def action_items(utterances: list[Utterance], known: Iterable[str] | None = None) -> list[ActionItem]:
    """The action items in the order they were raised, sentence by sentence (clause by clause in unpunctuated
    turns). `known` names the people who may own work (default: the speakers); a word outside it is not taken
    for a person, and an owner is written as `known` writes the name. A request to no one by name goes to
    whoever answers it; a promise or a yes from the owner of a request made in the last two utterances confirms
    that request (with the due date it agrees to); a promise about "it" adds its due date to the speaker's last
    item instead of making a new one."""
    people = frozenset(known or {u.speaker for u in utterances})
    spelled = {p.lower(): p for p in people}
    items: list[ActionItem] = []
    raised_at: dict[int, int] = {}  # id(item) -> index of the utterance that raised it
    for k, u in enumerate(utterances):
        plain = not _PUNCTUATION.search(u.text)
        rules = _rules(people, plain)
        for sentence in _clauses(u.text, rules.cues) if plain else _sentences(u.text):
            owner = task = None
            m = (rules.request.search(sentence) or _addressee(rules.request_after.search(sentence), plain)
                 or rules.please_named.search(sentence) or rules.assign.search(sentence))
            if m:
                owner, task = spelled.get(m["name"].lower(), m["name"]), m["task"]
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
                    last.due = _agreed(last.due, sentence)
                    continue
                if last is not None and vague:  # "I can have it done by Wednesday": more on the same item
                    last.due = last.due or _due(sentence)
                    continue
                if promise:
                    owner, task = u.speaker, promise["task"]
            if plain and task and (due := DUE.search(task)):
                task = task[:due.end()]  # heard run-on: what follows a due date is the next sentence
            if owner is None or task is None or not _task(task):
                continue
            item = ActionItem(owner=owner, task=_task(task), due=_due(sentence), quote=sentence, speaker=u.speaker,
                              at=u.start)
            raised_at[id(item)] = k
            items.append(item)
    return items
