"""The seed's two router charts, and the benchmark's curves, as PNG files (matplotlib, Agg).

Both router charts read decision records: {"capability", "expert", "probabilities", "reward"},
the rows of the state's history log (or of a benchmark replay).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    if len(values) < window or window <= 1:
        return values
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def weight_series(records: list[dict[str, Any]]) -> dict[str, dict[str, list[float]]]:
    """pi per expert over the decisions, per capability that had a choice: capability -> expert -> [pi, ...]."""
    by_cap: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if len(r.get("probabilities", {})) > 1:
            by_cap[r["capability"]].append(r)
    out = {}
    for cap in sorted(by_cap):
        rows = by_cap[cap]
        experts = sorted({e for r in rows for e in r["probabilities"]})
        out[cap] = {e: [float(r["probabilities"].get(e, 0.0)) for r in rows] for e in experts}
    return out


def contribution_series(records: list[dict[str, Any]], windows: int = 20) -> tuple[list[float], dict[str, list[float]]]:
    """The share of the reward each expert earned per window of calls: (window centres, expert -> shares)."""
    experts = sorted({r["expert"] for r in records})
    n = len(records)
    if not n:
        return [], {}
    edges = np.linspace(0, n, min(windows, n) + 1).astype(int)
    shares = np.zeros((len(experts), len(edges) - 1))
    for w in range(len(edges) - 1):
        chunk = records[edges[w]: edges[w + 1]]
        gains = np.array([sum(max(r["reward"], 0.0) for r in chunk if r["expert"] == e) for e in experts])
        shares[:, w] = gains / gains.sum() if gains.sum() > 0 else 0.0
    centres = ((edges[:-1] + edges[1:]) / 2).tolist()
    return centres, {e: shares[i].tolist() for i, e in enumerate(experts)}


def routing_weights(records: list[dict[str, Any]], path: Path, title: str = "routing weights") -> Path:
    """pi per expert over the decisions, one panel per capability that had a choice."""
    plt = _pyplot()
    series = weight_series(records)
    caps = list(series) or ["(no decisions with a choice yet)"]
    fig, axes = plt.subplots(len(caps), 1, figsize=(8, 2.8 * len(caps)), squeeze=False)
    for ax, cap in zip(axes[:, 0], caps, strict=True):
        experts = series.get(cap, {})
        for e, values in experts.items():
            p = np.array(values)
            window = max(1, len(p) // 50)
            ax.plot(np.arange(len(_smooth(p, window))) + window, _smooth(p, window), label=e)
        ax.set_title(f"{title}: {cap}")
        ax.set_xlabel("decision")
        ax.set_ylabel("pi (probability)")
        ax.set_ylim(0, 1)
        if experts:
            ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    return _save(fig, path, plt)


def contributions(records: list[dict[str, Any]], path: Path, windows: int = 20,
                  title: str = "expert contribution") -> Path:
    """Stacked share of the reward each expert earned, per window of calls."""
    plt = _pyplot()
    centres, shares = contribution_series(records, windows)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    if centres:
        ax.stackplot(centres, list(shares.values()), labels=list(shares))
        ax.legend(loc="upper left", fontsize=7, ncol=min(len(shares), 4))
    ax.set_title(title)
    ax.set_xlabel("call")
    ax.set_ylabel("share of reward")
    ax.set_ylim(0, 1)
    fig.tight_layout()
    return _save(fig, path, plt)


def curves(series: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, *, title: str, xlabel: str, ylabel: str,
           marker_x: float | None = None) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    for name, (x, y) in series.items():
        ax.plot(x, y, label=name)
    if marker_x is not None:
        ax.axvline(marker_x, color="grey", linestyle="--", linewidth=1)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path, plt)


def _save(fig: Any, path: Path, plt: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
