"""The showcase page: event latency from the runtime to the browser, SSE against polling, and page load time.

    python benchmarks/ui.py                 # writes benchmarks/results/ui.json (about a minute)
    python benchmarks/ui.py --nodes 500 --events-nodes 60

1. Latency: one run of N small nodes (a chain, each sleeping 20 ms) is followed in one real Chromium
   page two ways at once: an EventSource on /api/runs/{id}/events (what the page uses) and a client that
   polls /api/runs/{id}/events.json every second (the baseline). For each event, latency is the time
   the browser got it minus the time the runtime emitted it (`ts`; same machine, same clock).
2. Page load: a finished run of 500 nodes (ten layers of fifty) opened with /?run=ID: the time from
   navigation until the graph shows all its nodes, and until the result with every node is rendered.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_experts import napper
from bench_util import machine, write_report
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agentos import Registry  # noqa: E402
from experts.gui.browser import find_chromium  # noqa: E402
from host_model.testing import serve_in_thread  # noqa: E402
from ui import UiSettings, create_app  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "ui.json"
console = Console(width=130)


def chain(n: int, delay: float) -> dict[str, Any]:
    nodes = [{"id": "n0", "capability": "bench.nap", "inputs": {"seconds": delay}}]
    nodes += [{"id": f"n{i}", "capability": "bench.nap", "inputs": {"value": f"${{n{i - 1}.value}}", "seconds": delay}}
              for i in range(1, n)]
    return {"name": f"chain of {n}", "graph": nodes, "budget": {"max_nodes": n}}


def layers(n: int, width: int = 50) -> dict[str, Any]:
    nodes = []
    for i in range(n):
        node: dict[str, Any] = {"id": f"n{i}", "capability": "bench.nap"}
        if i >= width:
            node["after"] = [f"n{i - width}"]
        nodes.append(node)
    return {"name": f"{n} nodes in layers of {width}", "graph": nodes, "budget": {"max_nodes": n, "max_parallel": 64}}


def upload(client: Any, task: dict[str, Any]) -> str:
    r = client.post("/api/runs", files=[("task", ("task.json", json.dumps(task).encode()))])
    r.raise_for_status()
    return r.json()["run_id"]


def wait_done(client: Any, run_id: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if client.get(f"/api/runs/{run_id}").json()["result"] is not None:
            return
        time.sleep(0.2)
    raise TimeoutError(run_id)


_FOLLOW_BOTH = """async ([runId, pollEvery]) => {
  const sse = [], poll = [];
  const kinds = ["run.started","node.started","node.finished","route.decided","check.completed","run.finished"];
  const done = new Promise((resolve) => {
    const source = new EventSource(`/api/runs/${runId}/events`);
    for (const k of kinds) source.addEventListener(k, (m) => {
      const e = JSON.parse(m.data); sse.push(Date.now() / 1000 - e.ts);
      if (k === "run.finished") { source.close(); resolve(); }
    });
  });
  let after = 0, finished = false;
  const polled = (async () => {
    while (!finished) {
      await new Promise((r) => setTimeout(r, pollEvery));
      const events = await (await fetch(`/api/runs/${runId}/events.json?after=${after}`)).json();
      after += events.length;
      for (const e of events) {
        if (kinds.includes(e.kind)) poll.push(Date.now() / 1000 - e.ts);
        if (e.kind === "run.finished") finished = true;
      }
    }
  })();
  await done; await polled;
  return {sse, poll};
}"""


def _stats(values: list[float]) -> dict[str, float]:
    ms = sorted(v * 1000 for v in values)
    return {"events": len(ms), "median_ms": statistics.median(ms), "p95_ms": ms[int(0.95 * (len(ms) - 1))],
            "max_ms": ms[-1]}


def run(nodes: int, events_nodes: int) -> dict[str, Any]:
    import httpx
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(UiSettings(runs_root=Path(tmp) / "runs", router_state=None), Registry([napper]))
        with serve_in_thread(app) as url, httpx.Client(base_url=url.removesuffix("/v1"), timeout=60) as client, \
                sync_playwright() as pw:
            base = url.removesuffix("/v1")
            browser = pw.chromium.launch(executable_path=find_chromium(), headless=True)
            page = browser.new_page()
            page.goto(base + "/")
            console.print(f"latency: a chain of {events_nodes} nodes, followed by SSE and by 1 s polling")
            run_id = upload(client, chain(events_nodes, 0.02))
            got = page.evaluate(_FOLLOW_BOTH, [run_id, 1000])
            latency = {"sse": _stats(got["sse"]), "poll_1s": _stats(got["poll"])}

            console.print(f"page load: a finished run of {nodes} nodes")
            big = upload(client, layers(nodes))
            wait_done(client, big)
            loads = []
            for _ in range(3):
                started = time.perf_counter()
                page.goto(f"{base}/?run={big}")
                page.wait_for_function(f"state.cy && state.cy.nodes().length === {nodes}", timeout=120_000)
                graph_s = time.perf_counter() - started
                page.wait_for_function(f"document.querySelectorAll('#result section.node').length === {nodes}",
                                       timeout=300_000)
                loads.append({"graph_s": graph_s, "result_s": time.perf_counter() - started})
            browser.close()
    load = {"nodes": nodes, "graph_s": statistics.median(x["graph_s"] for x in loads),
            "result_s": statistics.median(x["result_s"] for x in loads), "repeats": loads}
    return {"latency": latency, "page_load": load}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=500, help="nodes of the run whose page load is timed")
    ap.add_argument("--events-nodes", type=int, default=60, help="nodes of the run whose events are timed")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    report = {"machine": machine(), **run(args.nodes, args.events_nodes)}
    t = Table(title="Event latency, runtime to browser (same run, both clients at once)")
    for col in ("client", "events", "median ms", "p95 ms", "max ms"):
        t.add_column(col, justify="left" if col == "client" else "right")
    for name, label in (("sse", "EventSource (SSE), what the page uses"), ("poll_1s", "polling every 1 s")):
        s = report["latency"][name]
        t.add_row(label, str(s["events"]), f"{s['median_ms']:.1f}", f"{s['p95_ms']:.1f}", f"{s['max_ms']:.1f}")
    console.print(t)
    load = report["page_load"]
    lt = Table(title=f"Page load of a finished {load['nodes']}-node run (/?run=ID, median of 3)")
    lt.add_column("until", justify="left")
    lt.add_column("seconds", justify="right")
    lt.add_row("the graph shows every node", f"{load['graph_s']:.2f}")
    lt.add_row("the result shows every node", f"{load['result_s']:.2f}")
    console.print(lt)
    write_report(args.out, report, console.print)


if __name__ == "__main__":
    main()
