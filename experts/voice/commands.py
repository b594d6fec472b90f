"""A command grammar: the phrases a user may say, plain or as intents with slots, and what each one means.

Command-and-control speech works when the recogniser knows what may be said. A task gives plain
phrases ("cancel that") or intents whose templates name slots ("open the project {project} and run
{script}", with the values each slot takes). Every template is expanded into the phrases it stands
for, and each phrase remembers its intent and slot values, so a phrase heard (exactly, from a
grammar-constrained recogniser; or nearly, from an open-vocabulary one) reads straight back as an
intent with its slots. A slot's value may differ from its spoken form ({"hello": "main.py"}).
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Mapping

from pydantic import BaseModel, Field

from agentos.errors import ExpertError
from experts.voice.asr import plain_words

MAX_PHRASES = 5000  # the grammar is compiled as alternatives; past this a template set is surely a mistake
MIN_SIMILARITY = 0.75  # open-vocabulary text is taken for a phrase when this close (word-level ratio)
_SLOT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

SlotValues = list[str] | dict[str, str]  # spoken forms (each its own value), or spoken form -> value


class Meaning(BaseModel):
    """What one phrase means: the phrase as the user would read it, its intent and slot values."""

    phrase: str
    intent: str = Field("", description="'' for a plain phrase")
    slots: dict[str, str] = Field(default_factory=dict)


class Grammar:
    """Every phrase that may be said, keyed by its normalised words, with its meaning."""

    def __init__(self, phrases: list[str], intents: Mapping[str, list[str]],
                 slots: Mapping[str, SlotValues]) -> None:
        self.meanings: dict[str, Meaning] = {}
        for phrase in phrases:
            self._add(Meaning(phrase=phrase))
        values = {name: dict(zip(v, v, strict=True)) if isinstance(v, list) else dict(v) for name, v in slots.items()}
        for intent, templates in intents.items():
            if not templates:
                raise ExpertError(f"intent `{intent}` has no templates: give the phrases that ask for it")
            for template in templates:
                self._expand(intent, template, values)

    @property
    def phrases(self) -> list[str]:
        """The phrases as written, one per meaning: what a grammar-constrained recogniser is given."""
        return [m.phrase for m in self.meanings.values()]

    def _add(self, meaning: Meaning) -> None:
        key = " ".join(plain_words(meaning.phrase))
        if not key:
            raise ExpertError(f"command phrase {meaning.phrase!r} has no words")
        old = self.meanings.get(key)
        if old is not None and (old.intent, old.slots) != (meaning.intent, meaning.slots):
            raise ExpertError(f"the phrase {meaning.phrase!r} is ambiguous: it means both "
                              f"{_describe(old)} and {_describe(meaning)}")
        self.meanings[key] = meaning
        if len(self.meanings) > MAX_PHRASES:
            raise ExpertError(f"the command grammar expands to more than {MAX_PHRASES} phrases; use fewer slot "
                              "values or templates")

    def _expand(self, intent: str, template: str, values: dict[str, dict[str, str]]) -> None:
        names = list(dict.fromkeys(_SLOT.findall(template)))  # a slot named twice takes one value
        missing = sorted({n for n in names if n not in values})
        if missing:
            raise ExpertError(f"intent `{intent}` template {template!r} uses slot(s) {', '.join(missing)} that "
                              f"`slots` does not define (defined: {', '.join(sorted(values)) or 'none'})")
        for choice in itertools.product(*(list(values[n].items()) for n in names)):
            spoken = dict(zip(names, (s for s, _ in choice), strict=True))
            phrase = _SLOT.sub(lambda m, said=spoken: said[m.group(1)], template)
            self._add(Meaning(phrase=phrase, intent=intent, slots={n: v for n, (_, v) in zip(names, choice,
                                                                                            strict=True)}))

    def exact(self, heard: str) -> Meaning | None:
        """The meaning of a phrase heard word for word (a grammar-constrained recogniser's answer)."""
        return self.meanings.get(" ".join(plain_words(heard)))

    def nearest(self, heard: str) -> tuple[Meaning | None, float]:
        """The phrase closest to free text (word-level similarity), and how close; None under MIN_SIMILARITY."""
        words = plain_words(heard)
        if not words:
            return None, 0.0
        scored = ((difflib.SequenceMatcher(None, words, key.split(), autojunk=False).ratio(), key)
                  for key in self.meanings)
        best, key = max(scored)
        return (self.meanings[key] if best >= MIN_SIMILARITY else None), round(best, 4)


def _describe(m: Meaning) -> str:
    return f"intent `{m.intent}` with {m.slots}" if m.intent else "a plain phrase"


def understand(grammar: Grammar, heard: str, *, exact: bool) -> tuple[Meaning | None, float | None]:
    """The meaning of what was heard: looked up word for word when the recogniser could only answer a
    phrase of the grammar (`exact`), else the nearest phrase and its similarity."""
    if exact:
        return grammar.exact(heard), None
    return grammar.nearest(heard)
