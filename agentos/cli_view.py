"""What the CLI shows: live progress while a run goes, tables after, JSON lines for machines."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from agentos.result import RunResult

STATUS_STYLE = {
    "interrupted": "magenta",
    "pending": "dim", "running": "cyan", "succeeded": "green", "failed": "red", "skipped": "yellow",
    "cancelled": "magenta", "timed_out": "magenta", "retrying": "yellow",
}


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


class JsonLines:
    """`--json`: every event as one JSON object per line on stdout."""

    def __call__(self, event: Any) -> None:
        sys.stdout.write(event.model_dump_json() + "\n")
        sys.stdout.flush()


class LiveProgress:
    """A live table of nodes (state, expert, elapsed, last message), redrawn a few times a second."""

    def __init__(self, console: Console):
        self.console = console
        self.rows: dict[str, dict[str, Any]] = {}
        self.run_id = ""
        self.note = ""
        self.started = time.time()
        self.live = Live(self._render(), console=console, refresh_per_second=8, transient=True)

    def __enter__(self) -> LiveProgress:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.live.update(self._render())
        self.live.__exit__(*exc)

    def __call__(self, event: Any) -> None:
        kind = event.kind
        if kind == "run.planning":
            self.run_id = event.run_id
            self.note = f"planning with {event.backend}..."
        elif kind == "run.planned":
            self.note = f"planned {len(event.nodes)} nodes with {event.backend}"
        elif kind == "run.started":
            self.run_id = event.run_id
            for n in event.nodes:
                self.rows.setdefault(n, {"state": "pending", "expert": "", "t0": None, "t1": None, "msg": ""})
            for n in event.done_before:
                self.rows[n].update(state="succeeded", msg="done in an earlier attempt")
        elif event.node_id is not None:
            row = self.rows.setdefault(event.node_id, {"state": "pending", "expert": "", "t0": None, "t1": None,
                                                       "msg": ""})
            if kind == "node.started":
                row.update(state="running", expert=event.expert, t0=row["t0"] or event.ts, msg="")
            elif kind == "node.added":  # a node of a plan still being streamed
                row["msg"] = f"waits for {', '.join(event.after)}" if event.after else ""
            elif kind == "node.progress":
                pct = f"{event.fraction:.0%} " if event.fraction is not None else ""
                row["msg"] = f"{pct}{event.message}"
            elif kind == "node.finished":
                row.update(state="succeeded", t1=event.ts, msg="")
            elif kind == "node.failed":
                row.update(state="failed" if event.final else "retrying", t1=event.ts if event.final else None,
                           msg=event.error[:80])
            elif kind == "node.skipped":
                row.update(state="skipped", msg=event.reason)
            elif kind == "route.decided":
                row["expert"] = event.decision.chosen
        self.live.update(self._render())

    def _render(self) -> Group:
        table = Table(box=None, pad_edge=False, header_style="bold")
        for col in ("node", "state", "expert", "elapsed", ""):
            table.add_column(col)
        now = time.time()
        for node_id, row in self.rows.items():
            t0, t1 = row["t0"], row["t1"]
            elapsed = f"{(t1 or now) - t0:.2f}s" if t0 else ""
            table.add_row(node_id, status_text(row["state"]), row["expert"], elapsed, Text(row["msg"], style="dim"))
        done = sum(r["state"] in ("succeeded", "failed", "skipped") for r in self.rows.values())
        head = Text(f"run {self.run_id}  {done}/{len(self.rows)} nodes  {now - self.started:.1f}s", style="bold")
        if self.note:
            head.append(f"  {self.note}", style="dim")
        return Group(head, table)


def result_table(result: RunResult) -> Table:
    table = Table(title=f"run {result.run_id}: {result.status}", title_justify="left", header_style="bold")
    for col in ("node", "status", "expert", "attempts", "time", "score", "note"):
        table.add_column(col)
    for n in result.nodes.values():
        score = min((v.score for v in n.verdicts if v.expert in (None, n.expert)), default=None)
        note = n.error or n.skipped_because or ("kept from an earlier attempt" if n.from_earlier_attempt else "")
        if n.gate:
            note = f"gate ran {', '.join(n.gate['ran'])}; picked {n.gate['picked']}"
        table.add_row(n.id, status_text(n.status), n.expert or "", str(len(n.attempts)),
                      f"{n.duration_s:.3f}s" if n.duration_s is not None else "",
                      f"{score:.2f}" if score is not None else "", note[:100])
    return table


def print_summary(console: Console, result: RunResult, tracebacks: bool = False) -> None:
    if result.planned_by:
        took = f" in {result.planning_s:.2f}s" if result.planning_s is not None else ""
        first = (f", first node started at {result.first_node_started_s:.2f}s"
                 if result.first_node_started_s is not None else "")
        console.print(f"planned by {result.planned_by}{took}{first}", highlight=False)
    console.print(result_table(result))
    for n in result.nodes.values():
        if n.status == "failed" and n.error:
            console.print(f"[red]{n.id} failed:[/] {escape(n.error)}", highlight=False)
            crashes = [a for a in n.attempts if a.traceback]
            if crashes and tracebacks:
                for a in crashes:
                    console.print(f"[dim]attempt {a.attempt} ({a.expert}):[/]\n{escape(a.traceback or '')}",
                                  highlight=False)
            elif crashes:
                console.print("  (the expert crashed; --debug shows its traceback, also kept in result.json)",
                              style="dim")
    for v in result.checks:
        mark = "[green]pass[/]" if v.passed else "[red]FAIL[/]"
        console.print(f"check {v.check}: {mark} {v.message}")
    files = artifact_lines(result.run_dir, [a for n in result.nodes.values() for a in n.artifacts])
    if files:
        console.print("artifacts:\n" + "\n".join(f"  {f}" for f in files), highlight=False)
    for err in result.errors:
        console.print(f"[red]error:[/] {escape(err)}", highlight=False)
    console.print(f"cost {result.cost:g} · {result.duration_s or 0:.2f}s · result: {result.run_dir}/result.json")


def artifact_lines(run_dir: str | Path, artifacts: list[str], fold: int = 4) -> list[str]:
    """One line per artifact, except that a sub-folder of a node's artifacts holding more than `fold` files
    (a GUI run's screenshots) is one line with its count: the report stays findable among them."""
    groups: dict[str, list[str]] = {}
    for a in artifacts:
        parts = Path(a).parts  # artifacts/<node>/[<folder>/...]<file>
        key = str(Path(*parts[:3])) + "/" if len(parts) > 3 else a
        groups.setdefault(key, []).append(a)
    lines = []
    for key, members in groups.items():
        if key.endswith("/") and len(members) > fold:
            lines.append(f"{run_dir}/{key} ({len(members)} files)")
        else:
            lines += [f"{run_dir}/{m}" for m in members]
    return lines


def event_table(events: list[dict[str, Any]], t0: float) -> Table:
    """The journal's events, one row each, timed from the run's start."""
    table = Table(header_style="bold", box=None)
    for col in ("+s", "node", "event", ""):
        table.add_column(col)
    skip = {"run_id", "node_id", "ts", "kind"}
    for e in events:
        detail = ", ".join(f"{k}={_short(v)}" for k, v in e.items() if k not in skip)
        table.add_row(f"{e['ts'] - t0:.3f}", e.get("node_id") or "", e["kind"], Text(detail, style="dim"))
    return table


def _short(value: Any) -> str:
    if isinstance(value, dict) and "chosen" in value:  # a routing decision
        return f"{value['chosen']} of {value.get('ranking')}"
    if isinstance(value, list) and value and isinstance(value[0], dict) and "check" in value[0]:
        return " ".join(f"{v['check']}:{'ok' if v['passed'] else 'FAIL'}" for v in value)
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."
