"""Serve a web app folder on a free localhost port while a node drives it (the showcases' demo app).

A folder with `app.py` defining an ASGI `app` runs under uvicorn; any other folder is served as
static files. The app's code is trusted like a plugin: the task file that names it runs it. The
server lives in a thread of this process and stops when the node ends.
"""

from __future__ import annotations

import importlib.util
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from agentos.errors import ExpertError


def _load_app(path: Path) -> Any:
    name = f"agentos_served_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ExpertError(f"serve: {path} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ExpertError(f"serve: {path} failed to import: {type(exc).__name__}: {exc}") from None
    app = getattr(module, "app", None)
    if app is None:
        raise ExpertError(f"serve: {path} defines no `app` (an ASGI application)")
    return app


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # the base class's signature
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Run the app in `folder`; yields its base URL (`http://127.0.0.1:PORT`)."""
    if not folder.is_dir():
        raise ExpertError(f"serve: {folder} is not a folder")
    app_file = folder / "app.py"
    if not app_file.is_file():
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(folder)))
        thread = threading.Thread(target=httpd.serve_forever, name="agentos-gui-static", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}"
        finally:
            httpd.shutdown()
            httpd.server_close()
        return
    import uvicorn

    app = _load_app(app_file)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="agentos-gui-app", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise ExpertError(f"serve: the app in {folder} did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
