"""`HostModel` over our own engine in this process: the offline host, no server and no HTTP.

It sends the same OpenAI-shaped request through the same `ChatService` the HTTP server uses, so
planning with an `EngineHost` and with `OpenAICompatibleHost` pointed at `agentos host serve`
gives the same answers and the same errors.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from host_model.base import ChatReply, ToolCall, ToolChoice
from host_model.chat_service import ChatService, load_chat_service
from host_model.openai_api import GenerationError, parse_request

if TYPE_CHECKING:
    from host_model.engine import EngineSettings
    from host_model.text_guard import TextGuard


class EngineHost:
    """A chat model running in-process; implements `host_model.HostModel`."""

    def __init__(self, service: ChatService, *, temperature: float = 0.0, max_tokens: int | None = None) -> None:
        self.service = service
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.name = f"engine:{service.model_name}"

    @classmethod
    def from_folder(cls, folder: str | Path, settings: EngineSettings | None = None, *, temperature: float = 0.0,
                    max_tokens: int | None = None, **service_options: Any) -> EngineHost:
        """Load a model folder; `service_options` go to `load_chat_service` (model_name, enable_thinking...)."""
        return cls(load_chat_service(folder, engine_settings=settings, **service_options),
                   temperature=temperature, max_tokens=max_tokens)

    def __repr__(self) -> str:
        return f"<EngineHost {self.name}>"

    def close(self) -> None:
        """Stop the engine's worker thread."""
        self.service.close()

    async def chat(self, messages: list[dict[str, Any]], *, json_schema: dict[str, Any] | None = None,
                   schema_name: str = "output", tools: list[dict[str, Any]] | None = None,
                   tool_choice: ToolChoice = None, temperature: float | None = None,
                   max_tokens: int | None = None, text_guard: TextGuard | None = None) -> ChatReply:
        body = self._body(messages, json_schema, schema_name, tools, tool_choice, temperature, max_tokens)
        prepared = await self.service.prepare(parse_request(body), text_guard=text_guard)
        try:
            response = await self.service.complete(prepared)
        except GenerationError as exc:
            raise GenerationError(f"{self.name}: {exc}") from None
        choice = response.choices[0]
        message = choice.message
        calls = [ToolCall(name=c.function.name or "", arguments=c.function.arguments or "{}", id=c.id)
                 for c in message.tool_calls or []]
        return ChatReply(text=message.content or "", tool_calls=calls, finish_reason=choice.finish_reason,
                         usage=response.usage.model_dump(), model=response.model, reasoning=message.reasoning_content)

    async def chat_stream(self, messages: list[dict[str, Any]], *, json_schema: dict[str, Any] | None = None,
                          schema_name: str = "output", temperature: float | None = None,
                          max_tokens: int | None = None, text_guard: TextGuard | None = None,
                          ) -> AsyncIterator[str]:
        """The reply's content deltas, from the same `ChatService.stream` that `chat` collects."""
        body = self._body(messages, json_schema, schema_name, None, None, temperature, max_tokens)
        prepared = await self.service.prepare(parse_request(body), text_guard=text_guard)
        async with contextlib.aclosing(self.service.stream(prepared)) as chunks:
            try:
                async for chunk in chunks:
                    for choice in chunk.choices:
                        if choice.delta.content:
                            yield choice.delta.content
            except GenerationError as exc:
                raise GenerationError(f"{self.name}: {exc}") from None

    def _body(self, messages: list[dict[str, Any]], json_schema: dict[str, Any] | None, schema_name: str,
              tools: list[dict[str, Any]] | None, tool_choice: ToolChoice, temperature: float | None,
              max_tokens: int | None) -> dict[str, Any]:
        """The OpenAI request body the HTTP server would receive for the same call."""
        body: dict[str, Any] = {
            "model": self.service.model_name, "messages": messages,
            "temperature": self.temperature if temperature is None else temperature,
        }
        if (limit := max_tokens or self.max_tokens) is not None:
            body["max_tokens"] = limit
        if json_schema is not None:
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": schema_name,
                                                                               "schema": json_schema}}
        if tools:
            body["tools"] = tools
            if tool_choice is not None:
                body["tool_choice"] = _tool_choice(tool_choice)
        return body


def _tool_choice(choice: ToolChoice) -> Any:
    """A bare tool name forces that tool, as `OpenAICompatibleHost` reads it."""
    if isinstance(choice, str) and choice not in ("auto", "none", "required"):
        return {"type": "function", "function": {"name": choice}}
    return choice
