"""Task-graph references checked while a plan is decoded, on top of its JSON Schema.

A JSON Schema cannot say "`${summary.text}` must name a node written earlier whose capability
outputs `text`", nor "ids are unique": that depends on what the reply already holds. Small
planners get exactly this wrong (the first step3p5-mini wrote 11% of its plans with a reference
to a node that did not exist, a field the node lacks, or a repeated id). `PlanGuard` follows the
reply character by character and refuses any text that would:

- repeat a node id (or use `inputs`, which names the task's inputs);
- open a `${...}` reference to anything but an earlier node and one of its capability's outputs,
  or a task input (`${inputs.NAME}`);
- list in `after` anything but an earlier node.

References may only point backwards, so the graph has no cycles either. It is a
`host_model.text_guard.TextGuard`: a host that decodes here (`EngineHost`, `LocalHost`) joins it
with the schema's token mask; remote hosts ignore it, and the validator checks their plans after.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from agentos.planning.format import entries_from_registry

if TYPE_CHECKING:
    from agentos.registry import Registry


@dataclass(frozen=True)
class _State:
    """Where the reply is: the open containers, the string being written, and the nodes finished so far."""

    containers: tuple[str, ...] = ()  # "{" or "[" per open container
    path: tuple[str | int | None, ...] = ()  # per container: its current key ("{") or index ("[")
    expect_key: bool = False
    in_string: bool = False
    is_key: bool = False
    escape: bool = False
    text: str = ""  # the key, id or `after` entry being written
    dollar: bool = False  # the last character of an input string was `$`
    ref: str | None = None  # inside `${...}`: what is written of it
    node_id: str | None = None
    node_capability: str | None = None
    nodes: tuple[tuple[str, str | None], ...] = field(default=())  # finished nodes: (id, capability)


class PlanGuard:
    """Follows a plan reply and says whether more text keeps its references and ids sound.

    `outputs`: each capability's output fields (what `${node.FIELD}` may read); `inputs`: the task's
    input names (`${inputs.NAME}`). A capability missing from `outputs` lets any field through.
    """

    trigger_chars = '"${\\'  # outside references and `after` entries, only these characters can break a rule

    def __init__(self, outputs: Mapping[str, Collection[str]], inputs: Collection[str]) -> None:
        self.outputs = {cap: set(fields) for cap, fields in outputs.items()}
        self.inputs = set(inputs)
        self.state = _State()

    @classmethod
    def for_registry(cls, registry: Registry, inputs: Collection[str]) -> PlanGuard:
        """The guard for a plan over `registry`'s capabilities, for a task with these input names."""
        return cls({e.capability: e.outputs for e in entries_from_registry(registry)}, inputs)

    def feed(self, text: str) -> None:
        """Advance over text the engine emitted (always text `accepts` allowed)."""
        state = self._run(self.state, text)
        if state is None:
            raise ValueError(f"plan guard: {text!r} breaks a reference or an id")
        self.state = state

    def accepts(self, text: str) -> bool:
        return self._run(self.state, text) is not None

    def checks_every_token(self) -> bool:
        """Inside a reference or an `after` entry any character can break a rule, not only the triggers."""
        s = self.state
        return s.in_string and not s.is_key and (s.ref is not None or _where(s) == "after")

    # ---- the state machine ------------------------------------------------------------------------

    def _run(self, state: _State | None, text: str) -> _State | None:
        for ch in text:
            if state is None:
                return None
            state = self._string_char(state, ch) if state.in_string else self._structure_char(state, ch)
        return state

    def _structure_char(self, s: _State, ch: str) -> _State:
        if ch == '"':
            if not s.expect_key and _where(s) == "after" and not s.nodes:
                return None  # no entry can name an earlier node: only `[]` is sound here
            return replace(s, in_string=True, is_key=s.expect_key, text="", dollar=False, ref=None)
        if ch == "{":
            return replace(s, containers=(*s.containers, "{"), path=(*s.path, None), expect_key=True,
                           **({"node_id": None, "node_capability": None} if _is_node((*s.path, None)) else {}))
        if ch == "[":
            return replace(s, containers=(*s.containers, "["), path=(*s.path, 0), expect_key=False)
        if ch in "}]":
            nodes = s.nodes
            if ch == "}" and _is_node(s.path) and s.node_id is not None:
                nodes = (*nodes, (s.node_id, s.node_capability))
            return replace(s, containers=s.containers[:-1], path=s.path[:-1], expect_key=False, nodes=nodes)
        if ch == "," and s.containers:
            if s.containers[-1] == "{":
                return replace(s, expect_key=True)
            return replace(s, path=(*s.path[:-1], int(s.path[-1] or 0) + 1))
        return s  # whitespace, ':', numbers, true, false, null

    def _string_char(self, s: _State, ch: str) -> _State | None:
        if s.escape:
            return replace(s, escape=False)
        if ch == "\\":
            if s.ref is not None or (not s.is_key and _where(s) in ("id", "after")):
                return None  # no escapes in references, ids or `after` entries
            return replace(s, escape=True, dollar=False)
        if ch == '"':
            return self._end_string(s)
        if s.is_key:
            return replace(s, text=s.text + ch)
        where = _where(s)
        if where in ("id", "capability"):
            return replace(s, text=s.text + ch)
        if where == "after":
            text = s.text + ch
            return replace(s, text=text) if any(n.startswith(text) for n, _ in s.nodes) else None
        if where != "input":
            return s
        if s.ref is not None:
            if ch == "}":
                return replace(s, ref=None) if self._reference_ok(s, s.ref, complete=True) else None
            return replace(s, ref=s.ref + ch) if self._reference_ok(s, s.ref + ch, complete=False) else None
        if s.dollar and ch == "{":
            return replace(s, ref="", dollar=False) if self._heads(s) else None
        return replace(s, dollar=ch == "$")

    def _end_string(self, s: _State) -> _State | None:
        if s.ref is not None:
            return None  # a reference left open
        state = replace(s, in_string=False, dollar=False)
        if s.is_key:
            return replace(state, path=(*s.path[:-1], s.text), expect_key=False)
        where = _where(s)
        if where == "id":
            if s.text == "inputs" or any(s.text == n for n, _ in s.nodes):
                return None
            return replace(state, node_id=s.text)
        if where == "capability":
            return replace(state, node_capability=s.text)
        if where == "after" and not any(s.text == n for n, _ in s.nodes):
            return None
        return state

    def _heads(self, s: _State) -> list[str]:
        """What a reference may start with: earlier nodes that have a field to read, and `inputs` if any."""
        heads = [n for n, cap in s.nodes if cap not in self.outputs or self.outputs[cap]]
        return [*heads, "inputs"] if self.inputs else heads

    def _reference_ok(self, s: _State, ref: str, *, complete: bool) -> bool:
        """Whether `ref` (the text inside `${...}`) is, or may still become, a sound reference."""
        head, dot, rest = ref.partition(".")
        capabilities = dict(s.nodes)
        if not dot:  # still writing the node id (or `inputs`)
            return not complete and any(h.startswith(head) for h in self._heads(s))
        if head == "inputs":
            fields: set[str] | None = self.inputs
        elif head in capabilities:
            capability = capabilities[head]
            fields = self.outputs.get(capability) if capability in self.outputs else None  # unknown: any field
        else:
            return False
        name, more_dot, more = rest.partition(".")
        if not more_dot and not complete:  # still writing the field
            return fields is None or any(f.startswith(name) for f in fields)
        if not name or (fields is not None and name not in fields):
            return False
        return not complete or not more_dot or all(more.split("."))


def _is_node(path: tuple[str | int | None, ...]) -> bool:
    """A node object: `nodes[i]`, the object inside the root's `nodes` array."""
    return len(path) == 3 and path[0] == "nodes" and isinstance(path[1], int)


def _where(s: _State) -> str | None:
    """What the string being written is: a node's id or capability, an `after` entry, an input value."""
    p = s.path
    if len(p) < 3 or p[0] != "nodes" or not isinstance(p[1], int):
        return None
    if len(p) == 3 and p[2] in ("id", "capability"):
        return str(p[2])
    if len(p) == 4 and p[2] == "after":
        return "after"
    if len(p) >= 4 and p[2] == "inputs":
        return "input"
    return None
