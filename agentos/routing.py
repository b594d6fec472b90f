"""The router protocol, the deterministic router, and how a router is found by name.

`route(query, candidates) -> Decision` picks an expert for a node; `update(decision, reward, expert,
cost=, duration_s=)` tells the router how that call went (the consistency verdict's score, and what
the call cost and took). The runtime records every decision in the run's result, follows `ranking`
when it must try another candidate, and calls the router's `close()`, if it has one, when the run
ends (the adaptive router saves its state there). The default router is `adaptive` (router/, an
`agentos.routers` entry point); `deterministic` stays available by setting.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from agentos.errors import UserError

if TYPE_CHECKING:
    from agentos.sdk import ExpertCard


class RouteQuery(BaseModel):
    """What a router knows about a node when it decides."""

    run_id: str
    node_id: str
    capability: str
    pinned: str | None = None  # the task file named this expert
    text: str = ""  # description + literal inputs, for text features
    input_types: dict[str, str] = Field(default_factory=dict)
    depth: int = 0  # longest path from a source node


class Decision(BaseModel):
    run_id: str = ""
    node_id: str
    capability: str
    chosen: str
    ranking: list[str]  # every candidate, best first; retries walk down it
    probabilities: dict[str, float]
    propensity: float = 1.0  # probability with which `chosen` was picked
    confident: bool = True
    gated: bool = False  # confidence below the gate: run `alternatives` side by side
    alternatives: list[str] = Field(default_factory=list)
    explored: bool = False
    router: str
    reason: str = ""
    confidence: float | None = None  # the router's P(chosen-by-mean is really the best), when it has one
    expected: dict[str, float] = Field(default_factory=dict)  # expected reward per candidate, when learned


@runtime_checkable
class Router(Protocol):
    name: str

    def route(self, query: RouteQuery, candidates: list[ExpertCard]) -> Decision: ...

    def update(self, decision: Decision, reward: float, expert: str | None = None, *, cost: float = 0.0,
               duration_s: float = 0.0) -> None: ...


class DeterministicRouter:
    """Pinned expert if any, else the cheapest, then fastest, then alphabetical candidate."""

    name = "deterministic"

    def __init__(self, **options: Any):
        if options:
            raise UserError(f"router `deterministic` takes no options (got: {', '.join(options)})")
        self.rewards: list[tuple[str, str, float]] = []

    def route(self, query: RouteQuery, candidates: list[ExpertCard]) -> Decision:
        def key(card: ExpertCard) -> tuple[float, float, str]:
            op = card.operation_for(query.capability)
            return (op.cost, op.latency_s, card.name) if op else (float("inf"), float("inf"), card.name)

        ranking = [c.name for c in sorted(candidates, key=key)] if len(candidates) > 1 else [candidates[0].name]
        if query.pinned:
            ranking = [query.pinned] + [n for n in ranking if n != query.pinned]
        chosen = ranking[0]
        return Decision(run_id=query.run_id, node_id=query.node_id, capability=query.capability, chosen=chosen,
                        ranking=ranking, probabilities={n: 1.0 if n == chosen else 0.0 for n in ranking},
                        router=self.name,
                        reason="pinned by the task file" if query.pinned else "lowest cost, then latency, then name")

    def update(self, decision: Decision, reward: float, expert: str | None = None, *, cost: float = 0.0,
               duration_s: float = 0.0) -> None:
        self.rewards.append((decision.node_id, expert or decision.chosen, reward))


ROUTERS: dict[str, Any] = {"deterministic": DeterministicRouter}  # built in; `adaptive` is router/'s entry point
DEFAULT_ROUTER = "adaptive"
ENTRY_POINT_GROUP = "agentos.routers"  # `name = package.module:RouterClass`, e.g. the learned router


def available_routers() -> dict[str, Any]:
    """Router factories by name: the built-in ones plus every `agentos.routers` entry point."""
    found: dict[str, Any] = dict(ROUTERS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep)  # loaded only when chosen
    return found


def make_router(name: str, options: dict[str, Any]) -> Router:
    routers = available_routers()
    if name not in routers:
        raise UserError(f"unknown router {name!r} (available: {', '.join(sorted(routers))})")
    factory = routers[name]
    if isinstance(factory, EntryPoint):
        try:
            factory = factory.load()
        except Exception as exc:
            raise UserError(f"router {name!r} could not be loaded ({factory.value}): "
                            f"{type(exc).__name__}: {exc}") from None
    try:
        return factory(**options)
    except TypeError as exc:
        raise UserError(f"router {name!r} does not take these options {sorted(options)}: {exc}") from None
