"""`agentos worker`: serve installed experts to runs elsewhere through an MQTT broker.

    agentos worker --broker mqtt://gpu-box@broker.lan:1883 --expert image-diffusion --concurrency 2

The password comes from $AGENTOS_MQTT_PASSWORD. The worker's id is its broker user name (what the
broker's ACL names), else this host's name. aiomqtt is imported inside the command.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from agentos.errors import UserError

out = Console(stderr=True)


def worker_command(
    broker: Annotated[str, typer.Option(help="mqtt://[USER@]HOST[:PORT] or mqtts://...; password in "
                                        "$AGENTOS_MQTT_PASSWORD.")],
    expert: Annotated[list[str], typer.Option("--expert", "-e", help="An installed expert to serve (repeatable).")],
    concurrency: Annotated[int, typer.Option(min=1, help="Jobs run at once.")] = 1,
    worker_id: Annotated[str | None, typer.Option("--id", help="Worker id (default: the broker user name, "
                                                  "else the host name).")] = None,
    workdir: Annotated[Path, typer.Option(help="Where jobs write their artifacts before they are sent back.")] = Path(
        "worker-runs"),
    heartbeat: Annotated[float, typer.Option(min=0.1, help="Seconds between heartbeats.")] = 2.0,
) -> None:
    """Serve experts to runs on other machines. Example: agentos worker --broker mqtt://w1@localhost:1883 -e text"""
    from agentos.bus import Worker, parse_broker
    from agentos.registry import Registry

    url = parse_broker(broker)
    registry = Registry.discover()
    chosen = []
    for name in expert:
        exp = registry.get(name)  # names the known experts when it is not one
        if why := exp.unavailable(None):
            raise UserError(f"expert {name} cannot run on this machine: {why}")
        chosen.append(exp)
    ident = worker_id or url.username or socket.gethostname()
    worker = Worker(url, chosen, worker_id=ident, workdir=workdir, concurrency=concurrency, heartbeat_s=heartbeat)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("mqtt").setLevel(logging.ERROR)
    out.print(f"worker {ident}: serving {', '.join(expert)} on {url} (concurrency {concurrency})", highlight=False)
    asyncio.run(_serve(worker))


async def _serve(worker: object) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(worker.serve())  # type: ignore[attr-defined]
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await worker.stop()  # type: ignore[attr-defined]
    task.cancel()
