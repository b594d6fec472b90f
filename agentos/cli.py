"""The `agentos` command line.

Exit codes: 0 the run succeeded, 1 it failed (a node or a check failed, or time ran out),
2 the input was wrong (task file, run id, options), 130 interrupted (resumable).
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from agentos.cli_host import host_app
from agentos.cli_image import image_app
from agentos.cli_plan import plan_command
from agentos.cli_router import router_app
from agentos.cli_ui import ui_command
from agentos.cli_worker import worker_command
from agentos.errors import AgentOSError, UserError

app = typer.Typer(
    name="agentos",
    help="Plan a task graph, route each node to an expert, run it in parallel with checks.\n\n"
         "Example: agentos run examples/quickstart/task.yaml",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
runs_app = typer.Typer(help="Inspect earlier runs. Example: agentos runs show 20261123-101500-ab12cd",
                       no_args_is_help=True)
experts_app = typer.Typer(help="Experts installed here. Example: agentos experts list", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(experts_app, name="experts")
app.add_typer(host_app, name="host")
app.add_typer(router_app, name="router")
app.add_typer(image_app, name="image")

err = Console(stderr=True)
out = Console()
_state = {"debug": False}

F = TypeVar("F", bound=Callable[..., Any])


def _friendly(fn: F) -> F:
    """User errors become one clear message and exit 2; `--debug` shows the traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except AgentOSError as exc:
            if _state["debug"]:
                raise
            err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            if _state["debug"]:
                raise
            err.print(f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}\n"
                      "rerun with --debug for the traceback", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        from agentos import __version__

        out.print(f"agentos {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version.")] = False,
) -> None:
    _state["debug"] = debug


# run ---------------------------------------------------------------------------------------------
@app.command()
@_friendly
def run(
    file: Annotated[Path | None, typer.Argument(help="Task file (YAML). Optional with --resume.")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Runs folder (default ./runs or $AGENTOS_RUNS_DIR).")] = None,
    resume: Annotated[str | None, typer.Option(
        "--resume", help="Finish an interrupted run, skipping finished nodes.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Stream events as JSON lines, then the result.")] = False,
    overrides: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a task-file value: key=value (repeatable).")] = None,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Name the run instead of a timestamped id.")] = None,
    broker: Annotated[str | None, typer.Option(
        "--broker", help="MQTT broker whose workers' experts join the candidates (mqtt://USER@HOST:PORT).")] = None,
    remote_only: Annotated[bool, typer.Option(
        "--remote-only", help="With --broker: only the workers' experts, none of this machine's.")] = False,
) -> None:
    """Run a task file: plan (if it has only a goal), route, execute, check. Writes runs/<run_id>/.

    Example: agentos run examples/quickstart/task.yaml --set budget.max_retries=3
    """
    from agentos.api import arun, run_blocking
    from agentos.cli_view import JsonLines, LiveProgress, print_summary

    if file is None and resume is None:
        raise UserError("give a task file, or --resume RUN_ID")
    if file is not None and resume is not None:
        err.print("[yellow]note:[/] --resume uses the spec stored in the run's journal; the file is not reread")
    started: dict[str, str] = {}

    def remember(event: Any) -> None:
        if event.kind == "run.started":
            started["run_id"] = event.run_id
            started["dir"] = str(output) if output else ""

    live = sys.stdout.isatty() and not as_json
    sinks: list[Callable[[Any], None]] = [remember]
    progress = None
    if as_json:
        sinks.append(JsonLines())
    elif live:
        progress = LiveProgress(out)
        sinks.append(progress)

    def fan(event: Any) -> None:
        for s in sinks:
            s(event)

    try:
        if progress:
            with progress:
                result = run_blocking(arun(file, output=output, resume=resume, overrides=overrides or [],
                                          on_event=fan, run_id=run_id, broker=broker, remote_only=remote_only))
        else:
            result = run_blocking(arun(file, output=output, resume=resume, overrides=overrides or [],
                                      on_event=fan, run_id=run_id, broker=broker, remote_only=remote_only))
    except KeyboardInterrupt:
        rid = started.get("run_id", "?")
        where = f" --output {output}" if output else ""
        err.print(f"[yellow]run {rid} interrupted; finished nodes are saved.[/] "
                  f"Resume with: agentos run --resume {rid}{where}")
        raise typer.Exit(130) from None
    if as_json:
        sys.stdout.write(json.dumps({"kind": "run.result", **result.model_dump(mode="json")}) + "\n")
    else:
        print_summary(out, result, tracebacks=_state["debug"])
    raise typer.Exit(0 if result.ok else 1)


# validate / schema / graph -----------------------------------------------------------------------
@app.command()
@_friendly
def validate(
    file: Annotated[Path, typer.Argument(help="Task file (YAML).")],
    overrides: Annotated[list[str] | None, typer.Option("--set", help="key=value overrides, as for run.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the normalised spec as JSON.")] = False,
) -> None:
    """Check a task file against the installed experts; print the graph summary or every problem.

    Example: agentos validate examples/quickstart/task.yaml
    """
    from agentos.graph import TaskGraph
    from agentos.registry import Registry
    from agentos.taskspec import load_task

    registry = Registry.discover()
    spec = load_task(file, registry, overrides or [])
    if as_json:
        out.print_json(spec.model_dump_json())
        return
    if spec.spoken_goal is not None:
        out.print(f"[green]valid[/]: spoken-goal task; voice.command hears {spec.spoken_goal.audio}, then the host "
                  "plans what it heard.", highlight=False)
        return
    if not spec.graph:
        out.print(f"[green]valid[/]: goal-only task; the host will plan it.\ngoal: {spec.goal}")
        return
    graph = TaskGraph.from_spec(spec)
    path, total = graph.critical_path(registry)
    out.print(f"[green]valid[/]: {len(graph)} nodes, {graph.g.number_of_edges()} edges, "
              f"{len(graph.layers())} layers")
    for i, layer in enumerate(graph.layers()):
        caps = ", ".join(f"{n} ({graph.spec(n).capability})" for n in layer)
        out.print(f"  layer {i}: {caps}", highlight=False)
    out.print(f"  critical path: {' -> '.join(path)} (~{total:.3f}s by latency hints)", highlight=False)


@app.command()
@_friendly
def schema() -> None:
    """Print the JSON Schema of task files (for editors: yaml-language-server, VS Code).

    Example: agentos schema > agentos-task.schema.json
    """
    from agentos.taskspec import task_json_schema

    sys.stdout.write(json.dumps(task_json_schema(), indent=2) + "\n")


@app.command()
@_friendly
def graph(
    file: Annotated[Path, typer.Argument(help="Task file (YAML).")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="mermaid or dot.")] = "mermaid",
) -> None:
    """Print the task graph as Mermaid (default) or Graphviz DOT.

    Example: agentos graph examples/quickstart/task.yaml --format dot | dot -Tsvg > graph.svg
    """
    from agentos.graph import TaskGraph
    from agentos.registry import Registry
    from agentos.taskspec import load_task

    if fmt not in ("mermaid", "dot"):
        raise UserError(f"--format must be mermaid or dot, not {fmt!r}")
    spec = load_task(file, Registry.discover())
    if not spec.graph:
        raise UserError(f"{file}: goal-only task; its graph exists only once the host plans it (agentos run)")
    g = TaskGraph.from_spec(spec)
    sys.stdout.write(g.to_mermaid() if fmt == "mermaid" else g.to_dot())


app.command("plan")(_friendly(plan_command))
app.command("ui")(_friendly(ui_command))
app.command("worker")(_friendly(worker_command))


# runs --------------------------------------------------------------------------------------------
def _runs_root(output: Path | None) -> Path:
    from agentos.api import default_runs_root

    return output or default_runs_root()


@runs_app.command("list")
@_friendly
def runs_list(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Runs folder (default ./runs).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """List runs, newest last. Example: agentos runs list --output /tmp/runs"""
    from rich.table import Table

    from agentos.cli_view import status_text
    from agentos.runs_index import list_runs

    root = _runs_root(output)
    rows = [r.model_dump() for r in list_runs(root)]
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not rows:
        out.print(f"no runs under {root.resolve()}")
        return
    table = Table(header_style="bold")
    for col in ("run", "status", "started", "nodes", "task"):
        table.add_column(col)
    for r in rows:
        nodes = ", ".join(f"{k} {v}" for k, v in sorted(r["nodes"].items()))
        table.add_row(r["run_id"], status_text(r["status"]), time.strftime("%Y-%m-%d %H:%M:%S",
                      time.localtime(r["created"])), nodes, r["task_file"] or "")
    out.print(table)


@runs_app.command("show")
@_friendly
def runs_show(
    run_id: Annotated[str, typer.Argument(help="Run id (see agentos runs list).")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Runs folder (default ./runs).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The run's result as JSON.")] = False,
    events: Annotated[bool, typer.Option("--events", help="The run's event log instead of the summary.")] = False,
) -> None:
    """Show one run: every node's status, expert, attempts, time, checks and errors.

    Example: agentos runs show 20261123-101500-ab12cd --events
    """
    from agentos.api import find_run
    from agentos.cli_view import event_table, print_summary
    from agentos.journal import Journal
    from agentos.result import RunResult
    from agentos.runlock import is_running

    run_dir = find_run(run_id, _runs_root(output))
    result_file = run_dir / "result.json"
    j = Journal.open_existing(run_dir, readonly=True)
    try:
        rec = j.run()
        nodes = j.nodes()
        log = j.events() if events else []
    finally:
        j.close()
    if events:
        if as_json:
            sys.stdout.write(json.dumps(log, indent=2) + "\n")
        else:
            out.print(event_table(log, rec.created))
        return
    if rec.status == "running" and not is_running(run_dir):
        rec.status = "interrupted"
    if result_file.exists() and rec.status not in ("running", "interrupted"):  # else result.json may be stale
        result = RunResult.model_validate_json(result_file.read_text(encoding="utf-8"))
    else:  # interrupted: rebuild what the journal knows
        spec_nodes = [n["id"] for n in rec.spec.get("graph", [])]
        from agentos.result import NodeResult

        result = RunResult(run_id=rec.run_id, status=rec.status,  # type: ignore[arg-type]
                           task_file=rec.task_file, run_dir=str(run_dir.resolve()), started_at=rec.created,
                           nodes={n: nodes.get(n) or NodeResult(id=n, capability=None) for n in spec_nodes})
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        return
    print_summary(out, result, tracebacks=_state["debug"])
    if rec.status in ("interrupted", "cancelled", "timed_out", "failed"):
        out.print(f"[yellow]unfinished[/]: agentos run --resume {rec.run_id}"
                  + (f" --output {output}" if output else ""))


# experts -----------------------------------------------------------------------------------------
@experts_app.command("list")
@_friendly
def experts_list(
    as_json: Annotated[bool, typer.Option("--json", help="Full cards (with input/output schemas) as JSON.")] = False,
    broker: Annotated[str | None, typer.Option(
        "--broker", help="Also the experts live workers serve on this MQTT broker (EXPERT@WORKER).")] = None,
) -> None:
    """Every installed expert and its operations. Example: agentos experts list --json"""
    from rich.table import Table

    from agentos.registry import Registry

    reg = Registry.discover()
    if broker:
        reg = Registry([*reg, *_remote_experts(broker, reg)])
    if as_json:
        sys.stdout.write(json.dumps({"experts": reg.catalogue(),
                                     "failures": [f.__dict__ for f in reg.failures]}, indent=2) + "\n")
        return
    table = Table(header_style="bold")
    for col in ("expert", "domain", "capability", "inputs", "outputs", "cost", "latency"):
        table.add_column(col)
    for e in sorted(reg, key=lambda e: e.card.name):
        for op in e.card.operations:
            table.add_row(e.card.name, e.card.domain, op.capability, ", ".join(op.input_model.model_fields),
                          ", ".join(op.output_model.model_fields), f"{op.cost:g}", f"{op.latency_s:g}s")
    out.print(table)
    for f in reg.failures:
        err.print(f"[yellow]could not load[/] {f.source}: {f.error}", highlight=False)


def _remote_experts(url: str, local: Any) -> list[Any]:
    """The experts the live workers on `url` serve, read from their retained announces."""
    import asyncio

    from agentos.bus import Dispatcher, parse_broker

    async def read() -> list[Any]:
        d = Dispatcher(parse_broker(url))
        await d.start()
        try:
            return d.experts(local)
        finally:
            await d.close()

    return asyncio.run(read())


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        sys.exit(130)
