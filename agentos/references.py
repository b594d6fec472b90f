"""`${node_id.field}` references inside node inputs: find them, check them, substitute them.

A string that is exactly one reference takes the referenced value as it is (a list stays a
list); a reference inside a longer string is formatted into it (strings as they are, anything
else as JSON). `$${` writes a literal `${`. `${inputs.name}` refers to the task file's `inputs`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

# `$${` is an escape; `${...}` a reference. One pattern, so an escape is never read as a reference.
_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}")
SEGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*|\d+")
_UNCLOSED = re.compile(r"(?<!\$)\$\{[^}]*$")

INPUTS = "inputs"

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Reference:
    """One parsed reference: the node (or `inputs`) and the field path after it."""

    source: str
    path: tuple[str, ...]
    text: str  # as written, for messages

    @property
    def field(self) -> str | None:
        return self.path[0] if self.path else None


class ReferenceSyntaxError(ValueError):
    pass


@functools.lru_cache(maxsize=8192)
def parse_reference(body: str) -> Reference:
    """`load.documents.0.text` -> Reference("load", ("documents", "0", "text"))."""
    parts = body.strip().split(".")
    if len(parts) < 2 or not all(SEGMENT.fullmatch(p) for p in parts):
        raise ReferenceSyntaxError(
            f"`${{{body}}}` is not a reference; write `${{node_id.field}}` or `${{inputs.name}}`")
    return Reference(parts[0], tuple(parts[1:]), "${" + body.strip() + "}")


def iter_strings(value: Any, path: PathKey = ()) -> Iterator[tuple[PathKey, str]]:
    """Yield (path within value, text) for every string nested in value."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from iter_strings(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from iter_strings(v, (*path, i))


def iter_references(value: Any, path: PathKey = ()) -> Iterator[tuple[PathKey, str]]:
    """Yield (path within value, reference body) for every `${...}` in nested strings."""
    for where, text in iter_strings(value, path):
        for m in _TOKEN.finditer(text):
            if m.group(1) is not None:
                yield where, m.group(1)


def unclosed_references(value: Any, path: PathKey = ()) -> Iterator[PathKey]:
    """Paths of strings with a `${` that never closes (a typo that would otherwise pass as text)."""
    for where, text in iter_strings(value, path):
        if _UNCLOSED.search(_TOKEN.sub("", text)):
            yield where


def lookup(root: Any, ref: Reference) -> Any:
    """Follow ref.path through nested mappings, lists and pydantic models; KeyError names the missing step."""
    cur = root
    for step in ref.path:
        if isinstance(cur, Mapping):
            if step not in cur:
                raise KeyError(f"{ref.text}: no field `{step}` (has: {', '.join(map(str, cur)) or 'none'})")
            cur = cur[step]
        elif isinstance(cur, list) and step.isdigit():
            idx = int(step)
            if idx >= len(cur):
                raise KeyError(f"{ref.text}: index {idx} out of range (length {len(cur)})")
            cur = cur[idx]
        elif isinstance(cur, BaseModel) and step in type(cur).model_fields:
            cur = getattr(cur, step)
        else:
            raise KeyError(f"{ref.text}: cannot take `{step}` of a {type(cur).__name__}")
    return cur


def substitute(value: Any, resolve: Callable[[Reference], Any]) -> Any:
    """Replace references in value using resolve(Reference) -> Any."""
    if isinstance(value, str):
        if "${" not in value:
            return value
        whole = _TOKEN.fullmatch(value)
        if whole and whole.group(1) is not None:
            return resolve(parse_reference(whole.group(1)))

        def fmt(m: re.Match[str]) -> str:
            if m.group(1) is None:
                return "${"
            got = resolve(parse_reference(m.group(1)))
            return got if isinstance(got, str) else json.dumps(got, default=str)

        return _TOKEN.sub(fmt, value)
    if isinstance(value, Mapping):
        return {k: substitute(v, resolve) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, resolve) for v in value]
    return value


def is_whole_reference(value: Any) -> bool:
    """A string that is exactly one `${...}`: it takes the referenced value as it is."""
    if not isinstance(value, str):
        return False
    m = _TOKEN.fullmatch(value)
    return m is not None and m.group(1) is not None


def has_reference(value: Any) -> bool:
    return next(iter_references(value), None) is not None
