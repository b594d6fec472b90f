"""TaskGraph: built from a validated spec, inspected (layers, depth, critical path), drawn, and edited."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from agentos.errors import PlanError
from agentos.graph import TaskGraph
from agentos.registry import Registry
from agentos.sdk import expert
from agentos.taskspec import NodeSpec, parse_task


class Note(BaseModel):
    text: str = ""


class Done(BaseModel):
    text: str


@expert(name="slow-writer", domain="demo", capability="demo.slow", latency_s=5.0)
def slow(inputs: Note) -> Done:
    """Takes a while (its latency hint says so)."""
    return Done(text=inputs.text)


@expert(name="quick-writer", domain="demo", capability="demo.quick", latency_s=0.5)
def quick(inputs: Note) -> Done:
    """Fast, by its hint."""
    return Done(text=inputs.text)


@expert(name="hintless", domain="demo", capability="demo.plain")
def plain(inputs: Note) -> Done:
    """No latency hint at all."""
    return Done(text=inputs.text)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry([slow, quick, plain])


def node(node_id: str, capability: str = "demo.quick", text: str = "", after: list[str] | None = None) -> dict:
    return {"id": node_id, "capability": capability, "inputs": {"text": text} if text else {},
            "after": after or []}


def build(registry: Registry, nodes: list[dict], tmp_path: Path) -> TaskGraph:
    return TaskGraph.from_spec(parse_task({"graph": nodes}, registry, base_dir=tmp_path))


# start -> {slow_branch -> join, quick_branch -> join}, quick_branch -> tail;  lone stands apart
DIAMOND = [
    node("start"),
    node("slow_branch", "demo.slow", "${start.text}"),
    node("quick_branch", "demo.quick", "from ${start.text}"),
    node("join", "demo.quick", "${slow_branch.text}", after=["quick_branch"]),
    node("tail", "demo.plain", "${quick_branch.text}"),
    node("lone", "demo.plain"),
]
EDGES = {("start", "slow_branch"), ("start", "quick_branch"), ("slow_branch", "join"),
         ("quick_branch", "join"), ("quick_branch", "tail")}


@pytest.fixture
def diamond(registry, tmp_path) -> TaskGraph:
    return build(registry, DIAMOND, tmp_path)


def test_references_and_after_become_the_edges(diamond):
    assert set(diamond.g.edges) == EDGES
    assert len(diamond) == 6 and "lone" in diamond and "nowhere" not in diamond
    assert sorted(diamond.predecessors("join")) == ["quick_branch", "slow_branch"]
    assert diamond.descendants("start") == {"slow_branch", "quick_branch", "join", "tail"}


def test_layers_are_topological_generations(diamond):
    assert diamond.layers() == [["lone", "start"], ["quick_branch", "slow_branch"], ["join", "tail"]]


def test_depth_is_the_longest_edge_count_from_a_source(diamond):
    assert diamond.depth() == {"start": 0, "lone": 0, "slow_branch": 1, "quick_branch": 1, "join": 2, "tail": 2}


def test_critical_path_follows_the_latency_hints(diamond, registry):
    path, total = diamond.critical_path(registry)
    assert path == ["start", "slow_branch", "join"]
    assert total == pytest.approx(0.5 + 5.0 + 0.5)


def test_critical_path_without_hints_counts_nodes(diamond):
    path, total = diamond.critical_path()
    assert total == 3.0 and len(path) == 3 and path[0] == "start" and path[-1] in {"join", "tail"}


def test_a_pinned_expert_sets_the_critical_path_weight(registry, tmp_path):
    graph = build(registry, [{"id": "a", "expert": "slow-writer"}, node("b", text="${a.text}")], tmp_path)
    assert graph.critical_path(registry) == (["a", "b"], pytest.approx(5.5))


def test_an_empty_graph_has_no_critical_path():
    assert TaskGraph([]).critical_path() == ([], 0.0)


def test_a_cycle_given_directly_is_a_plan_error_naming_its_nodes():
    nodes = [NodeSpec(id="a", capability="x", after=["b"]), NodeSpec(id="b", capability="x", after=["a"])]
    with pytest.raises(PlanError, match=r"the graph has a cycle: (a -> b -> a|b -> a -> b)"):
        TaskGraph(nodes)


def _mermaid_edges(text: str) -> tuple[set[str], set[tuple[str, str]]]:
    ids = {m.group(1): m.group(2).split("<br/>")[0] for m in re.finditer(r'^\s+(\w+)\["([^"]*)"\]$', text, re.M)}
    edges = {(ids[u], ids[v]) for u, v in re.findall(r"^\s+(\w+) --> (\w+)$", text, re.M)}
    return set(ids.values()), edges


def _dot_edges(text: str) -> tuple[set[str], set[tuple[str, str]]]:
    names = set(re.findall(r'^\s+"([^"]+)" \[label=', text, re.M))
    edges = set(re.findall(r'^\s+"([^"]+)" -> "([^"]+)";$', text, re.M))
    return names, edges


def test_mermaid_shows_every_node_and_edge(diamond):
    text = diamond.to_mermaid()
    assert text.startswith("flowchart TD\n")
    names, edges = _mermaid_edges(text)
    assert names == set(diamond.g.nodes) and edges == EDGES
    assert "slow_branch<br/>demo.slow" in text


def test_dot_shows_every_node_and_edge(diamond):
    text = diamond.to_dot()
    assert text.startswith("digraph task {") and text.rstrip().endswith("}")
    names, edges = _dot_edges(text)
    assert names == set(diamond.g.nodes) and edges == EDGES


def test_mermaid_keeps_ids_that_differ_only_in_punctuation_apart(registry, tmp_path):
    graph = build(registry, [node("load-1"), node("load_1", text="${load-1.text}")], tmp_path)
    names, edges = _mermaid_edges(graph.to_mermaid())
    assert names == {"load-1", "load_1"} and edges == {("load-1", "load_1")}


def test_pinned_experts_show_in_the_drawings(registry, tmp_path):
    graph = build(registry, [{"id": "a", "expert": "slow-writer"}], tmp_path)
    assert "a<br/>demo.slow @slow-writer" in graph.to_mermaid()
    assert 'label="a\\ndemo.slow @slow-writer"' in graph.to_dot()


def test_replace_swaps_in_a_fragment_and_keeps_downstream_edges(diamond):
    diamond.replace("slow_branch", [
        NodeSpec(id="outline", capability="demo.quick", inputs={"text": "${start.text}"}),
        NodeSpec(id="slow_branch", capability="demo.quick", inputs={"text": "${outline.text}"}),
    ])
    assert set(diamond.g.edges) == (EDGES - {("start", "slow_branch")}) | {
        ("start", "outline"), ("outline", "slow_branch")}
    assert diamond.spec("slow_branch").capability == "demo.quick"
    assert diamond.layers() == [["lone", "start"], ["outline", "quick_branch"], ["slow_branch", "tail"], ["join"]]


def test_replace_must_keep_the_replaced_id(diamond):
    with pytest.raises(PlanError, match="must keep a node with that id"):
        diamond.replace("slow_branch", [NodeSpec(id="other", capability="demo.quick")])


def test_replace_rejects_ids_that_clash_with_other_nodes(diamond):
    with pytest.raises(PlanError, match="reuse existing ids: tail"):
        diamond.replace("slow_branch", [NodeSpec(id="slow_branch", capability="demo.quick"),
                                        NodeSpec(id="tail", capability="demo.quick")])


def test_replace_rejects_a_fragment_that_makes_a_cycle(diamond):
    with pytest.raises(PlanError, match="the replacement for `slow_branch` has a cycle"):
        diamond.replace("slow_branch", [NodeSpec(id="slow_branch", capability="demo.quick", after=["join"])])


def test_a_rejected_replacement_leaves_the_graph_as_it_was(diamond):
    before = (set(diamond.g.edges), {n: diamond.spec(n) for n in diamond.g.nodes})
    with pytest.raises(PlanError):
        diamond.replace("slow_branch", [NodeSpec(id="slow_branch", capability="demo.quick", after=["join"])])
    assert (set(diamond.g.edges), {n: diamond.spec(n) for n in diamond.g.nodes}) == before


def test_replace_rejects_a_dependency_on_an_unknown_node(diamond):
    with pytest.raises(PlanError, match="ghost"):
        diamond.replace("slow_branch", [NodeSpec(id="slow_branch", capability="demo.quick", after=["ghost"])])


def test_a_repeated_id_inside_a_replacement_is_rejected(diamond):
    with pytest.raises(PlanError, match="names nodes twice: extra"):
        diamond.replace("slow_branch", [NodeSpec(id="slow_branch", capability="demo.quick"),
                                        NodeSpec(id="extra", capability="demo.quick"),
                                        NodeSpec(id="extra", capability="demo.quick")])
