"""The one chat interface every host backend implements (HTTP client now, in-process engine later).

Messages and tools use OpenAI's JSON shapes, because every backend we target already speaks them
and the in-process engine can parse the same dicts. The reply is a small pydantic model so callers
never touch a backend's own response types.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from host_model.text_guard import TextGuard

# "auto" | "none" | "required" | the name of one tool to force | OpenAI's dict form, passed through
ToolChoice = str | dict[str, Any] | None


class ToolCall(BaseModel):
    """A function call the model asked for; `arguments` is the JSON text exactly as generated."""

    name: str
    arguments: str
    id: str | None = None


class ChatReply(BaseModel):
    """One assistant turn."""

    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, int] = Field(default_factory=dict)  # prompt_tokens, completion_tokens, total_tokens
    model: str = ""
    reasoning: str | None = None  # a reasoning model's thinking, when the server returns it separately


@runtime_checkable
class HostModel(Protocol):
    """A chat model: the host that plans task graphs, and the handle experts get as `ctx.host`."""

    name: str  # what it is and where, e.g. "openai-compatible:http://127.0.0.1:8000/v1 model=step-3.5-flash"

    async def chat(self, messages: list[dict[str, Any]], *, json_schema: dict[str, Any] | None = None,
                   schema_name: str = "output", tools: list[dict[str, Any]] | None = None,
                   tool_choice: ToolChoice = None, temperature: float | None = None,
                   max_tokens: int | None = None, text_guard: TextGuard | None = None) -> ChatReply:
        """One chat completion.

        `json_schema` asks for a reply whose text is JSON matching it (constrained decoding);
        `tools` are OpenAI function tools and `tool_choice` may name one to force. A backend that
        cannot honour either raises `UnsupportedFeatureError` naming which. `text_guard` adds a rule
        on the reply's text to the constraint (`host_model.text_guard`): a backend that decodes in
        this process applies it, others ignore it (it is Python, it cannot cross HTTP).
        """
        ...


@runtime_checkable
class StreamingHostModel(HostModel, Protocol):
    """A host that can also hand out its reply as it is generated (optional: callers that stream, such as
    streamed planning, fall back to `chat` for a host without `chat_stream`)."""

    def chat_stream(self, messages: list[dict[str, Any]], *, json_schema: dict[str, Any] | None = None,
                    schema_name: str = "output", temperature: float | None = None,
                    max_tokens: int | None = None, text_guard: TextGuard | None = None,
                    ) -> AsyncIterator[str]:
        """The reply text in pieces as they are generated; joined, they are `chat(...).text` for the same request.

        Same options and errors as `chat` (without tools); an error can also come mid-stream.
        """
        ...
