"""`agentos plan "request"`: show the task graph the host would build, without running it."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any, cast, get_args

import typer
from rich.console import Console
from rich.table import Table

from agentos.errors import HostNotConfiguredError, PlanDeclinedError, UserError
from agentos.host_agent import PromptStyle

err = Console(stderr=True)
out = Console()


def plan_command(
    request: Annotated[str, typer.Argument(help="What you want done, in plain language (English or Chinese).")],
    catalogue: Annotated[Path | None, typer.Option(
        "--catalogue", "-c", help="Plan against this catalogue (JSON/YAML list, or compact lines "
        "`cap(in, opt?) -> out | description`) instead of the installed experts.")] = None,
    inputs: Annotated[list[str] | None, typer.Option(
        "--input", "-i", help="A task input NAME=VALUE the plan may reference as ${inputs.NAME} (repeatable).")] = None,
    model_dir: Annotated[Path | None, typer.Option(
        "--model-dir", help="Plan with this local model folder (default: the configured host, else the "
        "bundled step3p5-mini).")] = None,
    prompt: Annotated[str, typer.Option("--prompt", help="auto, full or compact (see docs/host.md).")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print only the task-graph JSON.")] = False,
) -> None:
    """Plan a request into a task graph and print it (a table and Mermaid); nothing runs.

    Example: agentos plan "Summarise the notes and pick 5 keywords" -i notes=examples/quickstart/notes
    """
    from agentos.graph import TaskGraph
    from agentos.host_agent import HostAgent, host_from_settings
    from agentos.planning.catalogue import load_catalogue, registry_from_entries
    from agentos.registry import Registry
    from agentos.taskspec import HostSettings, parse_task

    if prompt not in get_args(PromptStyle):
        raise UserError(f"--prompt must be auto, full or compact, not {prompt!r}")
    registry = registry_from_entries(load_catalogue(catalogue)) if catalogue else Registry.discover()
    if not len(registry):
        raise UserError("no capabilities to plan with: install experts or pass --catalogue FILE")
    values = _inputs(inputs or [])
    spec = parse_task({"goal": request, "inputs": values}, registry, base_dir=Path.cwd())
    host = host_from_settings(HostSettings(model_dir=str(model_dir) if model_dir else None))
    if host is None:
        raise HostNotConfiguredError("no host model to plan with: set AGENTOS_HOST_URL and AGENTOS_HOST_MODEL, "
                                     "or pass --model-dir, or install the bundled step3p5-mini")
    agent = HostAgent(host, registry, prompt=cast(PromptStyle, prompt))
    try:
        with err.status(f"planning with {host.name} ...", spinner="dots"):
            nodes = asyncio.run(agent.plan(spec))
    except PlanDeclinedError as exc:
        if as_json:
            sys.stdout.write(json.dumps({exc.kind: exc.reason}, ensure_ascii=False) + "\n")
        raise
    finally:
        close = getattr(host, "close", None)
        if close:
            close()
    graph = TaskGraph(nodes)
    if as_json:
        plan = {"nodes": [n.model_dump(mode="json", exclude_defaults=True) for n in nodes]}
        sys.stdout.write(json.dumps(plan, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title=f"plan by {agent.backend}: {len(graph)} nodes, {graph.g.number_of_edges()} edges",
                  title_justify="left")
    for col in ("id", "capability", "inputs", "waits for"):
        table.add_column(col, overflow="fold")
    for n in nodes:
        table.add_row(n.id, n.capability or "", json.dumps(n.inputs, ensure_ascii=False),
                      ", ".join(graph.predecessors(n.id)))
    out.print(table)
    out.print(graph.to_mermaid(), highlight=False, markup=False)


def _inputs(pairs: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        if not eq or not name.strip():
            raise UserError(f"--input {pair!r}: expected NAME=VALUE")
        values[name.strip()] = value
    return values
