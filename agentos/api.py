"""The public Python API: `agentos.run(...)` and `await agentos.arun(...)`.

One code path for the CLI, the SDK and (later) the UI: load or resume a task, plan it with the
host when it has only a goal, build the graph, and hand it to the runtime with a fresh journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agentos.checks import NodeCheck
from agentos.errors import AgentOSError, HostNotConfiguredError, RunNotFoundError, UserError
from agentos.events import RunFinished, RunPlanned, RunPlanning, RunStarted
from agentos.graph import TaskGraph
from agentos.journal import JOURNAL_NAME, Journal
from agentos.registry import Registry
from agentos.result import NodeResult, RunResult
from agentos.routing import Router, make_router
from agentos.runlock import RunLock
from agentos.runtime import Runtime
from agentos.spoken_goal import plan_heard
from agentos.taskspec import NodeSpec, TaskSpec, apply_overrides, load_task, parse_task, restore_task

RUNS_ENV = "AGENTOS_RUNS_DIR"
BROKER_ENV = "AGENTOS_BROKER"


def default_runs_root() -> Path:
    return Path(os.environ.get(RUNS_ENV, "runs"))


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def find_run(run_id: str, runs_root: Path | None = None) -> Path:
    root = runs_root or default_runs_root()
    run_dir = root / run_id
    if not (run_dir / JOURNAL_NAME).exists():
        known = sorted(p.name for p in root.glob("*") if (p / JOURNAL_NAME).exists()) if root.exists() else []
        hint = f"runs there: {', '.join(known[-5:])}" if known else "no runs there yet"
        raise RunNotFoundError(f"no run `{run_id}` under {root.resolve()} ({hint}; use --output to look elsewhere)")
    return run_dir


def load_spec(task: str | Path | TaskSpec | dict[str, Any], registry: Registry,
              overrides: list[str] | None = None, base_dir: str | Path | None = None) -> TaskSpec:
    """A path to a task file, a dict in task-file form, or a TaskSpec. A dict's relative paths resolve
    against `base_dir` (default: the current folder) and must stay inside it, as a file's do its folder."""
    if isinstance(task, TaskSpec):
        data = task.model_dump(exclude_unset=True)
        return parse_task(apply_overrides(data, overrides or []), registry, base_dir=task.base_dir, file=task.file)
    if isinstance(task, dict):
        return parse_task(apply_overrides(dict(task), overrides or []), registry,
                          base_dir=Path(base_dir) if base_dir is not None else Path.cwd())
    return load_task(Path(task), registry, overrides)


def _host(spec: TaskSpec) -> Any:
    from agentos.host_agent import host_from_settings

    return host_from_settings(spec.host)


@dataclass
class _Opened:
    """A run ready to go: its spec, its locked folder and journal, and what an earlier attempt left."""

    run_id: str
    run_dir: Path
    spec: TaskSpec
    journal: Journal
    lock: RunLock
    started: float
    prior: dict[str, NodeResult] = field(default_factory=dict)
    planned_by: str | None = None
    resumed: int = 0
    planning_s: float | None = None  # run start -> plan complete, when the host planned in this attempt


def _open_new(spec: TaskSpec, host: Any, output: str | Path | None, run_id: str | None) -> _Opened:
    if not spec.graph and host is None:
        raise HostNotConfiguredError(
            "this task has only a `goal` (or a `spoken_goal`), so a host model must plan it, and none is configured. "
            "Set `host: {base_url: http://127.0.0.1:8000/v1, model: NAME}` in the task file, or "
            "export AGENTOS_HOST_URL and AGENTOS_HOST_MODEL (and AGENTOS_HOST_API_KEY if the "
            "endpoint needs one); or write the nodes yourself under `graph:`")
    if output:
        runs_root = Path(output)
    elif spec.output:
        runs_root = spec.base_dir / spec.output
    else:
        runs_root = default_runs_root()
    run_id = run_id or new_run_id()
    run_dir = runs_root / run_id
    if run_dir.exists():
        raise UserError(f"run folder {run_dir} already exists")
    try:
        lock = RunLock(run_dir, run_id).acquire()
    except OSError as exc:
        raise UserError(f"cannot create the run folder {run_dir}: {exc.strerror}") from None
    try:
        journal = Journal(run_dir / JOURNAL_NAME)
        journal.create_run(run_id, spec.model_dump(mode="json"), spec.base_dir, spec.file)
    except BaseException:
        lock.release()
        raise
    return _Opened(run_id, run_dir.resolve(), spec, journal, lock, started=time.time())


def _open_resumed(run_id: str, output: str | Path | None) -> _Opened:
    run_dir = find_run(run_id, Path(output) if output else default_runs_root())
    lock = RunLock(run_dir, run_id).acquire()
    try:
        journal = Journal.open_existing(run_dir)
        record = journal.run()
        spec = restore_task(record.spec, Path(record.base_dir), Path(record.task_file) if record.task_file else None)
        journal.set_status(record.run_id, "running", resumed=True)
    except BaseException:
        lock.release()
        raise
    return _Opened(record.run_id, run_dir.resolve(), spec, journal, lock, started=record.created,
                   prior=journal.nodes(), planned_by=record.planned_by, resumed=record.resumed + 1)


async def arun(task: str | Path | TaskSpec | dict[str, Any] | None = None, *, output: str | Path | None = None,
               resume: str | None = None, overrides: list[str] | None = None, registry: Registry | None = None,
               router: Router | None = None, host: Any = None,
               on_event: Callable[[Any], None] | None = None, run_id: str | None = None,
               checks: list[NodeCheck] | None = None, base_dir: str | Path | None = None,
               broker: str | None = None, remote_only: bool = False) -> RunResult:
    """Run a task (or resume run `resume`) and return its structured result.

    `checks` replaces the node checks (default `agentos.checks.NODE_CHECKS`); add yours to that list.
    `base_dir`: the folder a dict task's paths resolve in (default: the current one).
    `broker` (else the task's `broker`, else $AGENTOS_BROKER): an MQTT broker whose workers' experts join
    the candidates (`remote_only`: instead of the local ones).
    """
    registry = registry or Registry.discover()
    url = broker or os.environ.get(BROKER_ENV) or _declared_broker(task, resume, output)
    if not url:
        return await _arun(task, output=output, resume=resume, overrides=overrides, registry=registry,
                           router=router, host=host, on_event=on_event, run_id=run_id, checks=checks,
                           base_dir=base_dir)
    from agentos.bus import Dispatcher, parse_broker

    dispatcher = Dispatcher(parse_broker(url))
    await dispatcher.start()
    try:
        remote = dispatcher.experts(registry)
        both = Registry(remote if remote_only else [*registry, *remote])
        return await _arun(task, output=output, resume=resume, overrides=overrides, registry=both, router=router,
                           host=host, on_event=on_event, run_id=run_id, checks=checks, base_dir=base_dir)
    finally:
        await dispatcher.close()


def _declared_broker(task: Any, resume: str | None, output: str | Path | None) -> str | None:
    """The `broker:` a task declares, read before it is validated (its experts are needed to validate it)."""
    if resume:
        try:
            j = Journal.open_existing(find_run(resume, Path(output) if output else default_runs_root()), readonly=True)
        except AgentOSError:
            return None  # the resume itself reports the missing run
        try:
            return j.run().spec.get("broker")
        finally:
            j.close()
    if isinstance(task, TaskSpec):
        return task.broker
    if isinstance(task, dict):
        return task.get("broker")
    if isinstance(task, (str, Path)) and Path(task).is_file():
        try:
            data = yaml.safe_load(Path(task).read_text(encoding="utf-8"))
        except (yaml.YAMLError, OSError, UnicodeDecodeError):
            return None  # loading it reports the problem
        return data.get("broker") if isinstance(data, dict) else None
    return None


async def _arun(task: str | Path | TaskSpec | dict[str, Any] | None, *, output: str | Path | None,
                resume: str | None, overrides: list[str] | None, registry: Registry, router: Router | None,
                host: Any, on_event: Callable[[Any], None] | None, run_id: str | None,
                checks: list[NodeCheck] | None, base_dir: str | Path | None) -> RunResult:
    sinks = [on_event] if on_event else []
    own_host = host is None  # a host made here from the task's settings is closed here
    own_router: Router | None = None  # likewise a router made here
    if resume:
        opened = _open_resumed(resume, output)
        host = host if host is not None else _host(opened.spec)
    elif task is None:
        raise UserError("give a task file (or a spec), or `resume=` a run id")
    else:
        spec = load_spec(task, registry, overrides, base_dir)
        host = host if host is not None else _host(spec)
        opened = _open_new(spec, host, output, run_id)
    spec, journal = opened.spec, opened.journal
    stream: AsyncGenerator[list[NodeSpec], None] | None = None  # the rest of a plan still being streamed
    try:
        agent = None
        if host is not None:
            from agentos.host_agent import HostAgent

            agent = HostAgent(host, registry)
        if not spec.graph:
            if agent is None:  # a resumed run that failed while planning, and no host now
                raise HostNotConfiguredError("this run has no graph yet and no host model is configured to plan it "
                                             "(set `host:` in the task file or AGENTOS_HOST_URL/AGENTOS_HOST_MODEL)")
            _forget_unplanned(opened)
            if spec.spoken_goal is not None:  # heard first, by a node; planned once heard (below)
                spec.graph = [spec.spoken_goal.node()]
            else:
                stream = await _plan(opened, agent, sinks)
        graph = TaskGraph.from_spec(spec)
        if router is None:
            router = own_router = make_router(spec.router.name, spec.router.options)
        result = RunResult(run_id=opened.run_id, status="running", task_file=str(spec.file) if spec.file else None,
                           run_dir=str(opened.run_dir), started_at=opened.started, planned_by=opened.planned_by,
                           resumed=opened.resumed, planning_s=opened.planning_s,
                           nodes={n: NodeResult(id=n, capability=graph.spec(n).capability) for n in graph.g.nodes})
        done_before = []
        for node_id, old in opened.prior.items():
            if old.status == "succeeded" and node_id in result.nodes:
                old.from_earlier_attempt = True
                result.nodes[node_id] = old
                done_before.append(node_id)
                result.cost += old.cost
        runtime = Runtime(spec=spec, registry=registry, router=router, run_id=opened.run_id, run_dir=opened.run_dir,
                          journal=journal, sinks=sinks, host=host,
                          replanner=agent.replan if agent and agent.can_replan else None,
                          checks=checks)
        runtime.cost = result.cost
        runtime.emit(RunStarted(run_id=opened.run_id, nodes=list(graph.g.nodes), resumed=bool(resume),
                                done_before=sorted(done_before)))
        feed = None
        if spec.spoken_goal is not None and opened.planned_by is None and agent is not None:
            stream = plan_heard(spec, agent, registry, result, opened.run_id, runtime.emit, _streams(spec, agent))
        if stream is not None and agent is not None:
            feed = _rest_of_plan(stream, opened, agent.backend, list(graph.g.nodes), result, runtime.emit)
        return await runtime.execute(graph, result, feed)
    except (AgentOSError, asyncio.CancelledError) as exc:
        # failed or interrupted before the runtime could record it (planning, graph building)
        status = "cancelled" if isinstance(exc, asyncio.CancelledError) else "failed"
        if journal.run().status == "running":
            journal.append(RunFinished(run_id=opened.run_id, status=status,
                                       duration_s=time.time() - opened.started, counts={}))
            journal.set_status(opened.run_id, status)
        raise
    finally:
        if stream is not None:
            await stream.aclose()
        if own_host and (close := getattr(host, "close", None)) is not None:
            close()
        if own_router is not None and (close := getattr(own_router, "close", None)) is not None:
            close()  # the adaptive router saves what it learned, also from a failed run
        journal.close()
        opened.lock.release()


async def _plan(opened: _Opened, agent: Any, sinks: list[Callable[[Any], None]],
                ) -> AsyncGenerator[list[NodeSpec], None] | None:
    """Let the host plan a goal-only task; the plan is journaled so a resume does not plan again.

    Streamed (the host can, and `host.stream_plan` is on), this returns as soon as the first nodes are
    valid (`spec.graph` holds them), with the stream of the rest; else once the whole plan is journaled.
    """

    def announce(event: Any) -> None:  # the runtime does not exist yet, so events go out from here
        opened.journal.append(event)
        for sink in sinks:
            sink(event)

    announce(RunPlanning(run_id=opened.run_id, backend=agent.backend, goal=opened.spec.goal or ""))
    if _streams(opened.spec, agent):
        stream = agent.plan_stream(opened.spec)
        opened.spec.graph = list(await anext(stream))
        return stream
    opened.spec.graph = await agent.plan(opened.spec)
    _planned(opened, agent.backend, [n.id for n in opened.spec.graph], announce)
    return None


def _streams(spec: TaskSpec, agent: Any) -> bool:
    """Whether to take the plan node by node as the host writes it: it can, and `host.stream_plan` is on."""
    return (spec.host is None or spec.host.stream_plan) and agent.streams()


def _planned(opened: _Opened, backend: str, node_ids: list[str], emit: Callable[[Any], None]) -> None:
    """The plan is complete: journal it (a resume runs it, not a new plan) and say so."""
    opened.planned_by = backend
    opened.planning_s = round(time.time() - opened.started, 6)
    opened.journal.update_spec(opened.run_id, opened.spec.model_dump(mode="json"), backend)
    emit(RunPlanned(run_id=opened.run_id, nodes=node_ids, backend=backend))


async def _rest_of_plan(stream: AsyncGenerator[list[NodeSpec], None], opened: _Opened, backend: str,
                        planned: list[str], result: RunResult, emit: Callable[[Any], None],
                        ) -> AsyncIterator[list[NodeSpec]]:
    """The streamed plan's later nodes, for the runtime; once it is complete, journaled and announced."""
    async with contextlib.aclosing(stream):
        async for nodes in stream:
            planned += [n.id for n in nodes]
            yield nodes
    _planned(opened, backend, planned, emit)
    result.planned_by, result.planning_s = opened.planned_by, opened.planning_s


def _forget_unplanned(opened: _Opened) -> None:
    """Nodes that ran under a streamed plan that never completed are not kept: the goal is planned anew."""
    for old in opened.prior.values():
        if old.status == "succeeded":
            old.status = "cancelled"
            old.error = "ran under a streamed plan that did not complete; the goal was planned again"
            opened.journal.record_node(old)
    opened.prior = {}


def run(task: str | Path | TaskSpec | dict[str, Any] | None = None, **kwargs: Any) -> RunResult:
    """Blocking form of `arun`, for scripts and notebooks without a running event loop."""
    return run_blocking(arun(task, **kwargs))


def run_blocking(coro: Coroutine[Any, Any, RunResult]) -> RunResult:
    """asyncio.run, but the main task returns None: on exit Python 3.11 formats the main task
    (result included) into an error message it then discards, which costs ~0.5 s for a big result."""
    box: list[RunResult] = []

    async def main() -> None:
        box.append(await coro)

    asyncio.run(main())
    return box[0]
