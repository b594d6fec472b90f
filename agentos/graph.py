"""The task graph as data: a networkx DAG of node specs, built, inspected and drawn before it runs."""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from agentos.errors import PlanError
from agentos.registry import Registry
from agentos.taskspec import NodeSpec, TaskSpec, dependencies


class TaskGraph:
    """Nodes are node ids (with `spec` attached); an edge u -> v means v waits for u."""

    def __init__(self, nodes: Iterable[NodeSpec]):
        self.g: nx.DiGraph = nx.DiGraph()
        for node in nodes:
            if node.id in self.g:
                raise PlanError(f"two nodes are named `{node.id}`")
            self.g.add_node(node.id, spec=node)
        _add_edges(self.g, list(self.specs()))
        _require_acyclic(self.g, "the graph")

    @classmethod
    def from_spec(cls, spec: TaskSpec) -> TaskGraph:
        return cls(spec.graph)

    def __len__(self) -> int:
        return self.g.number_of_nodes()

    def __contains__(self, node_id: str) -> bool:
        return node_id in self.g

    def spec(self, node_id: str) -> NodeSpec:
        return self.g.nodes[node_id]["spec"]

    def specs(self) -> Iterable[NodeSpec]:
        return (self.g.nodes[n]["spec"] for n in self.g.nodes)

    def predecessors(self, node_id: str) -> list[str]:
        return list(self.g.predecessors(node_id))

    def successors(self, node_id: str) -> list[str]:
        return list(self.g.successors(node_id))

    def descendants(self, node_id: str) -> set[str]:
        return nx.descendants(self.g, node_id)

    def layers(self) -> list[list[str]]:
        """Topological generations: each layer needs only earlier ones."""
        return [sorted(layer) for layer in nx.topological_generations(self.g)]

    def depth(self) -> dict[str, int]:
        """Longest path (in edges) from a source to each node."""
        d: dict[str, int] = {}
        for n in nx.topological_sort(self.g):
            d[n] = max((d[p] + 1 for p in self.g.predecessors(n)), default=0)
        return d

    def critical_path(self, registry: Registry | None = None) -> tuple[list[str], float]:
        """The chain with the most expected latency (experts' latency hints; 1 per node without them)."""

        def weight(n: str) -> float:
            spec = self.spec(n)
            if registry is None or not spec.capability:
                return 1.0
            try:
                names = [spec.expert] if spec.expert else registry.capabilities().get(spec.capability, [])
                return min(registry.operation(x, spec.capability).latency_s for x in names) or 1e-3
            except Exception:
                return 1.0

        best: dict[str, tuple[float, list[str]]] = {}
        for n in nx.topological_sort(self.g):
            prev = max((best[p] for p in self.g.predecessors(n)), default=(0.0, []), key=lambda t: t[0])
            best[n] = (prev[0] + weight(n), [*prev[1], n])
        if not best:
            return [], 0.0
        total, path = max(best.values(), key=lambda t: t[0])
        return path, total

    def replace(self, node_id: str, new_nodes: list[NodeSpec]) -> None:
        """Swap a failed node for a replanned fragment (one node keeps `node_id`); all or nothing."""
        ids = [n.id for n in new_nodes]
        if node_id not in ids:
            raise PlanError(f"a replacement for `{node_id}` must keep a node with that id")
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise PlanError(f"the replacement names nodes twice: {', '.join(repeated)}")
        clash = [i for i in ids if i != node_id and i in self.g]
        if clash:
            raise PlanError(f"replacement nodes reuse existing ids: {', '.join(clash)}")
        g = self.g.copy()
        old_out = list(g.successors(node_id))
        g.remove_node(node_id)
        for n in new_nodes:
            g.add_node(n.id, spec=n)
        _add_edges(g, new_nodes)
        g.add_edges_from((node_id, succ) for succ in old_out)
        _require_acyclic(g, f"the replacement for `{node_id}`")
        self.g = g

    def add(self, nodes: list[NodeSpec]) -> None:
        """Add nodes a streamed plan emitted while the graph runs; all or nothing, like `replace`."""
        ids = [n.id for n in nodes]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise PlanError(f"the added nodes name nodes twice: {', '.join(repeated)}")
        clash = [i for i in ids if i in self.g]
        if clash:
            raise PlanError(f"added nodes reuse existing ids: {', '.join(clash)}")
        g = self.g.copy()
        for n in nodes:
            g.add_node(n.id, spec=n)
        _add_edges(g, nodes)
        _require_acyclic(g, f"the graph with {', '.join(f'`{i}`' for i in ids)} added")
        self.g = g

    # drawing ---------------------------------------------------------------------------------------
    def _label(self, n: str) -> str:
        spec = self.spec(n)
        return f"{n}\\n{spec.capability or ''}{' @' + spec.expert if spec.expert else ''}"

    def to_mermaid(self) -> str:
        lines = ["flowchart TD"]
        for n in self.g.nodes:
            label = self._label(n).replace("\\n", "<br/>").replace('"', "'")
            lines.append(f'    {_mid(n)}["{label}"]')
        for u, v in self.g.edges:
            lines.append(f"    {_mid(u)} --> {_mid(v)}")
        return "\n".join(lines) + "\n"

    def to_dot(self) -> str:
        lines = ["digraph task {", "    rankdir=TB;", '    node [shape=box, style=rounded, fontname="Helvetica"];']
        for n in self.g.nodes:
            label = self._label(n).replace('"', '\\"')
            lines.append(f'    "{n}" [label="{label}"];')
        for u, v in self.g.edges:
            lines.append(f'    "{u}" -> "{v}";')
        lines.append("}")
        return "\n".join(lines) + "\n"


def _add_edges(g: nx.DiGraph, nodes: Iterable[NodeSpec]) -> None:
    """Edges from each node's dependencies; a dependency on a node not in `g` is a plan error."""
    for node in nodes:
        for dep in dependencies(node):
            if dep not in g:
                raise PlanError(f"node `{node.id}` depends on `{dep}`, which is not in the graph")
            g.add_edge(dep, node.id)


def _require_acyclic(g: nx.DiGraph, what: str) -> None:
    if not nx.is_directed_acyclic_graph(g):
        cycle = [u for u, _ in nx.find_cycle(g)]
        raise PlanError(f"{what} has a cycle: {' -> '.join([*cycle, cycle[0]])}")


def _mid(n: str) -> str:
    return "n_" + "".join(c if c.isalnum() else f"_{ord(c):x}_" for c in n)  # injective: `a-b` != `a_b`
