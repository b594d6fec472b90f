"""Real `agentos worker` processes for tests: started serving the test experts of support_experts.py, waited
for until they announce on the broker, and stopped (SIGTERM, so they say goodbye)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from agentos.bus import Dispatcher, parse_broker

TESTS = Path(__file__).resolve().parent


def worker(url: str, ident: str, experts: list[str], folder: Path, *, heartbeat: float = 0.5,
           password: str | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "AGENTOS_EXPERT_MODULES": "support_experts",
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    if password:
        env["AGENTOS_MQTT_PASSWORD"] = password
    args = [sys.executable, "-m", "agentos", "worker", "--broker", url, "--id", ident, "--workdir",
            str(folder / ident), "--heartbeat", str(heartbeat)]
    for e in experts:
        args += ["--expert", e]
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=(folder / f"{ident}.log").open("wb"))


def wait_for_workers(url: str, names: set[str], timeout_s: float = 30, password: str | None = None) -> None:
    async def watch() -> None:
        b = parse_broker(url)
        if password:
            b.password = password
        d = Dispatcher(b)
        await d.start(settle_s=0)
        try:
            deadline = time.monotonic() + timeout_s
            while not names <= set(d.live_workers()):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"workers {names - set(d.live_workers())} never announced")
                await asyncio.sleep(0.05)
        finally:
            await d.close()

    asyncio.run(watch())


def stop(*procs: subprocess.Popen[bytes]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
