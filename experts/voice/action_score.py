"""How well the rule-read action items match a meeting's reference ones, on its text as written and as a
recogniser hears it (lowercase, no punctuation), so a benchmark can track both.

An item found counts when its owner is the reference owner and its task shares at least half its words with
the reference task (word F1, function words left out); its due date counts when it ends with the reference
one ("by Friday" for "Friday") or both are absent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from experts.voice.actions import ActionItem, Utterance, action_items

TASK_OVERLAP = 0.5
_FUNCTION_WORDS = frozenset(["a", "an", "the", "to", "for", "of", "with", "on", "in", "at", "and", "or"])  # not "it"


class ActionScore(BaseModel):
    """Counts, so scores over several meetings add up before the ratios are taken."""

    expected: int = 0
    found: int = 0
    matched: int = 0
    dues_right: int = 0

    def __add__(self, other: ActionScore) -> ActionScore:
        return ActionScore(expected=self.expected + other.expected, found=self.found + other.found,
                           matched=self.matched + other.matched, dues_right=self.dues_right + other.dues_right)

    @property
    def precision(self) -> float:
        return self.matched / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.expected if self.expected else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def due_accuracy(self) -> float:
        """Of the items matched, how many carry the reference due date."""
        return self.dues_right / self.matched if self.matched else 1.0


def plain(text: str) -> str:
    """The recogniser's form of a text: lowercase words, no punctuation; pocketsphinx's dictionary keeps the
    apostrophe inside a word ("i'll"), so this does too."""
    return " ".join(re.findall(r"[a-z0-9]+(?:'[a-z]+)*", text.lower()))


def _words(task: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9']+", task.lower()) if w not in _FUNCTION_WORDS}


def task_overlap(found: str, expected: str) -> float:
    """Word F1 of two task phrasings: 'book the room' against 'book the meeting room for the client demo'."""
    a, b = _words(found), _words(expected)
    common = len(a & b)
    return 2 * common / (len(a) + len(b)) if common else 0.0


def _due_right(found: str | None, expected: str | None) -> bool:
    if expected is None or found is None:
        return found is expected
    return found.lower().endswith(expected.lower())


def score_items(found: Sequence[ActionItem], expected: Sequence[Mapping[str, Any]]) -> ActionScore:
    """Each reference item matched to at most one item found: the same owner, the task overlapping most."""
    left = list(found)
    score = ActionScore(expected=len(expected), found=len(found))
    for ref in expected:
        same_owner = [i for i in left if i.owner.casefold() == ref["owner"].casefold()]
        best = max(same_owner, key=lambda i: task_overlap(i.task, ref["task"]), default=None)
        if best is None or task_overlap(best.task, ref["task"]) < TASK_OVERLAP:
            continue
        left.remove(best)
        score.matched += 1
        score.dues_right += _due_right(best.due, ref.get("due"))
    return score


def reference_meeting(path: Path, heard: bool = False) -> tuple[list[Utterance], list[str], list[dict[str, Any]]]:
    """A committed meeting's turns (as the recogniser would give them when `heard`), its speakers' names and its
    reference action items; a meeting without turn texts has no utterances."""
    ref = json.loads(Path(path).read_text(encoding="utf-8"))
    said = [Utterance(speaker=t["speaker"], start=t["start"], end=t["end"], text=plain(t["text"]) if heard else
                      t["text"]) for t in ref["turns"] if t.get("text")]
    return said, [s["name"] for s in ref["speakers"]], ref.get("action_items", [])


def score_meeting(path: Path, heard: bool = False) -> ActionScore:
    """The rules' action items on one committed meeting against its reference (`heard`: in recogniser form)."""
    said, names, expected = reference_meeting(path, heard)
    return score_items(action_items(said, names), expected)


def score_meetings(paths: Iterable[Path], heard: bool = False) -> ActionScore:
    """`score_meeting` summed over several meetings (micro-averaged: every item weighs the same)."""
    return sum((score_meeting(p, heard) for p in paths), ActionScore())
