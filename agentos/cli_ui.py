"""`agentos ui`: serve the showcase web page and its API (samples, runs, live events) on this machine.

It binds to 127.0.0.1 unless told otherwise; any other address exposes runs to the network, so it
then wants a token ($AGENTOS_UI_TOKEN or --token) on every request. FastAPI and uvicorn are
imported inside the command, so `agentos --help` stays light.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from agentos.errors import UserError

out = Console()
TOKEN_ENV = "AGENTOS_UI_TOKEN"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ui_command(
    host: Annotated[str, typer.Option(help="Address to bind; anything but loopback needs a token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    token: Annotated[str | None, typer.Option(envvar=TOKEN_ENV, help="Token every request must carry.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Runs folder (default ./runs).")] = None,
    broker: Annotated[str | None, typer.Option(envvar="AGENTOS_BROKER", help="MQTT broker (mqtt://USER@HOST:PORT) "
                                               "whose workers' experts the runs may use; the page lists them.")] = None,
) -> None:
    """Serve the showcase page: four tabs of runnable samples, the live task graph, results, the router.

    Example: agentos ui --port 8765   (then open http://127.0.0.1:8765/)
    """
    if not _loopback(host) and not token:
        raise UserError(f"binding to {host} exposes runs to the network: give --token (or ${TOKEN_ENV}), "
                        "or bind to 127.0.0.1")
    if broker:
        from agentos.bus import parse_broker

        parse_broker(broker)  # a malformed URL is said now, not on the first request
    import uvicorn

    from agentos.api import default_runs_root
    from ui import UiSettings, create_app

    app = create_app(UiSettings(runs_root=output or default_runs_root(), token=token, broker=broker))
    link = f"http://{host}:{port}/" + (f"?token={token}" if token else "")
    out.print(f"AgentOS showcase on {link} (API schema: /openapi.json); Ctrl-C stops it", highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="warning")
