"""Runs started from the page: the same `agentos.arun` as the CLI, with its events fanned out to listeners.

Each run started here keeps every event it has emitted, so a listener that connects late (a page
reloaded mid-run) gets the whole story first and then the live tail. Runs that ended before this
server started are replayed from their journal. A run is a task owned by the manager: cancelling it
cancels the runtime, which records the cancellation in the journal like Ctrl-C in the CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentos.api import arun, find_run, new_run_id
from agentos.errors import AgentOSError
from agentos.journal import Journal
from agentos.registry import Registry
from agentos.result import RunResult
from agentos.taskspec import TaskSpec, load_task, load_task_text

log = logging.getLogger(__name__)
FINISHED = "run.finished"


@dataclass
class LiveRun:
    """A run this server started: its task, every event so far, and the queues of those listening."""

    run_id: str
    events: list[dict[str, Any]] = field(default_factory=list)
    listeners: set[asyncio.Queue[dict[str, Any] | None]] = field(default_factory=set)
    task: asyncio.Task[RunResult | None] | None = None
    result: RunResult | None = None
    error: str | None = None
    done: bool = False

    def publish(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        for q in self.listeners:
            q.put_nowait(event)

    def close(self) -> None:
        self.done = True
        for q in self.listeners:
            q.put_nowait(None)


class RunManager:
    """Starts, cancels and follows runs under one runs folder, with one expert registry."""

    def __init__(self, runs_root: Path, registry: Registry, broker: str | None = None):
        self.runs_root = runs_root
        self.registry = registry
        self.broker = broker  # None: a run uses its task's `broker:`, else $AGENTOS_BROKER, else none
        self.live: dict[str, LiveRun] = {}

    def load(self, task: Path, overrides: list[str], text: str | None = None,
             registry: Registry | None = None) -> TaskSpec:
        """The task file (or `text`, an edited copy of it) validated exactly as `agentos run` would (against
        `registry`, by default this server's experts): a TaskFileError lists every problem with its line."""
        registry = registry or self.registry
        if text is not None:
            return load_task_text(text, registry, file=task, overrides=overrides)
        return load_task(task, registry, overrides)

    def start(self, spec: TaskSpec) -> LiveRun:
        run = LiveRun(run_id=new_run_id())
        self.live[run.run_id] = run
        run.task = asyncio.create_task(self._run(run, spec), name=f"ui-run:{run.run_id}")
        return run

    async def _run(self, run: LiveRun, spec: TaskSpec) -> RunResult | None:
        def on_event(event: Any) -> None:
            run.publish(event.model_dump(mode="json"))

        try:
            run.result = await arun(spec, output=self.runs_root, run_id=run.run_id, registry=self.registry,
                                    on_event=on_event, broker=self.broker)
            return run.result
        except AgentOSError as exc:  # planning failed, no host, ...: said in the stream, as the CLI prints it
            run.error = str(exc)
            run.publish({"kind": "run.error", "run_id": run.run_id, "error": run.error})
        except asyncio.CancelledError:
            run.error = "cancelled"
            if not any(e.get("kind") == FINISHED for e in run.events):
                run.publish({"kind": FINISHED, "run_id": run.run_id, "status": "cancelled"})
        except Exception as exc:  # a bug must not take the server down; the page shows it
            log.exception("run %s crashed", run.run_id)
            run.error = f"{type(exc).__name__}: {exc}"
            run.publish({"kind": "run.error", "run_id": run.run_id, "error": run.error})
        finally:
            run.close()
        return None

    def cancel(self, run_id: str) -> bool:
        """Cancel a run of this server; False when it has already ended (or is not ours: RunNotFound)."""
        run = self.live.get(run_id)
        if run is None:
            find_run(run_id, self.runs_root)  # raises RunNotFoundError naming the runs there
            return False
        if run.done or run.task is None:
            return False
        run.task.cancel()
        return True

    async def follow(self, run_id: str) -> AsyncIterator[dict[str, Any]]:
        """Every event of the run, oldest first, then the live ones until it ends."""
        run = self.live.get(run_id)
        if run is None:
            for event in self.journal_events(run_id):
                yield event
            return
        q: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        seen = list(run.events)
        if not run.done:
            run.listeners.add(q)
        try:
            for event in seen:
                yield event
            while not run.done or not q.empty():
                item = await q.get()
                if item is None:
                    break
                yield item
        finally:
            run.listeners.discard(q)

    def journal_events(self, run_id: str) -> list[dict[str, Any]]:
        j = Journal.open_existing(find_run(run_id, self.runs_root), readonly=True)
        try:
            return j.events()
        finally:
            j.close()

    async def shutdown(self) -> None:
        """Cancel what still runs (the server is stopping) and wait for each to record it."""
        tasks = [r.task for r in self.live.values() if r.task is not None and not r.done]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
