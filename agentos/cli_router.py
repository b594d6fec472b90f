"""`agentos router ...`: what the adaptive router has learned, its charts, and a reset.

The state file is the one `agentos run` uses: $AGENTOS_ROUTER_STATE, else ~/.agentos/router/state.npz
(`--state` picks another). numpy and matplotlib are imported inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from agentos.errors import UserError

router_app = typer.Typer(help="What the adaptive router learned. Example: agentos router show",
                         no_args_is_help=True, rich_markup_mode="rich")
out = Console()

StateOpt = Annotated[Path | None, typer.Option(
    "--state", help="router state file (default $AGENTOS_ROUTER_STATE or ~/.agentos/router/state.npz)")]


def _state_file(state: Path | None) -> Path:
    from router.state import default_state_path

    path = state or default_state_path()
    if path is None:
        raise UserError("AGENTOS_ROUTER_STATE is `none`: the router keeps no state file; pass --state")
    return path


def _summary(path: Path) -> dict:
    from router.state import summary

    if not path.is_file():
        raise UserError(f"no router state at {path} yet: it is written after the first `agentos run` whose "
                        "nodes had more than one candidate expert")
    return summary(path)


@router_app.command("show")
def router_show(state: StateOpt = None,
                json_out: Annotated[bool, typer.Option("--json", help="print JSON only")] = False) -> None:
    """Per expert: traffic, mean reward (score minus cost penalty), what the model learned from.

    Example: agentos router show --json
    """
    from agentos.cli import _friendly

    _friendly(lambda: _show(_state_file(state), json_out))()


def _show(path: Path, json_out: bool) -> None:
    summary = _summary(path)
    if json_out:
        print(json.dumps(summary, indent=2))
        return
    c = summary["counters"]
    out.print(f"router state {summary['state']} (v{summary['version']}, features {summary['features']})")
    out.print(f"decisions {c.get('decisions', 0)} · gated {c.get('gated', 0)} · explored {c.get('explored', 0)} · "
              f"reordered by reward per cost {c.get('reordered', 0)} · single-candidate {c.get('single_candidate', 0)}")
    t = Table()
    for col in ("capability", "expert", "calls", "mean reward", "mean score", "learned from", "|w|"):
        t.add_column(col, justify="left" if col in ("capability", "expert") else "right")
    for r in summary["experts"]:
        t.add_row(r["capability"], r["expert"], str(r["calls"]),
                  "-" if r["mean_reward"] is None else f"{r['mean_reward']:.3f}",
                  "-" if r["mean_score"] is None else f"{r['mean_score']:.3f}", str(r["learned_from"]),
                  f"{r['weight_norm']:.3f}")
    out.print(t)


@router_app.command("plot")
def router_plot(state: StateOpt = None,
                out_dir: Annotated[Path, typer.Option("--out", "-o", help="folder for the PNGs")] = Path(".")) -> None:
    """Write router-weights.png (pi per expert over decisions) and router-contribution.png (stacked
    share of reward per expert).

    Example: agentos router plot --out charts/
    """
    from agentos.cli import _friendly

    _friendly(lambda: _plot(_state_file(state), out_dir))()


def _plot(path: Path, out_dir: Path) -> None:
    from router import plots
    from router.state import read_history

    _summary(path)  # a clear error when there is no state yet
    records = read_history(path)
    if not records:
        raise UserError(f"{path} has no decision history to plot yet")
    a = plots.routing_weights(records, out_dir / "router-weights.png")
    b = plots.contributions(records, out_dir / "router-contribution.png")
    out.print(f"wrote {a} and {b} ({len(records)} calls)")


@router_app.command("reset")
def router_reset(state: StateOpt = None,
                 yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False) -> None:
    """Forget everything the router learned (the state file and its history).

    Example: agentos router reset --yes
    """
    from agentos.cli import _friendly

    _friendly(lambda: _reset(_state_file(state), yes))()


def _reset(path: Path, yes: bool) -> None:
    from router.state import reset

    if not yes and not typer.confirm(f"forget what the router learned ({path})?"):
        raise typer.Exit(1)
    gone = reset(path)
    out.print(f"removed {', '.join(map(str, gone))}" if gone else f"nothing to remove at {path}")
