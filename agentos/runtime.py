"""The parallel runtime: runs a task graph on asyncio, a node the moment its inputs are ready.

Structured concurrency: every node task belongs to one TaskGroup; nothing runs detached. A node
is routed, run under its timeout, checked, and its verdict rewards the router; a failed node
skips only its dependents while independent branches finish. Budgets (wall time, nodes,
retries, cost) stop the run cleanly, and every transition goes to the journal and the sinks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from agentos.checks import (
    NODE_CHECKS,
    NodeCheck,
    NodeOutcome,
    Verdict,
    agreement,
    fold,
    references_resolve,
    run_node_checks,
)
from agentos.errors import AgentOSError, PlanError
from agentos.events import (
    CheckCompleted,
    NodeAdded,
    NodeFailed,
    NodeFinished,
    NodeReplanned,
    NodeSkipped,
    NodeStarted,
    RetryScheduled,
    RouteDecided,
    RunFinished,
)
from agentos.graph import TaskGraph
from agentos.journal import Journal
from agentos.references import INPUTS, Reference, iter_references, lookup, parse_reference, substitute
from agentos.registry import Registry
from agentos.result import Attempt, NodeResult, RunResult
from agentos.routing import Decision, RouteQuery, Router
from agentos.sdk import Expert, ExpertContext, OperationCard
from agentos.taskspec import SPOKEN_GOAL_NODE, NodeSpec, TaskSpec

log = logging.getLogger("agentos.runtime")

Replanner = Callable[[TaskSpec, TaskGraph, str, str], Awaitable[list[NodeSpec]]]


@dataclass
class _Try:
    """One expert's attempt at a node."""

    expert: str
    ok: bool
    output: BaseModel | None = None
    error: str | None = None
    verdicts: list[Verdict] = field(default_factory=list)
    score: float = 0.0
    duration_s: float = 0.0
    cost: float = 0.0
    artifacts: list[Path] = field(default_factory=list)
    rejected: bool = False  # ran, but a check failed
    traceback: str | None = None


class Runtime:
    """Executes one run. Create one per run; `execute` may be called once."""

    def __init__(self, *, spec: TaskSpec, registry: Registry, router: Router, run_id: str, run_dir: Path,
                 journal: Journal, sinks: list[Callable[[Any], None]] | None = None, host: Any = None,
                 replanner: Replanner | None = None, checks: list[NodeCheck] | None = None):
        self.spec = spec
        self.budget = spec.budget
        self.registry = registry
        self.router = router
        self.run_id = run_id
        self.run_dir = run_dir
        self.journal = journal
        self.sinks = sinks or []
        self.host = host
        self.replanner = replanner
        self.checks = checks or NODE_CHECKS
        self.cost = 0.0
        self.nodes_ever = 0
        self.replans = 0
        self._sem = asyncio.Semaphore(self.budget.max_parallel)
        self._tg: asyncio.TaskGroup | None = None
        self._contexts: dict[tuple[str, str], ExpertContext] = {}  # (node, expert) -> running call
        self._depth_of: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = threading.get_ident()
        self._feeding = False  # a streamed plan is still arriving
        self._plan_error: str | None = None  # the streamed plan failed after some of it ran

    # events ----------------------------------------------------------------------------------------
    def emit(self, event: Any) -> None:
        """Record and fan out an event; experts running in threads are marshalled to the loop thread."""
        if self._loop is not None and threading.get_ident() != self._loop_thread:
            self._loop.call_soon_threadsafe(self.emit, event)
            return
        self.journal.append(event)
        for sink in self.sinks:
            try:
                sink(event)
            except Exception:  # a broken display must never break a run
                log.exception("event sink failed")

    # the scheduler ---------------------------------------------------------------------------------
    async def execute(self, graph: TaskGraph, result: RunResult,
                      feed: AsyncIterator[list[NodeSpec]] | None = None) -> RunResult:
        """Run `graph`; with `feed` (a plan still being streamed), its nodes join the graph as they come."""
        self.graph = graph
        self.result = result
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self.nodes_ever = len(graph)
        self.outputs: dict[str, dict[str, Any]] = {
            n.id: n.output for n in result.nodes.values() if n.status == "succeeded" and n.output is not None}
        self.waiting: dict[str, set[str]] = {
            n: {p for p in graph.predecessors(n) if p not in self.outputs} for n in graph.g.nodes}
        status = "succeeded"
        try:
            async with contextlib.AsyncExitStack() as stack:
                if self.budget.wall_time_s:
                    await stack.enter_async_context(asyncio.timeout(self.budget.wall_time_s))
                async with asyncio.TaskGroup() as tg:
                    self._tg = tg
                    if feed is not None:
                        self._feeding = True
                        tg.create_task(self._consume(feed), name="plan-feed")
                    for n in list(graph.g.nodes):
                        if n not in self.outputs and not self.waiting[n]:
                            self._start(n)
        except TimeoutError:
            status = "timed_out"
            self._stop_unfinished(f"wall-time budget of {self.budget.wall_time_s}s spent")
        except asyncio.CancelledError:
            status = "cancelled"
            self._stop_unfinished("run cancelled")
            self._finish(status)
            raise
        self._final_checks()
        if status == "succeeded" and (self._plan_error or any(n.status != "succeeded" for n in result.nodes.values())
                                      or any(not v.passed for v in result.checks)):
            status = "failed"
        self._finish(status)
        return result

    def _start(self, node_id: str) -> None:
        assert self._tg is not None
        self._tg.create_task(self._node(node_id), name=f"node:{node_id}")

    def _settle(self, node_id: str) -> None:
        """A node reached a final state: release or skip what waits for it."""
        res = self.result.nodes[node_id]
        self.journal.record_node(res)
        if res.status == "succeeded":
            for succ in self.graph.successors(node_id):
                waits = self.waiting[succ]
                waits.discard(node_id)
                if not waits and self.result.nodes[succ].status == "pending":
                    self._start(succ)
        else:
            for d in sorted(self.graph.descendants(node_id)):
                dep = self.result.nodes[d]
                if dep.status == "pending":
                    dep.status = "skipped"
                    dep.skipped_because = f"upstream node `{node_id}` {res.status}"
                    self.emit(NodeSkipped(run_id=self.run_id, node_id=d, reason=dep.skipped_because))
                    self.journal.record_node(dep)

    def _stop_unfinished(self, why: str) -> None:
        for ctx in self._contexts.values():
            ctx.cancel()
        for res in self.result.nodes.values():
            if res.status in ("pending", "running"):
                res.status = "cancelled"
                res.error = why
                self.journal.record_node(res)
        self.result.errors.append(why)

    def _finish(self, status: str) -> None:
        r = self.result
        r.status = status  # type: ignore[assignment]
        r.finished_at = time.time()
        r.duration_s = round(r.finished_at - r.started_at, 6)
        r.cost = round(self.cost, 6)
        self.emit(RunFinished(run_id=self.run_id, status=status, duration_s=r.duration_s, counts=r.counts()))
        self.journal.set_status(self.run_id, status)
        r.write(self.run_dir / "result.json")

    # one node --------------------------------------------------------------------------------------
    async def _node(self, node_id: str) -> None:
        spec = self.graph.spec(node_id)
        res = self.result.nodes[node_id]
        res.status = "running"
        res.started_at = time.time()
        if self.result.first_node_started_s is None:
            self.result.first_node_started_s = round(res.started_at - self.result.started_at, 6)
        try:
            await self._run_node(spec, res)
        except asyncio.CancelledError:
            res.status = "cancelled"
            raise
        except _Replanned:
            return  # the replacement nodes were started in its place
        except Exception as exc:  # a bug in an expert or the runtime fails this node only
            log.debug("node %s crashed", node_id, exc_info=True)
            res.status = "failed"
            res.error = res.error or f"{type(exc).__name__}: {exc}"
        res.finished_at = time.time()
        res.duration_s = round(res.finished_at - (res.started_at or res.finished_at), 6)
        self._settle(node_id)

    async def _run_node(self, spec: NodeSpec, res: NodeResult) -> None:
        node_id = spec.id
        capability = spec.capability or ""
        try:
            raw_inputs = substitute(spec.inputs, self._resolve)
        except KeyError:  # name every reference that failed, not just the first
            refs = [parse_reference(body) for _, body in iter_references(spec.inputs)]
            verdict = references_resolve(node_id, refs, self._resolve)
            self._verdicts(res, _Try("", False, verdicts=[verdict], score=verdict.score))
            self._fail(res, None, 1, f"references did not resolve: {verdict.message}")
            return

        experts = [self.registry.get(spec.expert)] if spec.expert else self.registry.candidates(capability)
        reasons = {e.card.name: why for e in experts if (why := e.unavailable(self.host))}
        experts = [e for e in experts if e.card.name not in reasons]
        if not experts:
            self._fail(res, None, 1, "no expert can run it here: " + "; ".join(f"{n}: {w}" for n, w in reasons.items()))
            return
        cards = [e.card for e in experts]
        if len(cards) > 1 and getattr(self.router, "route_in_thread", False):  # it may block (a model load)
            decision = await asyncio.to_thread(self.router.route, self._query(spec), cards)
        else:
            decision = self.router.route(self._query(spec), cards)
        res.decision = decision
        self.emit(RouteDecided(run_id=self.run_id, node_id=node_id, decision=decision))

        max_attempts = 1 + (spec.retries if spec.retries is not None else self.budget.max_retries)
        tried: list[str] = []
        rejected: set[str] = set()
        attempt = 0
        if decision.gated and len(decision.alternatives) > 1:
            best = await self._gate(spec, res, decision, raw_inputs)
            attempt = len(decision.alternatives)
            tried += decision.alternatives
            if best is not None:
                self._succeed(res, best)
                return
            rejected |= set(decision.alternatives)

        while attempt < max_attempts:
            attempt += 1
            name = self._next_expert(decision, tried, rejected)
            if name is None:
                break
            op = self.registry.operation(name, capability)
            if self.budget.max_cost is not None and self.cost + op.cost > self.budget.max_cost + 1e-12:
                self._fail(res, name, attempt, f"cost budget spent ({self.cost:g} of {self.budget.max_cost:g}; "
                                                f"`{name}` costs {op.cost:g})")
                return
            tried.append(name)
            t = await self._try(spec, self.registry.get(name), op, raw_inputs, attempt)
            self._record(res, decision, attempt, t)
            if t.ok:
                self._succeed(res, t)
                return
            if t.rejected:
                rejected.add(name)
            res.error = t.error
            nxt = self._next_expert(decision, tried, rejected)
            if attempt >= max_attempts or nxt is None:
                break
            self.emit(NodeFailed(run_id=self.run_id, node_id=node_id, expert=name, attempt=attempt,
                                 error=t.error or "", final=False))
            delay = 0.0 if t.rejected else self.budget.retry_backoff_s * (2 ** (attempt - 1))
            self.emit(RetryScheduled(run_id=self.run_id, node_id=node_id, attempt=attempt + 1, delay_s=delay,
                                     next_expert=nxt, reason=t.error or ""))
            if delay:
                await asyncio.sleep(delay)

        if self._can_replan() and spec.id != SPOKEN_GOAL_NODE:  # a goal not heard is no plan to repair
            await self._replan(spec, res)  # raises _Replanned when the node was swapped
        self._fail(res, tried[-1] if tried else None, attempt, res.error or "no candidate left to try")

    def _next_expert(self, decision: Decision, tried: list[str], rejected: set[str]) -> str | None:
        """First untried candidate in the router's ranking; else retry the last one unless it was rejected."""
        for name in decision.ranking:
            if name not in tried:
                return name
        if tried and tried[-1] not in rejected:
            return tried[-1]
        usable = [n for n in decision.ranking if n not in rejected]
        return usable[0] if usable else None

    async def _try(self, spec: NodeSpec, exp: Expert, op: OperationCard, raw_inputs: dict[str, Any],
                   attempt: int) -> _Try:
        name = exp.card.name
        try:
            inputs = op.input_model.model_validate(raw_inputs)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(map(str, first["loc"]))
            return _Try(name, False, error=f"inputs do not fit `{op.capability}` of {name}: {where}: {first['msg']}")
        ctx = ExpertContext(run_id=self.run_id, node_id=spec.id, run_dir=self.run_dir, attempt=attempt,
                            host=self.host, emit=self.emit, expert_name=name)
        self._contexts[(spec.id, name)] = ctx
        timeout = spec.timeout_s or self.budget.node_timeout_s
        self.emit(NodeStarted(run_id=self.run_id, node_id=spec.id, expert=name, attempt=attempt))
        t0 = time.perf_counter()
        try:
            async with self._sem, asyncio.timeout(timeout):
                out = await exp.run(op.capability, inputs, ctx)
        except TimeoutError:
            ctx.cancel()
            return _Try(name, False, error=f"timed out after {timeout:g}s", duration_s=time.perf_counter() - t0,
                        cost=self._charge(op, ctx))
        except asyncio.CancelledError:
            ctx.cancel()
            raise
        except Exception as exc:
            if isinstance(exc, AgentOSError):  # raised on purpose: the message says it all
                return _Try(name, False, error=str(exc), duration_s=time.perf_counter() - t0,
                            cost=self._charge(op, ctx))
            return _Try(name, False, error=f"{type(exc).__name__}: {exc}", duration_s=time.perf_counter() - t0,
                        cost=self._charge(op, ctx), traceback=_expert_traceback(exc))
        finally:
            self._contexts.pop((spec.id, name), None)
        dt = time.perf_counter() - t0
        cost = self._charge(op, ctx)
        outcome = NodeOutcome(node_id=spec.id, expert=name, output=out, output_model=op.output_model,
                              artifacts=ctx.artifacts.files(), run_dir=self.run_dir)
        verdicts = run_node_checks(outcome, [*self.checks, *op.checks])
        for v in verdicts:  # a plugin's check need not know whose output it judged
            v.node_id, v.expert = v.node_id or spec.id, v.expert or name
        passed, score = fold(verdicts)
        if not passed:
            failed = "; ".join(f"{v.check}: {v.message}" for v in verdicts if not v.passed)
            return _Try(name, False, verdicts=verdicts, score=score, duration_s=dt, cost=cost,
                        error=f"check failed: {failed}", rejected=True)
        self.emit(NodeFinished(run_id=self.run_id, node_id=spec.id, expert=name, attempt=attempt,
                               duration_s=round(dt, 6)))
        return _Try(name, True, output=outcome.output, verdicts=verdicts, score=score, duration_s=dt, cost=cost,
                    artifacts=outcome.artifacts)

    def _record(self, res: NodeResult, decision: Decision, attempt: int, t: _Try) -> None:
        """Keep an attempt in the result and, when it was checked, reward the router with its score."""
        res.attempts.append(Attempt(attempt=attempt, expert=t.expert, duration_s=t.duration_s, error=t.error,
                                    status="succeeded" if t.ok else ("rejected" if t.rejected else "failed"),
                                    score=t.score if t.verdicts else None, traceback=t.traceback))
        if t.verdicts:
            self.router.update(decision, t.score, t.expert, cost=t.cost, duration_s=t.duration_s)
            self._verdicts(res, t)

    def _charge(self, op: OperationCard, ctx: ExpertContext) -> float:
        cost = ctx.cost or op.cost
        self.cost += cost
        return cost

    async def _gate(self, spec: NodeSpec, res: NodeResult, decision: Decision,
                    raw_inputs: dict[str, Any]) -> _Try | None:
        """The router was unsure: run its top candidates side by side and keep the best verdict."""
        cap = spec.capability or ""
        names = decision.alternatives
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(self._try(spec, self.registry.get(n), self.registry.operation(n, cap),
                                              raw_inputs, i + 1)) for i, n in enumerate(names)]
        tries = [t.result() for t in tasks]
        for i, t in enumerate(tries):
            self._record(res, decision, i + 1, t)
        ok = [t for t in tries if t.ok]
        best = max(ok, key=lambda t: t.score) if ok else None
        if best is None:
            res.error = "; ".join(f"{t.expert}: {t.error}" for t in tries)
        res.gate = {"ran": names, "scores": {t.expert: t.score for t in tries},
                    "picked": best.expert if best else None}
        return best

    def _succeed(self, res: NodeResult, t: _Try) -> None:
        assert t.output is not None
        res.status = "succeeded"
        res.expert = t.expert
        res.output = t.output.model_dump(mode="json")
        res.cost += t.cost
        res.error = None
        res.artifacts = [str(p.relative_to(self.run_dir.resolve())) if p.is_relative_to(self.run_dir.resolve())
                         else str(p) for p in t.artifacts]
        self.outputs[res.id] = res.output

    def _fail(self, res: NodeResult, expert: str | None, attempt: int, error: str, emit: bool = True) -> None:
        res.status = "failed"
        res.expert = expert
        res.error = error
        if emit:
            self.emit(NodeFailed(run_id=self.run_id, node_id=res.id, expert=expert, attempt=attempt, error=error,
                                 final=True))

    def _verdicts(self, res: NodeResult, t: _Try) -> None:
        res.verdicts.extend(t.verdicts)
        self.emit(CheckCompleted(run_id=self.run_id, node_id=res.id, passed=all(v.passed for v in t.verdicts),
                                 score=t.score, verdicts=t.verdicts, expert=t.expert or None))

    # replanning ------------------------------------------------------------------------------------
    def _can_replan(self) -> bool:
        return self.replanner is not None and self.replans < self.budget.max_replans and self._plan_error is None

    async def _replan(self, spec: NodeSpec, res: NodeResult) -> None:
        assert self.replanner is not None
        self.replans += 1
        try:
            new_nodes = await self.replanner(self.spec, self.graph, spec.id, res.error or "failed")
            added = [n for n in new_nodes if n.id != spec.id]
            if self.nodes_ever + len(added) > self.budget.max_nodes:
                raise PlanError(f"the replan adds {len(added)} nodes; budget.max_nodes is {self.budget.max_nodes}")
            self.graph.replace(spec.id, new_nodes)
        except AgentOSError as exc:
            res.error = f"{res.error}; replan failed: {exc}"
            return
        self.nodes_ever += len(added)
        self.emit(NodeReplanned(run_id=self.run_id, node_id=spec.id, new_nodes=[n.id for n in new_nodes],
                                reason=res.error or ""))
        self.spec.graph = [n for n in self.spec.graph if n.id != spec.id] + new_nodes
        if not self._feeding:  # a streamed plan is journaled whole when it completes (api.arun)
            self.journal.update_spec(self.run_id, self.spec.model_dump(mode="json"))  # a resume sees the new graph
        for n in new_nodes:
            if n.id == spec.id:
                res.status = "pending"
                res.capability = n.capability
            else:
                self.result.nodes[n.id] = NodeResult(id=n.id, capability=n.capability)
            self.waiting[n.id] = {p for p in self.graph.predecessors(n.id) if p not in self.outputs}
        for n in new_nodes:
            if not self.waiting[n.id]:
                self._start(n.id)
        raise _Replanned()

    # a plan still arriving -------------------------------------------------------------------------
    async def _consume(self, feed: AsyncIterator[list[NodeSpec]]) -> None:
        """Add the planner's nodes as they come. A failing feed fails the plan, not the nodes already running."""
        try:
            async for nodes in feed:
                self._add(nodes)
        except Exception as exc:  # host error, invalid plan, budget: recorded in the result, never a crash
            log.debug("the streamed plan failed", exc_info=True)
            self._plan_failed(str(exc) if isinstance(exc, AgentOSError) else f"{type(exc).__name__}: {exc}")
        finally:
            self._feeding = False
            if (close := getattr(feed, "aclose", None)) is not None:
                await close()

    def _add(self, nodes: list[NodeSpec]) -> None:
        """Planned nodes join the running graph; those whose inputs are ready start now."""
        if self.nodes_ever + len(nodes) > self.budget.max_nodes:
            raise PlanError(f"the plan outgrew budget.max_nodes ({self.budget.max_nodes}, replans included) "
                            f"at nodes {', '.join(n.id for n in nodes)}")
        self.graph.add(nodes)
        self.nodes_ever += len(nodes)
        self.spec.graph = [*self.spec.graph, *nodes]
        for n in nodes:
            self.result.nodes[n.id] = NodeResult(id=n.id, capability=n.capability)
            self.waiting[n.id] = {p for p in self.graph.predecessors(n.id) if p not in self.outputs}
            self.emit(NodeAdded(run_id=self.run_id, node_id=n.id, capability=n.capability,
                                after=sorted(self.graph.predecessors(n.id))))
        for n in nodes:
            self._release(n.id)

    def _release(self, node_id: str) -> None:
        """An added node starts if its inputs are ready, waits if they are coming, is skipped if they never will."""
        res = self.result.nodes[node_id]
        gone = [p for p in self.graph.predecessors(node_id)
                if self.result.nodes[p].status in ("failed", "skipped", "cancelled")]
        if gone:
            res.status = "skipped"
            res.skipped_because = f"upstream node `{gone[0]}` {self.result.nodes[gone[0]].status}"
            self.emit(NodeSkipped(run_id=self.run_id, node_id=node_id, reason=res.skipped_because))
            self.journal.record_node(res)
        elif not self.waiting[node_id] and res.status == "pending":
            self._start(node_id)

    def _plan_failed(self, why: str) -> None:
        """Nodes not started yet never will; running ones finish and are journaled."""
        self._plan_error = f"planning failed: {why}"
        self.result.errors.append(self._plan_error)
        for res in self.result.nodes.values():
            if res.status == "pending":
                res.status = "skipped"
                res.skipped_because = self._plan_error
                self.emit(NodeSkipped(run_id=self.run_id, node_id=res.id, reason=res.skipped_because))
                self.journal.record_node(res)

    # references and features -----------------------------------------------------------------------
    def _resolve(self, ref: Reference) -> Any:
        if ref.source == INPUTS:
            return lookup(self.spec.inputs, ref)
        if ref.source not in self.outputs:
            raise KeyError(f"{ref.text}: node `{ref.source}` has no output")
        return lookup(self.outputs[ref.source], ref)

    def _query(self, spec: NodeSpec) -> RouteQuery:
        literal = {k: v for k, v in spec.inputs.items() if isinstance(v, (str, int, float, bool))
                   and "${" not in str(v)}
        text = " ".join(filter(None, [spec.capability or "", spec.description,
                                      " ".join(f"{k}={v}" for k, v in literal.items())]))
        return RouteQuery(run_id=self.run_id, node_id=spec.id, capability=spec.capability or "",
                          pinned=spec.expert, text=text[:2000], depth=self._depth(spec.id),
                          input_types={k: type(v).__name__ for k, v in spec.inputs.items()})

    def _depth(self, node_id: str) -> int:
        """Longest path from a source: known for every finished predecessor, so O(in-degree) here."""
        d = self._depth_of.get(node_id)
        if d is None:
            preds = self.graph.predecessors(node_id)
            if any(p not in self._depth_of for p in preds):  # e.g. kept from before a resume
                self._depth_of.update(self.graph.depth())
                return self._depth_of[node_id]
            d = self._depth_of[node_id] = max((self._depth_of[p] + 1 for p in preds), default=0)
        return d

    # final checks ----------------------------------------------------------------------------------
    def _final_checks(self) -> None:
        for check in self.spec.checks:
            sides = []
            for text in check.agree:
                body = next(iter_references(text))[1]
                ref = parse_reference(body)
                try:
                    sides.append((ref.text, self._resolve(ref)))
                except KeyError as exc:
                    sides.append((ref.text, f"<unresolved: {exc.args[0]}>"))
            self.result.checks.append(agreement("agree", sides[0], sides[1], check.tolerance))
        if self.result.checks:
            passed, score = fold(self.result.checks)
            self.emit(CheckCompleted(run_id=self.run_id, passed=passed, score=score, verdicts=self.result.checks))


def _expert_traceback(exc: BaseException, limit: int = 12) -> str:
    """The innermost frames of an expert's crash: enough to find the line, small enough for the journal."""
    return "".join(traceback.format_exception(exc, limit=-limit)).strip()


class _Replanned(Exception):
    """Internal: the node was swapped for a replanned fragment."""
