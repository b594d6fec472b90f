"""A check on the reply's text, character by character, on top of a grammar constraint.

Some rules depend on what the reply already holds, which no JSON Schema or context-free grammar
can say (in a task graph: a `${node.field}` reference must name a node written earlier). A
`TextGuard` states such a rule over text; `GuardedConstraint` joins it with the grammar's token
mask, so the engine only samples tokens both allow. The guards themselves live with the callers
that know the rules (`agentos.planning.guard` for task graphs): this module knows none.
"""

from __future__ import annotations

from typing import Protocol

import torch

from host_model.constrained import TokenConstraint


class TextGuard(Protocol):
    """A rule on the reply's text, followed as the reply grows."""

    trigger_chars: str  # a token holding none of these cannot break the rule, unless checks_every_token()

    def checks_every_token(self) -> bool:
        """At this point every token may break the rule (not only those holding a trigger character)."""
        ...

    def accepts(self, text: str) -> bool:
        """Appending `text` keeps the rule (and a sound continuation possible)."""
        ...

    def feed(self, text: str) -> None:
        """Advance over text the engine emitted."""
        ...


_risky_cache: dict[tuple[int, str], tuple[list[str], torch.Tensor]] = {}


def _risky_tokens(texts: list[str], chars: str) -> torch.Tensor:
    """Which tokens hold one of `chars`; cached per token list (one per tokenizer, kept alive here)."""
    key = (id(texts), chars)
    if key not in _risky_cache or _risky_cache[key][0] is not texts:
        _risky_cache[key] = (texts, torch.tensor([any(c in t for c in chars) for t in texts], dtype=torch.bool))
    return _risky_cache[key][1]


class GuardedConstraint:
    """A grammar constraint and a `TextGuard` together: a token must pass both; implements `TokenConstraint`.

    Only tokens holding one of the guard's trigger characters are shown to it (every token the
    grammar allows, while it says `checks_every_token`), so a step costs a few dozen short checks.
    """

    def __init__(self, base: TokenConstraint, guard: TextGuard, token_texts: list[str]) -> None:
        self.base, self.guard, self.texts = base, guard, token_texts
        self._risky = _risky_tokens(token_texts, guard.trigger_chars)

    def allowed_mask(self, vocab_size: int) -> torch.Tensor | None:
        mask = self.base.allowed_mask(vocab_size)
        if mask is None:
            mask = torch.ones(vocab_size, dtype=torch.bool)
        known = min(vocab_size, len(self.texts))
        candidates = mask.clone()
        candidates[known:] = False
        if not self.guard.checks_every_token():
            candidates[:known] &= self._risky[:known]
        for token in candidates.nonzero().flatten().tolist():
            if not self.guard.accepts(self.texts[token]):
                mask[token] = False
        return mask

    def advance(self, token_id: int) -> None:
        self.base.advance(token_id)
        if token_id < len(self.texts):
            self.guard.feed(self.texts[token_id])

    def is_finished(self) -> bool:
        return self.base.is_finished()
