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
    """A rule on the reply's text, followed as the reply grows.

    It sees whole characters only: a character split across tokens reaches `feed` once complete, and
    until then `accepts_partial` (when the guard has it) says whether its first bytes can still be part
    of a sound reply."""

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


_risky_cache: dict[tuple[int, str], tuple[list[bytes], torch.Tensor]] = {}


def _risky_tokens(tokens: list[bytes], chars: str) -> torch.Tensor:
    """Which tokens hold one of `chars`; cached per token list (one per tokenizer, kept alive here)."""
    key = (id(tokens), chars)
    if key not in _risky_cache or _risky_cache[key][0] is not tokens:
        marks = [c.encode() for c in chars]
        _risky_cache[key] = (tokens, torch.tensor([any(m in t for m in marks) for t in tokens], dtype=torch.bool))
    return _risky_cache[key][1]


def split_utf8(data: bytes) -> tuple[str, bytes]:
    """`data` as (its complete characters, decoded; the first bytes of a character still unfinished)."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 == 0x80:  # a continuation byte: its character starts further back
            continue
        need = 1 if byte < 0xC0 else 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
        if need > back:
            return data[:-back].decode("utf-8", errors="replace"), data[-back:]
        break
    return data.decode("utf-8", errors="replace"), b""


class GuardedConstraint:
    """A grammar constraint and a `TextGuard` together: a token must pass both; implements `TokenConstraint`.

    Only tokens holding one of the guard's trigger characters are shown to it (every token the
    grammar allows, while it says `checks_every_token`), so a step costs a few dozen short checks.
    Tokens are bytes: the first bytes of a character split across tokens are held back until the
    character is complete, so the guard never sees half a character.
    """

    def __init__(self, base: TokenConstraint, guard: TextGuard, tokens: list[bytes]) -> None:
        self.base, self.guard, self.tokens = base, guard, tokens
        self._risky = _risky_tokens(tokens, guard.trigger_chars)
        self._pending = b""  # the first bytes of an unfinished character, not yet fed to the guard
        self._accepts_partial = getattr(guard, "accepts_partial", None)  # optional in the protocol

    def allowed_mask(self, vocab_size: int) -> torch.Tensor | None:
        mask = self.base.allowed_mask(vocab_size)
        if mask is None:
            mask = torch.ones(vocab_size, dtype=torch.bool)
        known = min(vocab_size, len(self.tokens))
        candidates = mask.clone()
        candidates[known:] = False
        if not self.guard.checks_every_token() and not self._pending:
            candidates[:known] &= self._risky[:known]
        for token in candidates.nonzero().flatten().tolist():
            if not self._accepts(self.tokens[token]):
                mask[token] = False
        return mask

    def _accepts(self, token: bytes) -> bool:
        text, partial = split_utf8(self._pending + token)
        if not self.guard.accepts(text):
            return False
        return not partial or self._accepts_partial is None or bool(self._accepts_partial(text, partial))

    def advance(self, token_id: int) -> None:
        self.base.advance(token_id)
        if token_id < len(self.tokens):
            text, self._pending = split_utf8(self._pending + self.tokens[token_id])
            if text:
                self.guard.feed(text)

    def is_finished(self) -> bool:
        return self.base.is_finished()
