"""`HostModel` over any OpenAI-compatible chat endpoint (vLLM, SGLang, llama.cpp's server, StepFun).

Built on the official `openai` client so the wire format is exactly what those servers test
against. What this adds: one time limit per call (retries included), errors that name the URL,
the status and the server's own message, and telling "this server does not support
response_format / tools" apart from every other failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx
import openai
from openai import AsyncOpenAI

from host_model.base import ChatReply, ToolCall, ToolChoice
from host_model.errors import Feature, HostModelError, HostTimeoutError, UnsupportedFeatureError

if TYPE_CHECKING:
    from host_model.text_guard import TextGuard

NO_KEY = "not-needed"  # local servers without --api-key accept any bearer token

# Words a 400/422 reply uses when a server rejects the feature itself rather than the request.
_FEATURE_WORDS: dict[Feature, tuple[str, ...]] = {
    "json_schema": ("response_format", "json_schema", "json schema", "guided", "grammar", "structured"),
    "tools": ("tool", "function"),
}
_HINTS = {
    401: "the endpoint wants an API key: set AGENTOS_HOST_API_KEY (or the variable named by host.api_key_env)",
    403: "the API key was refused: check AGENTOS_HOST_API_KEY (or the variable named by host.api_key_env)",
    404: "is base_url right? OpenAI-compatible servers serve under /v1, e.g. http://127.0.0.1:8000/v1, "
         "and the model must be one the server lists at GET <base_url>/models",
}


class OpenAICompatibleHost:
    """A host model behind `POST <base_url>/chat/completions`."""

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, timeout_s: float = 120.0,
                 temperature: float = 0.0, max_tokens: int | None = None, max_retries: int = 2):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout_s = timeout_s
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.name = f"openai-compatible:{self.base_url} model={model}"
        self._api_key = api_key or NO_KEY
        self._max_retries = max_retries
        self._client: AsyncOpenAI | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"<OpenAICompatibleHost {self.name}>"

    def _client_here(self) -> AsyncOpenAI:
        """One client per event loop: `agentos.run` starts a new loop each call, and an HTTP
        connection pool cannot outlive the loop it was made on."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = AsyncOpenAI(base_url=self.base_url, api_key=self._api_key, timeout=self.timeout_s,
                                       max_retries=self._max_retries)
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.close()
        self._client = None

    async def chat(self, messages: list[dict[str, Any]], *, json_schema: dict[str, Any] | None = None,
                   schema_name: str = "output", tools: list[dict[str, Any]] | None = None,
                   tool_choice: ToolChoice = None, temperature: float | None = None,
                   max_tokens: int | None = None, text_guard: TextGuard | None = None) -> ChatReply:
        """See `HostModel.chat`; `text_guard` is ignored (a remote server decodes; the caller checks after)."""
        request, feature = self._request(messages, json_schema, schema_name, tools, tool_choice, temperature,
                                         max_tokens)
        try:
            async with asyncio.timeout(self.timeout_s):
                resp = await self._client_here().chat.completions.create(**request)
        except (TimeoutError, openai.OpenAIError) as exc:
            raise self._error(exc, feature) from None
        return self._reply(resp)

    async def chat_stream(self, messages: list[dict[str, Any]], *, json_schema: dict[str, Any] | None = None,
                          schema_name: str = "output", temperature: float | None = None,
                          max_tokens: int | None = None, text_guard: TextGuard | None = None,
                          ) -> AsyncIterator[str]:
        """The reply's text deltas (`stream=True`); `timeout_s` bounds the whole reply, as for `chat`;
        `text_guard` is ignored (see `chat`)."""
        request, feature = self._request(messages, json_schema, schema_name, None, None, temperature, max_tokens)
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                stream = await self._client_here().chat.completions.create(**request, stream=True)
        except (TimeoutError, openai.OpenAIError) as exc:
            raise self._error(exc, feature) from None
        try:
            chunks = aiter(stream)
            while True:
                try:  # the limit covers each wait for a chunk, never the caller's work between chunks
                    async with asyncio.timeout_at(deadline):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    return
                except (TimeoutError, openai.OpenAIError, httpx.HTTPError) as exc:
                    raise self._error(exc, feature) from None
                for choice in chunk.choices:
                    if choice.delta is not None and choice.delta.content:
                        yield choice.delta.content
        finally:
            await stream.close()

    def _request(self, messages: list[dict[str, Any]], json_schema: dict[str, Any] | None, schema_name: str,
                 tools: list[dict[str, Any]] | None, tool_choice: ToolChoice, temperature: float | None,
                 max_tokens: int | None) -> tuple[dict[str, Any], Feature | None]:
        """The request body, and the optional feature it relies on (to tell "unsupported" from other 400s)."""
        request: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature if temperature is None else temperature,
        }
        if (limit := max_tokens or self.max_tokens) is not None:
            request["max_tokens"] = limit
        feature: Feature | None = None
        if json_schema is not None:
            feature = "json_schema"
            request["response_format"] = {"type": "json_schema",
                                          "json_schema": {"name": schema_name, "schema": json_schema}}
        if tools:
            feature = feature or "tools"
            request["tools"] = tools
            if tool_choice is not None:
                request["tool_choice"] = _tool_choice(tool_choice)
        return request, feature

    def _error(self, exc: Exception, feature: Feature | None) -> HostModelError:
        """One failure of a request, in our terms: timeout, HTTP status, unreachable, or broken mid-reply."""
        if isinstance(exc, (TimeoutError, openai.APITimeoutError)):
            return HostTimeoutError(
                f"{self.base_url}: no reply from model {self.model!r} within {self.timeout_s:g}s "
                f"(raise host.timeout_s if the model is just slow)", url=self.base_url)
        if isinstance(exc, openai.APIStatusError):
            return self._status_error(exc, feature)
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            return HostModelError(f"{self.base_url}: cannot reach the host model ({type(cause).__name__}: {cause}); "
                                  f"is the server running?", url=self.base_url)
        if isinstance(exc, httpx.HTTPError):
            return HostModelError(f"{self.base_url}: the reply broke off ({type(exc).__name__}: {exc})",
                                  url=self.base_url)
        return HostModelError(f"{self.base_url}: {type(exc).__name__}: {exc}", url=self.base_url)

    def _status_error(self, exc: openai.APIStatusError, feature: Feature | None) -> HostModelError:
        status = exc.status_code
        said = _server_message(exc)
        where = f"{self.base_url} (model {self.model!r})"
        if feature and status in (400, 422, 501) and any(w in said.lower() for w in _FEATURE_WORDS[feature]):
            what = "response_format json_schema" if feature == "json_schema" else "tool calling"
            return UnsupportedFeatureError(f"{where} does not support {what}: HTTP {status}: {said}",
                                           feature=feature, url=self.base_url, status=status, server_message=said)
        msg = f"{where} answered HTTP {status}: {said}"
        if status in _HINTS:
            msg += f" ({_HINTS[status]})"
        return HostModelError(msg, url=self.base_url, status=status, server_message=said)

    def _reply(self, resp: Any) -> ChatReply:
        if not getattr(resp, "choices", None):
            raise HostModelError(f"{self.base_url}: the reply has no choices: {str(resp)[:300]}", url=self.base_url)
        choice = resp.choices[0]
        msg = choice.message
        calls = [ToolCall(name=tc.function.name, arguments=tc.function.arguments or "{}", id=tc.id)
                 for tc in (msg.tool_calls or []) if getattr(tc, "function", None) is not None]
        extra = msg.model_extra or {}
        reasoning = extra.get("reasoning_content") or extra.get("reasoning")
        usage = {k: v for k, v in (resp.usage.model_dump() if resp.usage else {}).items() if isinstance(v, int)}
        return ChatReply(text=msg.content or "", tool_calls=calls, finish_reason=choice.finish_reason, usage=usage,
                         model=resp.model or self.model, reasoning=reasoning if isinstance(reasoning, str) else None)


def _tool_choice(choice: ToolChoice) -> Any:
    if isinstance(choice, str) and choice not in ("auto", "none", "required"):
        return {"type": "function", "function": {"name": choice}}
    return choice


def _server_message(exc: openai.APIStatusError) -> str:
    """The server's own words: `{"error": {"message": ...}}` (OpenAI, vLLM), `{"detail": ...}` (FastAPI)."""
    body = exc.body
    if isinstance(body, dict):
        for key in ("message", "detail", "error"):
            if body.get(key):
                return str(body[key])[:1000]
    if body:
        return str(body)[:1000]
    text = exc.response.text if exc.response is not None else ""
    return (text or exc.message)[:1000]
