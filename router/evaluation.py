"""Replay a `Problem` against a policy: regret, drift recovery, calibration, gate risk-coverage."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from router.baselines import BanditPolicy, Ours
from router.environments import Problem


@dataclass
class Trace:
    """What one policy did on one problem, round by round."""

    policy: str
    problem: str
    regret: np.ndarray  # per round, expected
    reward: np.ndarray  # per round, expected net reward of what ran
    confidence: np.ndarray  # the policy's confidence that its top arm is the best
    top_is_best: np.ndarray  # bool: was that top arm really the best
    chosen: np.ndarray
    probabilities: list[dict[str, float]] = field(default_factory=list)  # pi over the round's candidates
    decide_us: np.ndarray = field(default_factory=lambda: np.zeros(0))
    gated: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    extra_calls: int = 0
    arms: list[str] = field(default_factory=list)  # the problem's arms; `chosen` indexes them

    def summary(self, drift_at: int | None) -> dict[str, float | int | None]:
        n = len(self.regret)
        tail = slice(max(0, n - n // 10), n)
        return {"cumulative_regret": float(self.regret.sum()), "final_reward": float(self.reward[tail].mean()),
                "recovery_rounds": recovery_rounds(self.regret, drift_at),
                "ece": ece(self.confidence, self.top_is_best), "decide_us_mean": float(self.decide_us.mean()),
                "decide_us_p99": float(np.percentile(self.decide_us, 99)),
                "gate_rate": float(self.gated.mean()) if len(self.gated) else 0.0, "extra_calls": self.extra_calls}


def replay(problem: Problem, policy: BanditPolicy, *, seed: int = 0) -> Trace:
    """Run every round; noise comes from `seed`, so all policies see the same draws."""
    noise = np.random.default_rng(10_000 + seed).normal(0.0, problem.noise or 0.0, size=problem.quality.shape)
    net = problem.net()
    T = problem.rounds
    regret, reward, conf = np.zeros(T), np.zeros(T), np.zeros(T)
    best_hit, chosen_all, gated = np.zeros(T, dtype=bool), np.zeros(T, dtype=int), np.zeros(T, dtype=bool)
    decide = np.zeros(T)
    extra = 0
    probs: list[dict[str, float]] = []
    names = problem.arms
    for t in range(T):
        idx = problem.keys(t)
        keys = [names[i] for i in idx]
        x = problem.X[t]
        costs = [float(problem.costs[i]) for i in idx]
        ours = policy if isinstance(policy, Ours) else None  # ours also gets costs, and may gate
        t0 = time.perf_counter()
        local, pmf = ours.act(x, keys, costs) if ours else policy.act(x, keys)
        decide[t] = (time.perf_counter() - t0) * 1e6
        best = float(net[t, idx].max())
        if ours:
            choice = ours.last
            conf[t] = choice.confidence
            top = int(np.argmax(choice.means))
        else:
            top = int(np.argmax(pmf))
            conf[t] = float(pmf[top])
        best_hit[t] = net[t, idx[top]] >= best - 1e-9
        probs.append(dict(zip(keys, map(float, pmf), strict=True)))
        if ours and ours.last.gated:
            alts = ours.last.alternatives
            observed = [problem.quality[t, idx[a]] + noise[t, idx[a]] for a in alts]
            spent = problem.cost_weight * sum(problem.costs[idx[a]] for a in alts)
            for a, q in zip(alts, observed, strict=True):
                ours.policy.learn(x, keys[a], q - problem.cost_weight * problem.costs[idx[a]], 1.0, len(keys))
            kept = alts[int(np.argmax(observed))]
            reward[t] = problem.quality[t, idx[kept]] - spent
            gated[t], extra = True, extra + len(alts) - 1
            chosen_all[t] = idx[kept]
        else:
            arm = idx[local]
            r = net[t, arm] + noise[t, arm]
            policy.learn(x, keys, local, float(r), float(pmf[local]))
            reward[t] = net[t, arm]
            chosen_all[t] = arm
        regret[t] = best - reward[t]
    return Trace(policy.name, problem.name, regret, reward, conf, best_hit, chosen_all, probs, decide, gated, extra,
                 problem.arms)


def recovery_rounds(regret: np.ndarray, drift_at: int | None, window: int = 100) -> int | None:
    """Rounds after the drift until the rolling regret is back within 0.02 of its level just before."""
    if drift_at is None or drift_at < window:
        return None
    before = regret[drift_at - window: drift_at].mean()
    kernel = np.ones(window) / window
    after = np.convolve(regret[drift_at:], kernel, mode="valid")  # after[i] = mean of rounds i .. i+window-1
    ok = np.flatnonzero(after <= before + 0.02)
    return int(ok[0] + window) if len(ok) else None


def ece(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: |accuracy - confidence| per confidence bin, weighted by bin size."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            total += m.mean() * abs(correct[m].mean() - confidence[m].mean())
    return float(total)


def risk_coverage(confidence: np.ndarray, regret: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Coverage vs mean regret of the decisions kept when the least confident ones are gated; and the area."""
    order = np.argsort(-confidence, kind="stable")
    kept = np.cumsum(regret[order]) / np.arange(1, len(order) + 1)
    coverage = np.arange(1, len(order) + 1) / len(order)
    return coverage, kept, float(np.trapezoid(kept, coverage))


def cascade_costs(problem: Problem, policy: Ours, *, seed: int = 0, pass_at: float = 0.5) -> dict[str, float]:
    """Fallback cost: per round, candidates are called in order until one passes (observed quality >=
    `pass_at`); the policy's cost-aware ranking against the same policy's plain probability order."""
    noise = np.random.default_rng(20_000 + seed).normal(0.0, problem.noise or 0.0, size=problem.quality.shape)
    totals = {"cost_aware": 0.0, "by_probability": 0.0, "calls_cost_aware": 0, "calls_by_probability": 0}
    for t in range(problem.rounds):
        idx = problem.keys(t)
        keys = [problem.arms[i] for i in idx]
        costs = [float(problem.costs[i]) for i in idx]
        x = problem.X[t]
        policy.act(x, keys, costs)
        choice = policy.last
        by_prob = [choice.chosen] + [int(i) for i in np.argsort(-choice.probabilities, kind="stable")
                                     if i != choice.chosen]
        for name, order in (("cost_aware", choice.ranking), ("by_probability", by_prob)):
            for a in order:
                totals[name] += costs[a]
                totals[f"calls_{name}"] += 1
                if problem.quality[t, idx[a]] + noise[t, idx[a]] >= pass_at:
                    break
        first = idx[choice.chosen]
        r = problem.quality[t, first] + noise[t, first] - problem.cost_weight * problem.costs[first]
        policy.learn(x, keys, choice.chosen, float(r), choice.propensity)
    return totals
