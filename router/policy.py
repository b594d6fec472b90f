"""The adaptive softmax policy over a changing set of arms: pi = softmax((mu + bonus) / T).

Each arm (an expert for one capability) keeps its own reward model on the shared features z, so
arms join and leave without touching the others: the action-dependent-feature layout of
VW's `--cb_explore_adf`. Exploration has three parts: the softmax itself, a probability floor
that keeps every arm reachable, and an optimism bonus proportional to the arm's posterior width,
which decays as the arm is tried. The confidence is the posterior probability that the top arm
is really the best; below the gate, the top arms run side by side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from router.ridge import DiscountedRidge


class PolicyConfig(BaseModel):
    """How the policy explores, learns and gates (every field is a router option)."""

    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(0.01, gt=0, description="softmax temperature, in reward units")
    floor: float = Field(0.001, ge=0, lt=0.5, description="least probability of any candidate (capped at 0.5/K)")
    bonus: float = Field(2.0, ge=0, description="optimism: posterior standard deviations added to each mean")
    l2: float = Field(1.0, gt=0, description="ridge prior strength")
    discount: float = Field(1.0, gt=0, le=1, description="weight kept by old evidence per update; < 1 forgets "
                            "steadily (drift is handled by shift_z by default)")
    shift_z: float = Field(4.0, ge=0, description="forget an expert's old evidence when its recent residuals "
                           "drift this many standard deviations from 0 (change detection); 0 off")
    prior_mean: float = Field(0.5, description="expected reward of an expert never tried")
    importance: bool = Field(True, description="weight each update by 1/propensity, clipped")
    importance_clip: float = Field(3.0, ge=1, description="largest importance weight")
    gate_confidence: float = Field(0.0, ge=0, le=1, description="gate below this P(top is best); 0 never gates")
    gate_margin: float = Field(0.0, ge=0, le=1, description="gate when pi1 - pi2 is below this; 0 never gates")
    gate_k: int = Field(2, ge=2, description="candidates run side by side when gated")
    gate_resolution: float = Field(0.05, ge=0, description="gate only while the top two differ by an amount still "
                                   "this uncertain (sd of the difference); tied, well-known experts never gate")
    seed: int | None = Field(None, description="seed of the exploration sampling (None: fresh each run)")


@dataclass
class Choice:
    """One decision over `arms` (indices refer to that list)."""

    arms: list[str]
    probabilities: np.ndarray
    means: np.ndarray
    chosen: int
    confidence: float
    gated: bool = False
    alternatives: list[int] = field(default_factory=list)
    ranking: list[int] = field(default_factory=list)
    reordered: bool = False  # the cost-aware order differs from the probability order

    @property
    def propensity(self) -> float:
        return float(self.probabilities[self.chosen])

    @property
    def explored(self) -> bool:
        return self.chosen != int(np.argmax(self.probabilities))


class SoftmaxPolicy:
    """Arms by key, each a `DiscountedRidge` over the same `dim` features."""

    def __init__(self, dim: int, config: PolicyConfig | None = None):
        self.dim = dim
        self.config = config or PolicyConfig()
        self.arms: dict[str, DiscountedRidge] = {}
        self.rng = np.random.default_rng(self.config.seed)

    def arm(self, key: str, peers: tuple[str, ...] | list[str] = ()) -> DiscountedRidge:
        """The arm for `key`, created on first sight. A newcomer among `peers` that have earned rewards
        starts at the best of their mean rewards (optimistic: tried soon, kept only if it holds up);
        with no such peers it starts at `prior_mean`."""
        found = self.arms.get(key)
        if found is None:
            c = self.config
            seen = [m for p in peers if p in self.arms and (m := self.arms[p].mean_reward()) is not None]
            start = max(seen) if seen else c.prior_mean
            found = self.arms[key] = DiscountedRidge(self.dim, l2=c.l2, discount=c.discount, prior_mean=start,
                                                      shift_z=c.shift_z)
        return found

    def decide(self, x: np.ndarray, keys: list[str], costs: list[float] | None = None) -> Choice:
        c = self.config
        arms = [self.arm(k, keys) for k in keys]
        means = np.array([a.mean(x) for a in arms])
        sds = np.array([a.noise() * a.width(x) for a in arms])
        probs = _softmax((means + c.bonus * sds) / c.temperature)
        k = len(keys)
        floor = min(c.floor, 0.5 / k)
        probs = (1.0 - k * floor) * probs + floor
        chosen = int(self.rng.choice(k, p=probs)) if k > 1 else 0
        confidence = _p_top_is_best(means, sds)
        order = [int(i) for i in np.argsort(-probs, kind="stable")]
        by_mean = np.argsort(-means, kind="stable")
        unresolved = k > 1 and math.hypot(sds[by_mean[0]], sds[by_mean[1]]) > c.gate_resolution
        gated = unresolved and (confidence < c.gate_confidence or probs[order[0]] - probs[order[1]] < c.gate_margin)
        choice = Choice(keys, probs, means, chosen, confidence, gated)
        choice.ranking, choice.reordered = _cost_aware_ranking(chosen, order, means, costs)
        if gated:
            top = sorted(order[: c.gate_k], key=choice.ranking.index)
            choice.alternatives = top
        return choice

    def learn(self, x: np.ndarray, key: str, reward: float, propensity: float = 1.0, candidates: int = 1) -> None:
        c = self.config
        weight = 1.0
        if c.importance and candidates > 1:
            weight = min(1.0 / max(propensity, 1e-6), c.importance_clip)
        self.arm(key).update(x, reward, weight)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def _p_top_is_best(means: np.ndarray, sds: np.ndarray) -> float:
    """P(the arm with the highest mean really is the best), Gaussian posteriors, pairs independent."""
    if len(means) < 2:
        return 1.0
    top = int(np.argmax(means))
    p = 1.0
    for j in range(len(means)):
        if j != top:
            s = math.sqrt(sds[top] ** 2 + sds[j] ** 2) or 1e-12
            p *= 0.5 * (1.0 + math.erf((means[top] - means[j]) / (s * math.sqrt(2.0))))
    return p


def _cost_aware_ranking(chosen: int, order: list[int], means: np.ndarray,
                        costs: list[float] | None) -> tuple[list[int], bool]:
    """The chosen arm first, then the rest by expected reward per unit of cost (what fallbacks walk)."""
    rest = [i for i in order if i != chosen]
    if costs is None:
        return [chosen, *rest], False
    by_value = sorted(rest, key=lambda i: -(means[i] / (costs[i] + 1e-3)))
    return [chosen, *by_value], by_value != rest
