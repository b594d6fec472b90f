"""The router's saved state: one versioned `.npz` (arm models + a JSON header) and a history log.

The header names the feature identity the models were trained on; a state written with other
features (say, hashing after MiniLM was uninstalled) is set aside as `<file>.old`, never mixed in.
Writes go to a temporary file renamed over the old one, so a crash never leaves half a state. Two
runs at once: the one that finishes last wins (its in-memory models replace the file).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from agentos.errors import UserError
from router.ridge import DiscountedRidge

FORMAT = "agentos-router-state"
VERSION = 1
STATE_ENV = "AGENTOS_ROUTER_STATE"


def default_state_path() -> Path | None:
    """$AGENTOS_ROUTER_STATE (`none` keeps the state in memory only), else ~/.agentos/router/state.npz."""
    value = os.environ.get(STATE_ENV)
    if value is not None:
        return None if value.strip().lower() in ("", "none") else Path(value).expanduser()
    return Path("~/.agentos/router/state.npz").expanduser()


def history_path(state: Path) -> Path:
    return state.with_name(state.name + ".history.jsonl")


def save(path: Path, header: dict[str, Any], arms: dict[str, DiscountedRidge]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    keys = sorted(arms)
    for i, key in enumerate(keys):
        for name, value in arms[key].arrays().items():
            arrays[f"arm{i}.{name}"] = value
    head = {"format": FORMAT, "version": VERSION, **header, "arms": keys}
    arrays["header"] = np.frombuffer(json.dumps(head).encode(), dtype=np.uint8)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, path)


def load(path: Path) -> tuple[dict[str, Any], dict[str, DiscountedRidge]]:
    """(header, arms) of a saved state; a clear error for a file that is not one."""
    try:
        with np.load(path, allow_pickle=False) as data:
            head = json.loads(bytes(data["header"]).decode())
            if head.get("format") != FORMAT:
                raise UserError(f"{path} is not a router state (format {head.get('format')!r})")
            if head.get("version") != VERSION:
                raise UserError(f"{path}: router state version {head.get('version')} is not supported (this "
                                f"AgentOS reads version {VERSION}); `agentos router reset` starts a new one")
            arms = {}
            for i, key in enumerate(head["arms"]):
                arms[key] = DiscountedRidge.from_arrays(
                    {n: data[f"arm{i}.{n}"] for n in ("A", "b", "scalars")})
    except UserError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"{path} could not be read as a router state ({type(exc).__name__}: {exc}); "
                        "`agentos router reset` starts a new one") from None
    return head, arms


def read_history(state: Path, limit: int | None = None) -> list[dict[str, Any]]:
    path = history_path(state)
    if not path.is_file():
        return []
    lines = path.read_text().splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    return rows[-limit:] if limit else rows


def append_history(state: Path, rows: list[dict[str, Any]], keep: int = 20_000) -> None:
    if not rows:
        return
    path = history_path(state)
    old = read_history(state)
    kept = (old + rows)[-keep:]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in kept))
    os.replace(tmp, path)


def reset(state: Path) -> list[Path]:
    """Remove the state and its history; the paths that were there."""
    gone = []
    for p in (state, history_path(state)):
        if p.exists():
            p.unlink()
            gone.append(p)
    return gone


def summary(path: Path) -> dict[str, Any]:
    """What the state at `path` holds, per capability and expert: calls, mean reward and score, the evidence
    its ridge has, and how many decisions the history log keeps (`agentos router show`, the UI)."""
    header, arms = load(path)
    rows = []
    for key in sorted(set(header.get("stats", {})) | set(arms)):
        capability, _, expert = key.partition("::")
        s = header.get("stats", {}).get(key, {})
        arm = arms.get(key)
        calls = int(s.get("calls", 0))
        rows.append({"capability": capability, "expert": expert, "calls": calls,
                     "mean_reward": s["reward"] / calls if calls else None,
                     "mean_score": s["score"] / calls if calls else None,
                     "learned_from": arm.pulls if arm else 0, "evidence": round(arm.weight, 3) if arm else 0.0,
                     "weight_norm": round(float((arm.theta ** 2).sum() ** 0.5), 4) if arm else 0.0})
    return {"state": str(path), "version": header.get("version"), "features": header.get("features"),
            "counters": header.get("counters", {}), "experts": rows, "history": len(read_history(path))}
