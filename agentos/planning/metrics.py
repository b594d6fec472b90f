"""TaskBench-style scores for a planner: did it decide right, pick the right capabilities, wire them right.

`score_plan` compares one predicted answer with the expected one; `aggregate` sums a set of scores
into `PlanMetrics`. Counts are kept per example so that F1 is micro-averaged over the whole set
(one long plan weighs more than a short one), and so breakdowns by intent or language are sums too.

Nodes are compared by capability and never by id: a planner may call the loader `load` or
`read_docs`, and both plans are the same plan.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel

from agentos.references import INPUTS, Reference, ReferenceSyntaxError, substitute
from agentos.taskspec import NodeSpec, dependencies

Decision = Literal["plan", "refuse", "clarify"]
Edge = tuple[str | None, str | None]


class PlanScore(BaseModel):
    """One example's counts; `valid` is left for the caller, who runs the project's validator."""

    intent: str = ""
    lang: str = ""
    expected: Decision
    predicted: Decision | None  # None: the reply was not one of the three shapes
    node_tp: int = 0
    node_fp: int = 0
    node_fn: int = 0
    edge_tp: int = 0
    edge_fp: int = 0
    edge_fn: int = 0
    arg_hits: int = 0
    arg_total: int = 0
    exact: bool = False
    valid: bool | None = None

    @property
    def parsed(self) -> bool:
        return self.predicted is not None

    @property
    def correct_decision(self) -> bool:
        return self.predicted == self.expected


class Breakdown(BaseModel):
    """The headline numbers for one slice of the set (one intent, one language)."""

    examples: int
    decision_accuracy: float
    node_f1: float | None
    exact_match: float


class PlanMetrics(BaseModel):
    """A set of scores summed up; an F1 or rate with nothing to measure is None, not 0 or 1."""

    examples: int
    parse_rate: float
    valid_rate: float | None
    decision_accuracy: float
    node_precision: float | None
    node_recall: float | None
    node_f1: float | None
    edge_precision: float | None
    edge_recall: float | None
    edge_f1: float | None
    exact_match: float
    argument_accuracy: float | None
    by_intent: dict[str, Breakdown]
    by_lang: dict[str, Breakdown]


# ---- one example -----------------------------------------------------------------------------------

def decision(answer: dict[str, Any] | None) -> Decision | None:
    """Which of the three answer shapes a reply has; None when it has none of them."""
    if not isinstance(answer, dict):
        return None
    nodes = answer.get("nodes")
    if isinstance(nodes, list) and all(isinstance(n, dict) for n in nodes):
        return "plan"
    if isinstance(answer.get("refuse"), str):
        return "refuse"
    if isinstance(answer.get("clarify"), str):
        return "clarify"
    return None


def score_plan(expected: dict[str, Any], predicted: dict[str, Any] | None, *,
               intent: str = "", lang: str = "") -> PlanScore:
    """Score one reply against the expected answer (predicted None: the reply did not parse).

    Node and edge counts and argument accuracy are counted only where a plan was expected; a
    refusal, question or unparsable reply in its place contributes only false negatives and misses.
    `exact` is `same_graph` for two plans and the same decision otherwise.
    """
    want, got = decision(expected), decision(predicted)
    if want is None:
        raise ValueError(f"the expected answer is not a plan, refusal or question: {expected!r}")
    score = PlanScore(intent=intent, lang=lang, expected=want, predicted=got)
    if want != "plan":
        score.exact = got == want
        return score
    exp_nodes = _nodes(expected)
    pred_nodes = _nodes(predicted) if got == "plan" else []
    score.node_tp, score.node_fp, score.node_fn = _counts(Counter(_capabilities(exp_nodes)),
                                                         Counter(_capabilities(pred_nodes)))
    score.edge_tp, score.edge_fp, score.edge_fn = _counts(Counter(_edges(exp_nodes)), Counter(_edges(pred_nodes)))
    score.arg_hits, score.arg_total = _arguments(exp_nodes, pred_nodes)
    score.exact = got == "plan" and same_graph(exp_nodes, pred_nodes)
    return score


def same_graph(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    """Exact graph match: equal multisets of canonical node keys.

    A node's key hashes its capability, its inputs with every `${id.path}` rewritten to
    `${<key of node id>.path}`, and the keys of all the nodes it depends on (references and
    `after`). Keys therefore unfold each node's whole upstream computation without any id in it:
    two plans match when they differ only in the ids they chose and the order they list nodes.
    `${inputs.x}` stays as written; values compare as JSON (7 and "7" differ); a reference to a
    missing node or a cycle gets a key no valid plan has.
    """
    return Counter(_canonical_keys(a)) == Counter(_canonical_keys(b))


def _nodes(answer: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list(answer["nodes"]) if answer is not None and decision(answer) == "plan" else []


def _capabilities(nodes: list[dict[str, Any]]) -> list[str | None]:
    return [_capability(n) for n in nodes]


def _capability(node: dict[str, Any]) -> str | None:
    cap = node.get("capability")
    return cap if isinstance(cap, str) else None


def _counts(expected: Counter[Any], predicted: Counter[Any]) -> tuple[int, int, int]:
    tp = sum((expected & predicted).values())
    return tp, sum(predicted.values()) - tp, sum(expected.values()) - tp


def _deps(node: dict[str, Any]) -> set[str]:
    """The ids a node waits for, by the same rule the scheduler uses (`taskspec.dependencies`)."""
    inputs = node.get("inputs")
    after = node.get("after")
    spec = NodeSpec.model_construct(inputs=inputs if isinstance(inputs, dict) else {},
                                    after=[a for a in after if isinstance(a, str)] if isinstance(after, list) else [])
    return dependencies(spec)


def _positions(nodes: list[dict[str, Any]]) -> dict[str, int]:
    """id -> index of the first node with that id."""
    found: dict[str, int] = {}
    for i, node in enumerate(nodes):
        if isinstance(node.get("id"), str):
            found.setdefault(node["id"], i)
    return found


def _edges(nodes: list[dict[str, Any]]) -> list[Edge]:
    """(source capability, target capability) per dependency; a missing source counts as None."""
    position = _positions(nodes)
    return [(_capability(nodes[position[src]]) if src in position else None, _capability(node))
            for node in nodes for src in sorted(_deps(node))]


def _rewrite(inputs: Any, name: dict[str, str]) -> Any:
    """Inputs with each node reference's id replaced by `name[id]`; unparsable references stay as text."""

    def resolve(ref: Reference) -> str:
        if ref.source == INPUTS:
            return ref.text
        return "${" + name.get(ref.source, "?" + ref.source) + "." + ".".join(ref.path) + "}"

    try:
        return substitute(inputs, resolve)
    except ReferenceSyntaxError:
        return inputs


def _canonical_keys(nodes: list[dict[str, Any]]) -> list[str]:
    position = _positions(nodes)
    memo: dict[int, str] = {}

    def key(i: int, trail: frozenset[int]) -> str:
        if i in memo:
            return memo[i]
        if i in trail:
            return "<cycle>"
        deps = sorted(_deps(nodes[i]))
        names = {d: key(position[d], trail | {i}) if d in position else "<missing:" + d + ">" for d in deps}
        text = json.dumps([_capability(nodes[i]), _rewrite(nodes[i].get("inputs", {}), names), sorted(names.values())],
                          sort_keys=True, ensure_ascii=False, default=str)
        memo[i] = hashlib.sha1(text.encode()).hexdigest()[:16]
        return memo[i]

    return [key(i, frozenset()) for i in range(len(nodes))]


def _ordinal_names(nodes: list[dict[str, Any]]) -> dict[str, str]:
    """id -> `capability#k`, k counting nodes of that capability in listed order."""
    seen: Counter[str | None] = Counter()
    names: dict[str, str] = {}
    for node in nodes:
        cap = _capability(node)
        if isinstance(node.get("id"), str) and node["id"] not in names:
            names[node["id"]] = f"{cap}#{seen[cap]}"
        seen[cap] += 1
    return names


def _arguments(expected: list[dict[str, Any]], predicted: list[dict[str, Any]]) -> tuple[int, int]:
    """(expected input fields reproduced, expected input fields): the k-th node of a capability
    is matched with the k-th predicted node of that capability; references compare as `capability#k`."""
    exp_names, pred_names = _ordinal_names(expected), _ordinal_names(predicted)
    pool: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for node in predicted:
        pool[_capability(node)].append(node)
    hits = total = 0
    for node in expected:
        want = _rewrite(node.get("inputs", {}), exp_names)
        mates = pool[_capability(node)]
        mate = mates.pop(0) if mates else None
        got = _rewrite(mate.get("inputs", {}), pred_names) if mate is not None else {}
        got = got if isinstance(got, dict) else {}
        total += len(want)
        hits += sum(1 for field, value in want.items() if field in got and got[field] == value)
    return hits, total


# ---- a set ------------------------------------------------------------------------------------------

def aggregate(scores: Iterable[PlanScore]) -> PlanMetrics:
    """Sum a set of scores: rates over all examples, F1 and argument accuracy micro-averaged."""
    items = list(scores)
    node_p, node_r, node_f = _prf(items, "node")
    edge_p, edge_r, edge_f = _prf(items, "edge")
    checked = [s.valid for s in items if s.valid is not None]
    arg_total = sum(s.arg_total for s in items)
    return PlanMetrics(
        examples=len(items),
        parse_rate=_share(s.parsed for s in items),
        valid_rate=_share(checked) if checked else None,
        decision_accuracy=_share(s.correct_decision for s in items),
        node_precision=node_p, node_recall=node_r, node_f1=node_f,
        edge_precision=edge_p, edge_recall=edge_r, edge_f1=edge_f,
        exact_match=_share(s.exact for s in items),
        argument_accuracy=sum(s.arg_hits for s in items) / arg_total if arg_total else None,
        by_intent=_breakdown(items, lambda s: s.intent),
        by_lang=_breakdown(items, lambda s: s.lang),
    )


def _share(flags: Iterable[bool]) -> float:
    values = list(flags)
    return sum(values) / len(values) if values else 0.0


def _prf(items: list[PlanScore], kind: Literal["node", "edge"]) -> tuple[float | None, float | None, float | None]:
    tp = sum(getattr(s, f"{kind}_tp") for s in items)
    fp = sum(getattr(s, f"{kind}_fp") for s in items)
    fn = sum(getattr(s, f"{kind}_fn") for s in items)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    if tp + fp + fn == 0:
        return precision, recall, None
    return precision, recall, 2 * tp / (2 * tp + fp + fn)


def _breakdown(items: list[PlanScore], label: Any) -> dict[str, Breakdown]:
    groups: dict[str, list[PlanScore]] = defaultdict(list)
    for s in items:
        if label(s):
            groups[label(s)].append(s)
    return {name: Breakdown(examples=len(group), decision_accuracy=_share(s.correct_decision for s in group),
                            node_f1=_prf(group, "node")[2], exact_match=_share(s.exact for s in group))
            for name, group in sorted(groups.items())}
