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

References may only point backwards, so the graph has no cycles either.

With `copy_from` (the copy rule, for a planner whose `PlannerCard` asks for it: the request it was
shown), every text value of a node input must also be a substring of it, one of the few stock
values its field takes in training (`stock_values`), or one whole `${...}` reference: the model
cannot write a title, brand or path that is not there. Fields whose schema fixes their values (an
enum or a const) are left to the schema. step3p5-mini's card leaves the rule off: held back from
the value it wanted, it derails more often than it copies better (docs/planner.md).

It is a `host_model.text_guard.TextGuard`: a host that decodes here (`EngineHost`, `LocalHost`) joins it
with the schema's token mask; remote hosts ignore it, and the validator checks their plans after.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from agentos.planning.format import PlannerCard, entries_from_registry, request_line
from agentos.references import SEGMENT

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
    copied: str = ""  # copy rule: the input text value so far, decoded (a reference string: its `${...}`)
    ref_done: bool = False  # copy rule: this value was one whole reference, so only its closing quote may follow


_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class PlanGuard:
    """Follows a plan reply and says whether more text keeps its references and ids sound.

    `outputs`: each capability's output fields (what `${node.FIELD}` may read); `inputs`: the task's
    input names (`${inputs.NAME}`). A capability missing from `outputs` lets any field through.
    `copy_from`: the texts every input text value must be a substring of (None: no copy rule), or
    else one of its field's `stock_values` whole;
    `fixed`: per capability, the input fields exempt from it (their schema lists the values).
    `leaf_inputs`: task inputs that hold one value (a string, a number), so no path may go into them.
    """

    trigger_chars = '"${\\'  # outside references and `after` entries, only these characters can break a rule

    def __init__(self, outputs: Mapping[str, Collection[str]], inputs: Collection[str], *,
                 copy_from: Sequence[str] | None = None, stock_values: Mapping[str, Collection[str]] | None = None,
                 fixed: Mapping[str, Collection[str]] | None = None, leaf_inputs: Collection[str] = ()) -> None:
        self.outputs = {cap: set(fields) for cap, fields in outputs.items()}
        self.inputs = set(inputs)
        self.leaf_inputs = set(leaf_inputs)
        self.copy_from = list(dict.fromkeys(copy_from)) if copy_from is not None else None
        self.stock_values = {name: list(values) for name, values in (stock_values or {}).items()}
        self.fixed = {cap: set(fields) for cap, fields in (fixed or {}).items()}
        self.state = _State()
        self._plain: tuple[_State, bool] | None = None  # (state, whether plain text there is only a copy check)

    @classmethod
    def for_registry(cls, registry: Registry, inputs: Mapping[str, object] | Collection[str], *,
                     copy_from: Sequence[str] | None = None,
                     stock_values: Mapping[str, Collection[str]] | None = None) -> PlanGuard:
        """The guard for a plan over `registry`'s capabilities, for a task with these inputs (values, or
        only names: then any path into an input passes, and the validator checks it after)."""
        fixed: dict[str, set[str]] = {}
        for exp in registry if copy_from is not None else ():  # only the copy rule reads them
            for op in exp.card.operations:
                props = op.input_model.model_json_schema().get("properties", {})
                fixed.setdefault(op.capability, set()).update(
                    name for name, prop in props.items() if "enum" in prop or "const" in prop)
        leaves = ([n for n, v in inputs.items() if not isinstance(v, (dict, list))]
                  if isinstance(inputs, Mapping) else [])
        return cls({e.capability: e.outputs for e in entries_from_registry(registry)}, list(inputs),
                   copy_from=copy_from, stock_values=stock_values, fixed=fixed, leaf_inputs=leaves)

    @classmethod
    def for_planner(cls, registry: Registry, inputs: Mapping[str, object], goal: str,
                    card: PlannerCard | None) -> PlanGuard:
        """The guard for a compact-prompt planner with this card planning `goal`: with the copy rule when
        the card says the model copies its values (from the goal as the prompt shows it)."""
        if card is None or not card.copy_rule:
            return cls.for_registry(registry, inputs)
        return cls.for_registry(registry, inputs, copy_from=[request_line(goal)], stock_values=card.stock_values)

    def feed(self, text: str) -> None:
        """Advance over text the engine emitted (always text `accepts` allowed)."""
        state = self._run(self.state, text)
        if state is None:
            raise ValueError(f"plan guard: {text!r} breaks a reference or an id")
        self.state = state

    def accepts(self, text: str) -> bool:
        if self._plain_text_is_copied() and not any(c in text for c in self.trigger_chars):
            return self._copyable(self.state, self.state.copied + text)  # the common case while copying
        return self._run(self.state, text) is not None

    def accepts_partial(self, text: str, partial: bytes) -> bool:
        """After `text`, the first bytes of a character split across tokens: can it still be written?
        (Under the copy rule the value's bytes so far must occur in a source; a reference is ASCII.)"""
        s = self._run(self.state, text)
        if s is None or not s.in_string:
            return False  # outside strings a plan is ASCII
        if s.is_key or s.escape:
            return not s.escape
        if s.ref is not None:
            return False
        if _where(s) == "after":
            head = s.text.encode() + partial
            return any(n.encode().startswith(head) for n, _ in s.nodes)
        if not self._copying(s):
            return True
        if s.ref_done:
            return False
        head = s.copied.encode() + partial
        if any(head in source.encode() for source in self.copy_from or ()):
            return True
        return any(v.encode().startswith(head) for v in self._stock(s))

    def checks_every_token(self) -> bool:
        """Inside a reference or an `after` entry any character can break a rule, not only the triggers;
        under the copy rule, inside any input text value too."""
        s = self.state
        return s.in_string and not s.is_key and (s.ref is not None or _where(s) == "after" or self._copying(s))

    def _plain_text_is_copied(self) -> bool:
        """At this point, text without trigger characters only extends a copied value (cached per state)."""
        if self._plain is None or self._plain[0] is not self.state:
            s = self.state
            self._plain = (s, self._copying(s) and s.ref is None and not s.escape and not s.ref_done
                           and s.copied != "$")
        return self._plain[1]

    def _copying(self, s: _State) -> bool:
        """The copy rule applies to the string being written: an input text value of a field not fixed by its schema."""
        if self.copy_from is None or not s.in_string or s.is_key or _where(s) != "input":
            return False
        field_name = s.path[3]
        return not (isinstance(field_name, str) and field_name in self.fixed.get(s.node_capability or "", ()))

    def _copyable(self, s: _State, text: str, *, complete: bool = False) -> bool:
        """`text` is (or, still being written, may become) a copied value: part of a source, or a stock
        value of the field being written."""
        if any(text in source for source in self.copy_from or ()):
            return True
        return any(v == text if complete else v.startswith(text) for v in self._stock(s))

    def _stock(self, s: _State) -> list[str]:
        """The stock values of the input field being written."""
        return self.stock_values.get(str(s.path[3]), []) if len(s.path) > 3 else []

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
            return replace(s, in_string=True, is_key=s.expect_key, text="", dollar=False, ref=None, copied="",
                           ref_done=False)
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
            if self._copying(s):
                return self._copy_char(replace(s, escape=False), _ESCAPES.get(ch))
            return replace(s, escape=False)
        if ch == "\\":
            if s.ref is not None or (not s.is_key and _where(s) in ("id", "after")):
                return None  # no escapes in references, ids or `after` entries
            if self._copying(s) and (s.ref_done
                                     or not any(self._copyable(s, s.copied + c) for c in _ESCAPES.values())):
                return None  # no escaped character continues the copy: refuse the backslash, not what follows
            return replace(s, escape=True, dollar=False)
        if ch == '"':
            return self._end_string(s)
        if self._copying(s):
            return self._copy_char(s, ch)
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
            return self._reference_char(s, ch)
        if s.dollar and ch == "{":
            return replace(s, ref="", dollar=False) if self._heads(s) else None
        return replace(s, dollar=ch == "$")

    def _copy_char(self, s: _State, ch: str | None) -> _State | None:
        """One character (decoded; None: an escape the rule does not copy) of a value under the copy rule."""
        if ch is None or s.ref_done:
            return None
        if s.ref is not None:  # inside the value's `${...}`
            return self._reference_char(s, ch, whole=True)
        if s.copied == "$" and ch == "{" and self._heads(s):
            return replace(s, ref="", copied="${")
        text = s.copied + ch
        if text == "$" and self._heads(s):
            return replace(s, copied=text)  # may open a reference
        return replace(s, copied=text) if self._copyable(s, text) else None

    def _reference_char(self, s: _State, ch: str, *, whole: bool = False) -> _State | None:
        """One character inside `${...}`; `whole`: the reference is the entire value (the copy rule)."""
        if ch == "}":
            return replace(s, ref=None, ref_done=whole) if self._reference_ok(s, s.ref or "", complete=True) else None
        return replace(s, ref=(s.ref or "") + ch) if self._reference_ok(s, (s.ref or "") + ch, complete=False) else None

    def _end_string(self, s: _State) -> _State | None:
        if s.ref is not None:
            return None  # a reference left open
        if self._copying(s) and not s.ref_done and not self._copyable(s, s.copied, complete=True):
            return None  # part of a stock value, or a lone `$` that opened no reference
        state = replace(s, in_string=False, dollar=False, copied="", ref_done=False)
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
        if not more_dot:
            return True
        if head == "inputs" and name in self.leaf_inputs:
            return False  # a path into a plain value
        *whole, last = more.split(".")  # a path into the field: names or indices, the last one perhaps unfinished
        last_ok = SEGMENT.fullmatch(last) is not None or (not complete and not last)  # a segment's prefix is one
        return last_ok and all(SEGMENT.fullmatch(p) for p in whole)


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
