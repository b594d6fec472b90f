"""Routers: the deterministic default, and routers that packages add through entry points."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from support_experts import EXPERTS

import agentos
from agentos import Registry, TaskFileError, UserError
from agentos.api import load_spec
from agentos.routing import DeterministicRouter, RouteQuery, make_router

PLUGIN = '''
from agentos.routing import DeterministicRouter


class ReverseRouter(DeterministicRouter):
    """Prefers the expert the default would try last."""

    name = "reverse"

    def __init__(self, seed: int = 0):
        super().__init__()
        self.seed = seed

    def route(self, query, candidates):
        d = super().route(query, candidates)
        ranking = list(reversed(d.ranking))
        return d.model_copy(update={"chosen": ranking[0], "ranking": ranking, "router": self.name})
'''


@pytest.fixture
def reverse_router_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """What `pip install` of a package with an `agentos.routers` entry point leaves on sys.path."""
    (tmp_path / "reverse_router_plugin.py").write_text(PLUGIN)
    dist = tmp_path / "reverse_router_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: reverse-router-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[agentos.routers]\nreverse = reverse_router_plugin:ReverseRouter\n"
                                           "broken = no_such_module:Router\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("reverse_router_plugin", None)


def test_the_deterministic_router_ranks_by_cost_then_latency_then_name():
    cards = [e.card for e in Registry(EXPERTS).candidates("test.echo")]
    d = DeterministicRouter().route(RouteQuery(run_id="r", node_id="n", capability="test.echo"), cards)
    assert d.ranking == ["quiet-echo", "loud-echo"] and d.chosen == "quiet-echo"  # 0.1 < 0.5
    assert d.probabilities == {"quiet-echo": 1.0, "loud-echo": 0.0} and d.confident and not d.gated


def test_a_router_installed_through_an_entry_point_is_chosen_by_name(tmp_path, reverse_router_installed):
    spec = {"graph": [{"id": "say", "capability": "test.echo", "inputs": {"text": "hi"}}],
            "router": {"name": "reverse", "options": {"seed": 3}}}
    r = agentos.run(spec, registry=Registry(EXPERTS), output=tmp_path / "runs")
    assert r.nodes["say"].decision.router == "reverse"
    assert r.nodes["say"].expert == "loud-echo"  # the reverse of the default's first choice
    assert [a.expert for a in r.nodes["say"].attempts] == ["loud-echo"]


def test_unknown_router_names_and_options_are_clear_errors(reverse_router_installed):
    with pytest.raises(TaskFileError, match=r"unknown router `revers` \(did you mean `reverse`\?\)"):
        load_spec({"graph": [{"id": "say", "capability": "test.echo", "inputs": {"text": "x"}}],
                               "router": {"name": "revers"}}, Registry(EXPERTS))
    with pytest.raises(UserError, match=r"router 'reverse' does not take these options \['speed'\]"):
        make_router("reverse", {"speed": 2})
    with pytest.raises(UserError, match=r"router 'broken' could not be loaded \(no_such_module:Router\)"):
        make_router("broken", {})
    with pytest.raises(UserError, match="takes no options"):
        make_router("deterministic", {"x": 1})
