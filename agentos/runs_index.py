"""The runs under a runs folder, read from their journals: what `agentos runs list` and the UI show."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from agentos.journal import JOURNAL_NAME, Journal
from agentos.runlock import is_running


class RunSummary(BaseModel):
    run_id: str
    status: str  # a run whose journal says running but whose process is gone is `interrupted`
    created: float
    task_file: str | None
    nodes: dict[str, int]  # status -> count
    resumed: int
    run_dir: str


def summarize_run(run_dir: Path) -> RunSummary:
    """One run's summary from its journal (read-only)."""
    j = Journal(run_dir / JOURNAL_NAME, readonly=True)
    try:
        rec = j.run()
        counts: dict[str, int] = {}
        for n in j.nodes().values():
            counts[n.status] = counts.get(n.status, 0) + 1
    finally:
        j.close()
    status = rec.status if rec.status != "running" or is_running(run_dir) else "interrupted"
    return RunSummary(run_id=rec.run_id, status=status, created=rec.created, task_file=rec.task_file, nodes=counts,
                      resumed=rec.resumed, run_dir=str(run_dir))


def list_runs(root: Path) -> list[RunSummary]:
    """Every run under `root` that has a journal, oldest first."""
    runs = [summarize_run(j.parent) for j in root.glob(f"*/{JOURNAL_NAME}")] if root.exists() else []
    return sorted(runs, key=lambda r: r.created)
