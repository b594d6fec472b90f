"""A real HTTP server on 127.0.0.1 that speaks OpenAI's chat-completions wire format with scripted replies.

Tests drive it through the official `openai` client, so what they check is what a vLLM, SGLang
or llama.cpp server would see. It records every request (headers and JSON body), and can play a
server that rejects `response_format` or `tools` with HTTP 400, as real servers without those
features do. A request with `stream: true` is answered with server-sent events (`chat.completion.chunk`
objects, then `data: [DONE]`), the text in the pieces a reply names, as slowly as it says.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GATE_S = 10.0  # the longest a streamed reply waits for its gate

@dataclass
class Reply:
    """One scripted answer: a message (text and/or tool calls), or an HTTP error."""

    content: str | None = None
    tool_calls: list[tuple[str, str]] = field(default_factory=list)  # (function name, JSON arguments)
    status: int = 200
    error: str = ""
    finish_reason: str | None = None
    delay_s: float = 0.0  # wait before answering (cut short when the server stops)
    headers: dict[str, str] = field(default_factory=dict)
    reasoning: str | None = None  # sent as `reasoning_content`, as vLLM's reasoning parsers do
    chunks: list[str] | None = None  # streamed: the content in these pieces (default: one piece)
    chunk_delay_s: float = 0.0  # streamed: pause between pieces
    gate: threading.Event | None = None  # streamed: after the first piece, wait for it (at most GATE_S)

    def pieces(self) -> list[str]:
        if self.chunks is not None:
            return self.chunks
        return [self.content] if self.content else []


def streamed(pieces: list[str], *, delay_s: float = 0.0, gate: threading.Event | None = None) -> Reply:
    """A text reply that a streaming client receives in these pieces, `delay_s` apart; after the first
    piece the server waits for `gate` (when given) before sending the rest."""
    return Reply(content="".join(pieces), finish_reason="stop", chunks=list(pieces), chunk_delay_s=delay_s,
                 gate=gate)


def text(content: str, finish_reason: str = "stop", reasoning: str | None = None) -> Reply:
    return Reply(content=content, finish_reason=finish_reason, reasoning=reasoning)


def plan(nodes_or_doc: Any) -> Reply:
    """A reply whose text is the JSON of a plan (`{"nodes": [...]}` or anything given)."""
    return text(json.dumps(nodes_or_doc))


def tool_call(name: str, arguments: Any) -> Reply:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return Reply(tool_calls=[(name, args)], finish_reason="tool_calls")


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status=status, error=message, headers=headers or {})


def slow(seconds: float, reply: Reply) -> Reply:
    reply.delay_s = seconds
    return reply


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    answered: int  # HTTP status the server sent

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])


class ScriptedOpenAIServer:
    """`with ScriptedOpenAIServer([replies...]) as srv: OpenAICompatibleHost(srv.url, "m")`."""

    def __init__(self, replies: list[Reply] | None = None, *, reject_response_format: bool = False,
                 reject_tools: bool = False):
        self.replies: list[Reply] = list(replies or [])
        self.reject_response_format = reject_response_format
        self.reject_tools = reject_tools
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="scripted-openai", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def add(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def start(self) -> ScriptedOpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def chat_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    # serving ---------------------------------------------------------------------------------------
    def _answer(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any],
                                                                                          Reply | None]:
        if not path.endswith("/chat/completions"):
            return 404, _error_body(404, f"no route {path}"), None
        if self.reject_response_format and "response_format" in body:
            return 400, _error_body(400, "Unsupported response_format type: json_schema"), None
        if self.reject_tools and "tools" in body:
            return 400, _error_body(400, "tools are not supported by this server (no tool call parser)"), None
        with self._lock:
            reply = self.replies.pop(0) if self.replies else None
            n = len(self.requests) + 1
        if reply is None:
            return 500, _error_body(500, f"scripted server: no reply left for request #{n}"), None
        if reply.status != 200:
            return reply.status, _error_body(reply.status, reply.error), reply
        calls = [{"id": f"call_{n}_{i}", "type": "function", "function": {"name": name, "arguments": args}}
                 for i, (name, args) in enumerate(reply.tool_calls)]
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if calls:
            message["tool_calls"] = calls
        if reply.reasoning is not None:
            message["reasoning_content"] = reply.reasoning
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        completion_tokens = len((reply.content or "").split()) + sum(len(a) // 4 for _, a in reply.tool_calls)
        out = {
            "id": f"chatcmpl-{n}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", ""),
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": reply.finish_reason or ("tool_calls" if calls else "stop")}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }
        return 200, out, reply

    def _chunks(self, reply: Reply, out: dict[str, Any]) -> list[dict[str, Any]]:
        """The streamed form of completion `out`: role, reasoning, content pieces, tool calls, finish."""
        message, choice = out["choices"][0]["message"], out["choices"][0]
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        if reply.reasoning is not None:
            deltas.append({"reasoning_content": reply.reasoning})
        deltas += [{"content": piece} for piece in reply.pieces()]
        if message.get("tool_calls"):
            deltas.append({"tool_calls": [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]})
        head = {k: out[k] for k in ("id", "created", "model")}
        chunks = [{**head, "object": "chat.completion.chunk",
                   "choices": [{"index": 0, "delta": d, "logprobs": None, "finish_reason": None}]} for d in deltas]
        chunks.append({**head, "object": "chat.completion.chunk",
                       "choices": [{"index": 0, "delta": {}, "logprobs": None,
                                    "finish_reason": choice["finish_reason"]}]})
        return chunks

    def _pause(self, reply: Reply, sent: int) -> None:
        """Between content pieces, `sent` of them out: the reply's gate after the first, then its delay."""
        if sent == 1 and reply.gate is not None:
            deadline = time.monotonic() + GATE_S
            while not reply.gate.wait(0.02) and not self._stopping.is_set() and time.monotonic() < deadline:
                pass
        if reply.chunk_delay_s:
            self._stopping.wait(reply.chunk_delay_s)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, out, reply = server._answer(self.path, headers, body)
                with server._lock:
                    server.requests.append(Request(self.path, headers, body, status))
                if reply is not None and reply.delay_s:
                    server._stopping.wait(reply.delay_s)
                extra = reply.headers if reply is not None else {}
                if status == 200 and reply is not None and body.get("stream"):
                    self._send_events(reply, out, extra)
                else:
                    self._send(status, out, extra)

            def do_GET(self) -> None:
                if self.path.endswith("/models"):
                    self._send(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]}, {})
                else:
                    self._send(404, _error_body(404, f"no route {self.path}"), {})

            def _send(self, status: int, out: dict[str, Any], extra: dict[str, str]) -> None:
                data = json.dumps(out).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in extra.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def _send_events(self, reply: Reply, out: dict[str, Any], extra: dict[str, str]) -> None:
                """Server-sent events, one chunk per event, over a connection that closes at the end."""
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Cache-Control", "no-cache")
                    for k, v in extra.items():
                        self.send_header(k, v)
                    self.end_headers()
                    sent = 0  # content pieces out
                    for chunk in server._chunks(reply, out):
                        if chunk["choices"][0]["delta"].get("content"):
                            if sent:
                                server._pause(reply, sent)
                            sent += 1
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        self.wfile.flush()
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _error_body(status: int, message: str) -> dict[str, Any]:
    kind = "BadRequestError" if status < 500 else "InternalServerError"
    return {"error": {"message": message, "type": kind, "param": None, "code": status}}
