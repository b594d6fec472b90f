"""An OpenAI-compatible HTTP server over our engine: `/v1/models`, `/v1/chat/completions`, `/health`.

The wire format is OpenAI's, so the official client, vLLM-style tooling and AgentOS's own
`OpenAICompatibleHost` all talk to it unchanged. Everything a request means lives in
`host_model.chat_service`; this module only does HTTP: JSON in, JSON or server-sent events out,
OpenAI-shaped errors, and aborting a request in the engine when its client goes away (a closed
stream or connection must not keep decoding tokens nobody reads).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from host_model.chat_service import ChatService, load_chat_service
from host_model.openai_api import GenerationError, RequestError, parse_request

if TYPE_CHECKING:
    from rich.console import Console

    from host_model.engine import EngineSettings

T = TypeVar("T")


def error_response(status: int, message: str, *, param: str | None = None, code: str | None = None) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": code}}, status_code=status)


class _EventStream(StreamingResponse):
    """Server-sent events that stop the generator as soon as the client disconnects.

    Starlette only notices a gone client on the next write under ASGI 2.4; listening for the
    disconnect while streaming (and closing the generator either way) aborts the engine request
    even during a long prefill.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def stream() -> None:
            with suppress(OSError):  # the client went away mid-write
                await self.stream_response(send)
            group.cancel_scope.cancel()

        try:
            async with anyio.create_task_group() as group:
                group.start_soon(stream)
                await self.listen_for_disconnect(receive)
                group.cancel_scope.cancel()
        finally:
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                await aclose()


async def _unless_disconnected(request: Request, work: Awaitable[T]) -> T | None:
    """`work`'s result, or None (work cancelled) if the client disconnects first."""
    task = asyncio.ensure_future(work)

    async def watch() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    watcher = asyncio.ensure_future(watch())
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():  # the client left (or we were cancelled): stop the work, which aborts the request
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
    return None if task.cancelled() else task.result()


def create_app(service: ChatService) -> Starlette:
    """The ASGI app for one loaded model."""
    created = int(time.time())

    async def models(_: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{
            "id": service.model_name, "object": "model", "created": created, "owned_by": "agentos",
            "max_model_len": service.max_context}]})

    async def health(_: Request) -> Response:
        engine = service.engine.engine
        return JSONResponse({"status": "ok", "model": service.model_name, "running": len(engine.running),
                             "waiting": len(engine.waiting)})

    async def chat_completions(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return error_response(400, f"the request body is not valid JSON: {exc}", code="invalid_json")
        try:
            chat = parse_request(body)
            prepared = await service.prepare(chat)
        except RequestError as exc:
            return JSONResponse(exc.body(), status_code=exc.status or 400)
        if chat.stream:
            return _EventStream(_sse(service.stream(prepared)), media_type="text/event-stream",
                                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        try:
            reply = await _unless_disconnected(request, service.complete(prepared))
        except GenerationError as exc:
            return error_response(500, str(exc))
        if reply is None:  # nobody is listening; the status is for the access log only
            return Response(status_code=499)
        return JSONResponse(reply.to_json())

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error_response(exc.status_code, f"{exc.detail} (this server has GET /v1/models, "
                                               f"POST /v1/chat/completions and GET /health)")

    routes = [Route("/v1/models", models, methods=["GET"]), Route("/health", health, methods=["GET"]),
              Route("/v1/chat/completions", chat_completions, methods=["POST"])]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.state.service = service
    return app


async def _sse(chunks: AsyncIterator[Any]) -> AsyncIterator[str]:
    """`data: {...}` events and the closing `data: [DONE]`; a failure mid-stream becomes an error event."""
    try:
        async for chunk in chunks:
            yield f"data: {json.dumps(chunk.to_json(), ensure_ascii=False)}\n\n"
    except GenerationError as exc:
        body = {"error": {"message": str(exc), "type": "server_error", "param": None, "code": None}}
        yield f"data: {json.dumps(body)}\n\n"
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
    yield "data: [DONE]\n\n"


def load_with_progress(model_path: str | Path, settings: EngineSettings | None = None, *,
                       console: Console | None = None, **kwargs: Any) -> ChatService:
    """`load_chat_service` with a rich progress bar over the checkpoint's tensors."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = console or Console(stderr=True)
    if settings is not None and settings.compile:
        console.print("the decode step is compiled after loading: a minute or two the first time, seconds once "
                      "torch's compile cache has it", style="dim", highlight=False)
    columns = (TextColumn("loading {task.fields[folder]}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[tensor]}", style="dim"))
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("load", total=None, folder=Path(model_path).name, tensor="")

        def step(done: int, total: int, name: str) -> None:
            progress.update(task, completed=done, total=total, tensor=name)

        return load_chat_service(model_path, engine_settings=settings, progress=step, **kwargs)


def serve(model_path: str | Path, host: str = "127.0.0.1", port: int = 8000, settings: EngineSettings | None = None,
          *, console: Console | None = None, log_level: str = "info", **kwargs: Any) -> None:
    """Load the model (with progress), then serve it until interrupted."""
    import uvicorn
    from rich.console import Console

    console = console or Console(stderr=True)
    service = load_with_progress(model_path, settings, console=console, **kwargs)
    console.print(f"serving [bold]{service.model_name}[/] at http://{host}:{port}/v1 "
                  f"(context {service.max_context} tokens)", highlight=False)
    try:
        uvicorn.run(create_app(service), host=host, port=port, log_level=log_level)
    finally:
        service.close()
