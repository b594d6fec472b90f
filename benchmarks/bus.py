"""The MQTT bus: dispatch overhead against raw aiomqtt round trips, and jobs/s as workers are added.

    python benchmarks/bus.py                 # writes benchmarks/results/bus.json (about a minute)
    python benchmarks/bus.py --jobs 400 --sleep 0.2

1. Overhead: N jobs of an expert that returns at once, dispatched one after another by the runtime's
   `Dispatcher` to one worker (validation, job and result messages, the result's checks of artifacts),
   against the baseline on the same broker: a raw aiomqtt request/response round trip of a message the size
   of a job (publish QoS 1, the responder publishes back QoS 1), as aiomqtt's docs write it (iterating
   `client.messages`). Goal: >= 0.75x. A second row hands messages over on arrival the way the bus does, so
   the ratio to it is what AgentOS's own work per job costs.
2. Scaling: M jobs of an expert that sleeps `--sleep` seconds, all dispatched at once, to 1, 2 and 4
   workers (each running one job at a time): jobs/s, against the ideal (workers / sleep). Goal: near-linear.
Workers run in this process (one asyncio loop), so this measures the bus, not process start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_experts import napper
from bench_util import machine, package_version, write_report
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from mosquitto_broker import Mosquitto  # noqa: E402

from agentos import ExpertContext  # noqa: E402
from agentos.bus import Dispatcher, Worker, parse_broker  # noqa: E402
from agentos.bus.messages import Topics  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "bus.json"
REPEATS = 7
console = Console(width=120)


async def _raw_round_trips(url: str, n: int, size: int) -> float:
    """Seconds for n sequential request/response round trips over raw aiomqtt (both QoS 1), written the way
    aiomqtt's documentation does: each side iterates `client.messages`."""
    b = parse_broker(url)
    payload = b"x" * size
    async with b.client("raw-req") as req, b.client("raw-resp") as resp:
        await resp.subscribe("raw/req", qos=1)
        await req.subscribe("raw/resp", qos=1)

        async def responder() -> None:
            async for m in resp.messages:
                await resp.publish("raw/resp", m.payload, qos=1)

        task = asyncio.create_task(responder())
        await asyncio.sleep(0.2)
        messages = req.messages
        started = time.perf_counter()
        for _ in range(n):
            await req.publish("raw/req", payload, qos=1)
            await anext(messages)
        elapsed = time.perf_counter() - started
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # it ends with the connection
        task.cancel()
    return elapsed


async def _raw_handed_over(url: str, n: int, size: int) -> float:
    """The same round trips with each message handed over as it arrives (`Broker.client(on_message=...)`, as the
    bus does), so the only difference left to the bus is what AgentOS does per job."""
    b = parse_broker(url)
    payload = b"x" * size
    waiting: list[asyncio.Future[bytes]] = []
    sending: set[asyncio.Task[None]] = set()

    def answer(topic: str, data: bytes) -> None:
        task = asyncio.create_task(resp.publish("raw/resp", data, qos=1))
        sending.add(task)
        task.add_done_callback(sending.discard)

    def answered(topic: str, data: bytes) -> None:
        waiting.pop().set_result(data)

    async with b.client("raw-req2", on_message=answered) as req, b.client("raw-resp2", on_message=answer) as resp:
        await resp.subscribe("raw/req", qos=1)
        await req.subscribe("raw/resp", qos=1)
        await asyncio.sleep(0.2)
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        for _ in range(n):
            answer_in: asyncio.Future[bytes] = loop.create_future()
            waiting.append(answer_in)
            await req.publish("raw/req", payload, qos=1)
            await answer_in  # it may have come before the publish's acknowledgement
        elapsed = time.perf_counter() - started
    return elapsed


async def _dispatch(d: Dispatcher, remote: Any, n: int, seconds: float, run_dir: Path, concurrent: bool) -> float:
    op = remote.card.operations[0]

    async def one(i: int) -> None:
        ctx = ExpertContext(run_id="bench", node_id=f"n{i}", run_dir=run_dir)
        out = await d.call(remote, op, op.input_model.model_validate({"seconds": seconds, "value": i}), ctx)
        assert out.value == i + 1

    started = time.perf_counter()
    if concurrent:
        await asyncio.gather(*(one(i) for i in range(n)))
    else:
        for i in range(n):
            await one(i)
    return time.perf_counter() - started


async def _with_workers(url: str, count: int, work: Path) -> tuple[list[Worker], list[asyncio.Task[None]]]:
    workers = [Worker(parse_broker(url), [napper], worker_id=f"w{i}", workdir=work / f"w{i}", heartbeat_s=1.0)
               for i in range(count)]
    tasks = [asyncio.create_task(w.serve()) for w in workers]
    for w in workers:
        await asyncio.wait_for(w.connected.wait(), 10)
    return workers, tasks


async def bench(url: str, jobs: int, scale_jobs: int, sleep_s: float, work: Path) -> dict[str, Any]:
    logging.getLogger("mqtt").setLevel(logging.ERROR)
    d = Dispatcher(parse_broker(url))
    workers, tasks = await _with_workers(url, 1, work)
    await d.start()
    remote = next(e for e in d.experts() if e.worker == "w0")
    sample = json.dumps({"kind": "job", "job_id": "bench:n0:1:abcd1234", "run_id": "bench", "node_id": "n0",
                         "attempt": 1, "expert": "napper", "capability": "bench.nap",
                         "inputs": {"seconds": 0.0, "value": 0}, "reply_to": Topics().replies("bench", "w0")})
    await _dispatch(d, remote, 20, 0.0, work / "runtime", concurrent=False)  # warm up
    bus_runs, raw_runs, handed_runs = [], [], []
    for _ in range(REPEATS):  # alternated, so a busy moment of this 2-core machine hits all alike
        bus_runs.append(await _dispatch(d, remote, jobs, 0.0, work / "runtime", concurrent=False))
        raw_runs.append(await _raw_round_trips(url, jobs, len(sample)))
        handed_runs.append(await _raw_handed_over(url, jobs, len(sample)))
    bus_s, raw_s, handed_s = (statistics.median(r) for r in (bus_runs, raw_runs, handed_runs))
    for w in workers:
        await w.stop()
    for t in tasks:
        t.cancel()
    overhead = {"jobs": jobs, "repeats": REPEATS, "bus_s": bus_runs, "raw_s": raw_runs, "handed_s": handed_runs,
                "bus_jobs_per_s": jobs / bus_s, "raw_round_trips_per_s": jobs / raw_s,
                "handed_round_trips_per_s": jobs / handed_s, "ratio": raw_s / bus_s,
                "ratio_to_handed": handed_s / bus_s, "bus_ms_per_job": 1000 * bus_s / jobs,
                "raw_ms_per_round_trip": 1000 * raw_s / jobs, "handed_ms_per_round_trip": 1000 * handed_s / jobs}
    scaling = []
    for count in (1, 2, 4):
        workers, tasks = await _with_workers(url, count, work / f"scale{count}")
        await asyncio.sleep(0.3)
        live = [e for e in d.experts() if e.worker in {w.id for w in workers}]
        assert len(live) == count, [e.worker for e in d.experts()]

        async def spread(n: int, live: list[Any] = live, count: int = count) -> float:
            op = live[0].card.operations[0]
            started = time.perf_counter()

            async def one(i: int) -> None:
                ctx = ExpertContext(run_id=f"scale{count}", node_id=f"n{i}", run_dir=work / "runtime")
                await d.call(live[i % len(live)], op, op.input_model.model_validate({"seconds": sleep_s}), ctx)

            await asyncio.gather(*(one(i) for i in range(n)))
            return time.perf_counter() - started

        elapsed = await spread(scale_jobs)
        rate = scale_jobs / elapsed
        scaling.append({"workers": count, "jobs": scale_jobs, "seconds": elapsed, "jobs_per_s": rate,
                        "ideal_jobs_per_s": count / sleep_s, "efficiency": rate / (count / sleep_s)})
        for w in workers:
            await w.stop()
        for t in tasks:
            t.cancel()
        await asyncio.sleep(0.2)
    await d.close()
    return {"overhead": overhead, "scaling": scaling}


def _quiet() -> None:
    """paho warns about every publish beyond ten in flight; the scaling run has forty on purpose."""
    logging.getLogger("mqtt").setLevel(logging.ERROR)
    logging.getLogger("agentos").setLevel(logging.ERROR)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=300, help="sequential jobs for the overhead measurement")
    ap.add_argument("--scale-jobs", type=int, default=40, help="jobs per scaling point")
    ap.add_argument("--sleep", type=float, default=0.1, help="seconds each scaling job sleeps")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    _quiet()
    if shutil.which("mosquitto") is None:
        sys.exit("mosquitto is not installed: scripts/setup.sh installs it")
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp) / "broker").start()
        try:
            report = asyncio.run(bench(broker.url(), args.jobs, args.scale_jobs, args.sleep, Path(tmp)))
        finally:
            broker.stop()
    version = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True).stdout.splitlines()[0]
    report = {"machine": machine(), "mosquitto": version, "aiomqtt": package_version("aiomqtt"), **report}
    o = report["overhead"]
    t = Table(title=f"Dispatch overhead: {o['jobs']} sequential jobs, one worker, same broker (median of "
                    f"{o['repeats']})")
    for col in ("path", "per second", "ms each"):
        t.add_column(col, justify="left" if col == "path" else "right")
    t.add_row("raw aiomqtt round trip, job-sized message, `client.messages` (the baseline)",
              f"{o['raw_round_trips_per_s']:.0f}", f"{o['raw_ms_per_round_trip']:.2f}")
    t.add_row("raw aiomqtt round trip, messages handed over on arrival (as the bus receives)",
              f"{o['handed_round_trips_per_s']:.0f}", f"{o['handed_ms_per_round_trip']:.2f}")
    t.add_row("AgentOS job through Dispatcher and Worker", f"{o['bus_jobs_per_s']:.0f}",
              f"{o['bus_ms_per_job']:.2f}")
    t.add_row(f"ratio to the baseline (goal >= 0.75): {'PASS' if o['ratio'] >= 0.75 else 'MISS'}",
              f"{o['ratio']:.2f}x", "")
    t.add_row("ratio to the handed-over round trip", f"{o['ratio_to_handed']:.2f}x", "")
    console.print(t)
    s = Table(title=f"Scaling: {args.scale_jobs} jobs sleeping {args.sleep:g} s, spread over the workers")
    for col in ("workers", "jobs/s", "ideal jobs/s", "efficiency"):
        s.add_column(col, justify="right")
    for row in report["scaling"]:
        s.add_row(str(row["workers"]), f"{row['jobs_per_s']:.1f}", f"{row['ideal_jobs_per_s']:.1f}",
                  f"{row['efficiency']:.0%}")
    console.print(s)
    write_report(args.out, report, console.print)


if __name__ == "__main__":
    main()
