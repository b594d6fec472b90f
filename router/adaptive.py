"""The adaptive router the runtime uses by default: features, policy, reward shaping, state.

For each node with more than one candidate it builds z (features.py), lets the softmax policy
choose (policy.py), and remembers (z, choice) until the verdict comes back; `update` turns the
verdict into the reward r = score - cost_weight * cost - latency_weight * seconds and learns from
it at once. A node with one candidate (or a pinned expert) needs no choice and never loads the
text encoder. `close` saves the models and the decision history (state.py).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, Field, ValidationError

from agentos.errors import UserError
from agentos.routing import Decision, RouteQuery
from router import state as store
from router.features import FeatureConfig, NodeFeaturizer
from router.policy import Choice, PolicyConfig, SoftmaxPolicy

if TYPE_CHECKING:
    import numpy as np

    from agentos.sdk import ExpertCard

log = logging.getLogger(__name__)


class AdaptiveOptions(PolicyConfig):
    """`router.options` of a task file for `name: adaptive` (every PolicyConfig field, plus these)."""

    model_config = ConfigDict(extra="forbid")

    gate_confidence: float = Field(0.55, ge=0, le=1, description="run the top candidates side by side when "
                                   "P(top is best) is below this; 0 never gates")
    cost_weight: float = Field(0.1, ge=0, description="reward lost per unit of an expert's cost")
    latency_weight: float = Field(0.0, ge=0, description="reward lost per second an expert took")
    state: str | None = Field(None, description="state file; default $AGENTOS_ROUTER_STATE or "
                              "~/.agentos/router/state.npz; `none` keeps it in memory")
    encoder: str = Field("auto", description="text encoder: auto, minilm or hashing")
    text_dim: int = Field(48, ge=4, le=512, description="text embedding dimensions after projection")


def arm_key(capability: str, expert: str) -> str:
    return f"{capability}::{expert}"


class AdaptiveRouter:
    """pi = softmax over candidates of (learned reward + exploration bonus) / T; see the module doc."""

    name = "adaptive"
    # the runtime calls `route` for a node with several candidates in a worker thread: the first such
    # call loads the text encoder (seconds), which must not stall the event loop and the running nodes
    route_in_thread = True

    def __init__(self, **options: Any):
        try:
            self.options = AdaptiveOptions(**options)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise UserError(f"router `adaptive` options: {problems}") from None
        o = self.options
        self.policy_config = PolicyConfig(**o.model_dump(include=set(PolicyConfig.model_fields)))
        self.path = _state_path(o.state)
        self.feature_config = FeatureConfig(encoder=o.encoder, text_dim=o.text_dim)
        self._featurizer: NodeFeaturizer | None = None
        self.policy: SoftmaxPolicy | None = None
        self.stats: dict[str, dict[str, float]] = {}  # arm key -> calls, reward, score, gated, explored
        self.counters = {"decisions": 0, "gated": 0, "explored": 0, "reordered": 0, "single_candidate": 0}
        self._pending: dict[tuple[str, str], tuple[np.ndarray, list[str], Choice]] = {}
        self._history: list[dict[str, Any]] = []
        self._header: dict[str, Any] = {}
        self._dirty = False
        self._features_lock = threading.Lock()  # the encoder load and the embedding cache
        self._lock = threading.Lock()  # models, counters, pending decisions: held for microseconds
        self._arms_loaded: dict[str, Any] = {}
        if self.path is not None and self.path.is_file():
            self._header, self._arms_loaded = store.load(self.path)
            self.stats = self._header.get("stats", {})
            self.counters.update(self._header.get("counters", {}))

    # features and policy are built on the first real choice (the encoder may take seconds to load)
    def _ready(self) -> tuple[NodeFeaturizer, SoftmaxPolicy]:
        if self._featurizer is None or self.policy is None:
            self._featurizer = NodeFeaturizer(self.feature_config)
            self.policy = SoftmaxPolicy(self._featurizer.dim, self.policy_config)
            if self._arms_loaded:
                if self._header.get("features") == self._featurizer.identity:
                    self.policy.arms.update(self._arms_loaded)
                else:
                    log.warning("router state %s was learned on features %r, not %r: starting afresh "
                                "(the old file is kept as .old when this run saves)", self.path,
                                self._header.get("features"), self._featurizer.identity)
                    self._header["stale"] = True
        return self._featurizer, self.policy

    # Router protocol -------------------------------------------------------------------------------
    def route(self, query: RouteQuery, candidates: list[ExpertCard]) -> Decision:
        names = [c.name for c in candidates]
        if query.pinned or len(names) == 1:
            chosen = query.pinned or names[0]
            self.counters["single_candidate"] += 1
            ranking = [chosen] + [n for n in names if n != chosen]
            return Decision(run_id=query.run_id, node_id=query.node_id, capability=query.capability,
                            chosen=chosen, ranking=ranking, probabilities={n: float(n == chosen) for n in ranking},
                            router=self.name,
                            reason="pinned by the task file" if query.pinned else "the only candidate")
        with self._features_lock:
            featurizer, policy = self._ready()
            x = featurizer.features(query)
        keys = [arm_key(query.capability, n) for n in names]
        costs = []
        for card in candidates:
            op = card.operation_for(query.capability)
            costs.append((op.cost if op else 0.0) + (op.latency_s if op else 0.0) * self.options.latency_weight)
        with self._lock:
            choice = policy.decide(x, keys, costs)
            self._pending[(query.run_id, query.node_id)] = (x, keys, choice)
            self.counters["decisions"] += 1
            self.counters["gated"] += int(choice.gated)
            self.counters["explored"] += int(choice.explored)
            self.counters["reordered"] += int(choice.reordered)
            self._dirty = True
        chosen = names[choice.chosen]
        mean = choice.means[choice.chosen]
        why = (f"p={choice.propensity:.2f}, expected reward {mean:.2f}, confidence {choice.confidence:.2f}"
               + ("; explored" if choice.explored else "") + ("; gated: unsure, top candidates run side by side"
                                                             if choice.gated else ""))
        return Decision(run_id=query.run_id, node_id=query.node_id, capability=query.capability, chosen=chosen,
                        ranking=[names[i] for i in choice.ranking],
                        probabilities={n: round(float(p), 6) for n, p in zip(names, choice.probabilities, strict=True)},
                        propensity=choice.propensity, confident=not choice.gated, gated=choice.gated,
                        alternatives=[names[i] for i in choice.alternatives], explored=choice.explored,
                        router=self.name, reason=why, confidence=round(choice.confidence, 6),
                        expected={n: round(float(m), 6) for n, m in zip(names, choice.means, strict=True)})

    def update(self, decision: Decision, reward: float, expert: str | None = None, *, cost: float = 0.0,
               duration_s: float = 0.0) -> None:
        expert = expert or decision.chosen
        o = self.options
        with self._lock:
            self._learn(decision, reward, expert, reward - o.cost_weight * cost - o.latency_weight * duration_s)

    def _learn(self, decision: Decision, reward: float, expert: str, shaped: float) -> None:
        key = arm_key(decision.capability, expert)
        s = self.stats.setdefault(key, {"calls": 0, "reward": 0.0, "score": 0.0})
        s["calls"] += 1
        s["reward"] += shaped
        s["score"] += reward
        self._dirty = True
        pending = self._pending.get((decision.run_id, decision.node_id))
        if pending is None or self.policy is None:
            return  # a single-candidate node: counted, nothing to learn
        x, keys, _ = pending
        # the chosen expert was drawn with its propensity; gated side-by-side runs and fallbacks ran for sure
        propensity = decision.propensity if expert == decision.chosen and not decision.gated else 1.0
        self.policy.learn(x, key, shaped, propensity, len(keys))
        self._history.append({"t": time.time(), "capability": decision.capability, "expert": expert,
                              "chosen": decision.chosen, "reward": round(shaped, 6), "score": round(reward, 6),
                              "probabilities": decision.probabilities, "gated": decision.gated,
                              "explored": decision.explored})

    def close(self) -> None:
        """Save the state and history (once per run; a no-op without changes or without a state file)."""
        if self.path is None or not self._dirty:
            return
        try:
            with self._lock:
                self._save()
        except OSError as exc:  # losing what one run learned must not fail the run
            log.warning("router state not saved to %s: %s", self.path, exc)

    def _save(self) -> None:
        assert self.path is not None
        if self._header.get("stale") and self.path.is_file():
            self.path.replace(self.path.with_name(self.path.name + ".old"))
            store.history_path(self.path).unlink(missing_ok=True)
            self._header.pop("stale")
        arms = self.policy.arms if self.policy is not None else self._arms_loaded
        features = self._featurizer.identity if self._featurizer is not None else self._header.get("features")
        store.save(self.path, {"features": features, "stats": self.stats, "counters": self.counters,
                               "options": self.options.model_dump(exclude={"state", "seed"}), "saved_at": time.time()},
                   arms)
        store.append_history(self.path, self._history)
        self._history, self._dirty = [], False
        self._pending.clear()  # the run is over: its nodes get no more verdicts


def _state_path(option: str | None) -> Path | None:
    if option is None:
        return store.default_state_path()
    return None if option.strip().lower() == "none" else Path(option).expanduser()
