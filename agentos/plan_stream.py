"""Reading a plan while the host is still writing it: each node object the moment its `}` arrives.

A streamed plan `{"nodes": [{...}, {...}]}` is scanned character by character, tracking strings,
escapes and nesting depth, so a brace inside a string never closes a node. Only a reply that
starts (after whitespace) with `{"nodes": [` is scanned; anything else (a refusal, prose, a code
fence) yields nothing early and is read whole at the end, as a reply that was not streamed.
"""

from __future__ import annotations

import json
from typing import Any

_HEAD = '{"nodes":['
_GAPS = frozenset({0, 1, 8, 9})  # positions in _HEAD that JSON whitespace may precede
_SPACE = frozenset(" \t\n\r")


class NodeScanner:
    """Feed it text deltas; it returns each complete node object as soon as its closing brace is seen.

    `text` is everything fed so far: once the reply ends, that is what the planner validates whole.
    """

    def __init__(self) -> None:
        self.text = ""
        self._state = "head"  # head -> items -> (node <-> items) -> done; "off" once the shape is unexpected
        self._head = 0  # characters of _HEAD matched
        self._start = 0  # where the current node's `{` is in `text`
        self._depth = 0
        self._in_string = False
        self._escaped = False

    @property
    def scanning(self) -> bool:
        """False once the reply is known not to be a `{"nodes": [...]}` object the scanner can follow."""
        return self._state != "off"

    def feed(self, delta: str) -> list[Any]:
        """Take the next piece of the reply; return the nodes it completed, in order."""
        base = len(self.text)
        self.text += delta
        if self._state in ("off", "done"):
            return []
        nodes: list[Any] = []
        for i, ch in enumerate(delta, base):
            node = self._step(i, ch)
            if node is not None:
                nodes.append(node)
            if self._state in ("off", "done"):
                break
        return nodes

    def _step(self, i: int, ch: str) -> Any:
        if self._state == "head":
            self._match_head(ch)
        elif self._state == "items":
            self._between_items(i, ch)
        else:
            return self._in_node(i, ch)
        return None

    def _match_head(self, ch: str) -> None:
        if ch in _SPACE and self._head in _GAPS:
            return
        if ch != _HEAD[self._head]:
            self._state = "off"
            return
        self._head += 1
        if self._head == len(_HEAD):
            self._state = "items"

    def _between_items(self, i: int, ch: str) -> None:
        if ch in _SPACE or ch == ",":
            return
        if ch == "]":
            self._state = "done"
        elif ch == "{":
            self._state, self._start, self._depth = "node", i, 1
        else:  # not an object: leave it to the whole-reply reading
            self._state = "off"

    def _in_node(self, i: int, ch: str) -> Any:
        if self._in_string:
            if self._escaped:
                self._escaped = False
            elif ch == "\\":
                self._escaped = True
            elif ch == '"':
                self._in_string = False
            return None
        if ch == '"':
            self._in_string = True
        elif ch in "{[":
            self._depth += 1
        elif ch in "}]":
            self._depth -= 1
            if self._depth == 0:
                return self._close(i)
        return None

    def _close(self, i: int) -> Any:
        self._state = "items"
        try:
            node = json.loads(self.text[self._start:i + 1])
        except json.JSONDecodeError:
            node = None
        if not isinstance(node, dict):
            self._state = "off"
            return None
        return node
