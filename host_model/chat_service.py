"""OpenAI chat completions over our engine: the one place a request becomes engine work and back.

The HTTP server and the in-process `EngineHost` both go through `ChatService`, so a request means
the same thing either way: same validation and error messages, same prompt, same constraint, same
parsing of reasoning and tool calls. The non-streamed reply is built by collecting the streamed
chunks, so a stream always adds up to exactly the non-streamed answer.

Constrained requests (`response_format` json_schema / json_object, and a forced tool call) are
rendered with thinking off: a grammar must hold from the first generated token. A forced call is
generated as its arguments JSON under the tool's `parameters` schema and the call is built here
(vLLM does the same for a named `tool_choice`); the chat template writes it back as the model's
XML in later turns. With several tools, `required` generates `{"name": ..., "arguments": ...}`
under an `anyOf` of one branch per tool: exactly one call.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from host_model.errors import ChatFormatError, ConstraintError, HostModelError
from host_model.parsers import StreamParser, prompt_ends_in_reasoning

if TYPE_CHECKING:  # torch-using modules: imported for real only where a model runs
    from host_model.checkpoint import Progress
    from host_model.engine import AsyncEngine, EngineSettings, TokenConstraint, Update
    from host_model.sampling import SamplingParams, TokenLogprob
    from host_model.tokenizer import Tokenizer

# ---- errors --------------------------------------------------------------------------------------


class RequestError(HostModelError):
    """A request we refuse, with the HTTP status and the OpenAI `param`/`code` that say what is wrong."""

    def __init__(self, message: str, *, param: str | None = None, status: int = 400, code: str | None = None):
        super().__init__(message, status=status, server_message=message)
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        kind = "invalid_request_error" if self.status is not None and self.status < 500 else "server_error"
        return {"error": {"message": str(self), "type": kind, "param": self.param, "code": self.code}}


class GenerationError(HostModelError):
    """The engine failed while generating (a bug or out of memory); the request cannot be finished."""


# ---- request -------------------------------------------------------------------------------------

class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class FunctionCallIn(BaseModel):
    name: str
    arguments: str = "{}"

    @field_validator("arguments", mode="before")
    @classmethod
    def _dump_mapping(cls, value: Any) -> Any:
        return json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value


class ToolCallIn(BaseModel):
    id: str | None = None
    type: Literal["function"] = "function"
    function: FunctionCallIn


Role = Literal["system", "developer", "user", "assistant", "tool"]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Role
    content: str | list[TextPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None
    reasoning_content: str | None = Field(None, validation_alias=AliasChoices("reasoning_content", "reasoning"))

    @model_validator(mode="after")
    def _has_content(self) -> ChatMessage:
        if self.content is None and not (self.role == "assistant" and self.tool_calls):
            raise ValueError(f"a {self.role} message needs content"
                             + (" or tool_calls" if self.role == "assistant" else ""))
        return self

    def for_template(self) -> dict[str, Any]:
        data = self.model_dump(exclude_none=True)
        if self.role == "developer":  # OpenAI's newer name for the system role
            data["role"] = "system"
        return data


class FunctionDef(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolDef(BaseModel):
    type: Literal["function"]
    function: FunctionDef


class NamedFunction(BaseModel):
    name: str


class NamedToolChoice(BaseModel):
    type: Literal["function"]
    function: NamedFunction


class JsonSchemaSpec(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    name: str = "output"
    description: str | None = None
    schema_: dict[str, Any] = Field(default_factory=lambda: {"type": "object"}, alias="schema")
    strict: bool | None = None


class ResponseFormat(BaseModel):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaSpec | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("type json_schema needs a json_schema object: {\"name\": ..., \"schema\": {...}}")
        return self


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """The fields of OpenAI's request we honour; unknown fields are ignored, as vLLM does."""

    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    tools: list[ToolDef] | None = None
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = None
    response_format: ResponseFormat | None = None
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    top_k: int | None = Field(None, ge=0)  # vLLM's extension
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int = 1
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0, le=20)
    stream: bool = False
    stream_options: StreamOptions | None = None
    parallel_tool_calls: bool | None = None  # accepted; a forced call is always exactly one
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    chat_template_kwargs: dict[str, Any] | None = None  # vLLM's extension, e.g. {"enable_thinking": false}

    @field_validator("n")
    @classmethod
    def _one_choice(cls, value: int) -> int:
        if value != 1:
            raise ValueError(f"only n=1 is supported (got {value}); send separate requests for more choices")
        return value

    @field_validator("stop")
    @classmethod
    def _stop_strings(cls, value: str | list[str] | None) -> str | list[str] | None:
        stops = [value] if isinstance(value, str) else value or []
        if len(stops) > 16 or any(not s for s in stops):
            raise ValueError("give at most 16 stop strings, none of them empty")
        return value

    @field_validator("frequency_penalty", "presence_penalty")
    @classmethod
    def _no_penalty(cls, value: float | None) -> float | None:
        if value:
            raise ValueError("penalties are not supported by this server; leave them out or set 0")
        return value

    @field_validator("logit_bias")
    @classmethod
    def _no_bias(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value:
            raise ValueError("logit_bias is not supported by this server")
        return value

    @field_validator("top_logprobs")
    @classmethod
    def _needs_logprobs(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value and not info.data.get("logprobs"):
            raise ValueError("top_logprobs needs logprobs: true")
        return value

    @property
    def stop_list(self) -> list[str]:
        return [self.stop] if isinstance(self.stop, str) else list(self.stop or [])


def _field_names(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    """Every field name and alias in the request models: what an error path may contain."""
    seen = seen if seen is not None else set()
    seen.add(model)
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names |= {name, info.alias or name}
        for sub in _nested_models(info.annotation):
            if sub not in seen:
                names |= _field_names(sub, seen)
    return names


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _nested_models(arg)]


@lru_cache(maxsize=1)
def _request_field_names() -> frozenset[str]:
    return frozenset(_field_names(ChatCompletionRequest))


def _error_path(loc: Sequence[int | str]) -> str:
    """`messages[0].content` from pydantic's loc, dropping the union-member tags pydantic adds."""
    names = _request_field_names()
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in names:
            path += f".{part}" if path else part
    return path


def parse_request(body: Any) -> ChatCompletionRequest:
    """Validate a request body; errors name the field (`messages[0].role: ...`)."""
    if not isinstance(body, dict):
        raise RequestError(f"the request body must be a JSON object, got {type(body).__name__}")
    try:
        return ChatCompletionRequest.model_validate(body)
    except ValidationError as exc:
        grouped: dict[str, list[str]] = {}
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            grouped.setdefault(_error_path(error["loc"]), [])
            if message not in grouped[_error_path(error["loc"])]:
                grouped[_error_path(error["loc"])].append(message)
        parts = [f"{path or 'body'}: {'; or '.join(messages)}" for path, messages in grouped.items()]
        first = next(iter(grouped))
        raise RequestError("invalid request: " + " | ".join(parts[:4]), param=first or None) from None


# ---- response ------------------------------------------------------------------------------------

class TopLogprob(BaseModel):
    token: str
    logprob: float
    bytes: list[int] | None = None


class TokenLogprobOut(TopLogprob):
    top_logprobs: list[TopLogprob] = Field(default_factory=list)


class ChoiceLogprobs(BaseModel):
    content: list[TokenLogprobOut] = Field(default_factory=list)


class FunctionOut(BaseModel):
    name: str | None = None
    arguments: str | None = None


class ToolCallOut(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionOut


class ToolCallDelta(BaseModel):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: FunctionOut | None = None


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCallOut] | None = None


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    logprobs: ChoiceLogprobs | None = None
    finish_reason: str | None = None


class ChatCompletionResponse(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude_none=True)
        for choice in data["choices"]:
            choice["message"].setdefault("content", None)
            choice.setdefault("logprobs", None)
        return data


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    logprobs: ChoiceLogprobs | None = None
    finish_reason: str | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


# ---- the service ---------------------------------------------------------------------------------

Mode = Literal["free", "json", "tool", "tool_required"]


@dataclass
class PreparedChat:
    """A validated request turned into engine input: prompt ids, sampling, constraint and output mode."""

    request: ChatCompletionRequest
    prompt: str
    prompt_ids: list[int]
    params: SamplingParams
    constraint: TokenConstraint | None
    mode: Mode
    tools: list[dict[str, Any]] | None  # for parsing tool calls (free mode)
    forced_tool: str | None
    starts_in_reasoning: bool


class ServiceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_name: str = Field(min_length=1)
    enable_thinking: bool = Field(True, description="default of chat_template_kwargs.enable_thinking")
    json_whitespace: int = Field(0, ge=0, description="longest whitespace run between JSON tokens under a "
                                 "constraint; 0 = compact JSON, which also stops a model looping on newlines")


class ChatService:
    """Turns chat requests into engine requests over one loaded model and tokenizer."""

    def __init__(self, engine: AsyncEngine, tokenizer: Tokenizer, settings: ServiceSettings) -> None:
        self.engine = engine
        self.tokenizer = tokenizer
        self.settings = settings
        self._token_bytes: dict[int, bytes] = {}

    @property
    def model_name(self) -> str:
        return self.settings.model_name

    @property
    def max_context(self) -> int:
        return self.engine.engine.max_context

    def close(self) -> None:
        self.engine.close()

    # ---- preparing ------------------------------------------------------------------------------

    async def prepare(self, request: ChatCompletionRequest) -> PreparedChat:
        """Check the request against this model and build the engine input (off the event loop:
        rendering, tokenising and compiling a schema can take a while on a large vocabulary)."""
        if request.model != self.model_name:
            raise RequestError(f"model {request.model!r} does not exist here; this server serves "
                               f"{self.model_name!r} (see GET /v1/models)", param="model", status=404,
                               code="model_not_found")
        return await asyncio.to_thread(self._prepare, request)

    def _prepare(self, request: ChatCompletionRequest) -> PreparedChat:
        from host_model.sampling import SamplingParams

        mode, forced = self._mode(request)
        kwargs = dict(request.chat_template_kwargs or {})
        if mode != "free":
            if kwargs.get("enable_thinking"):
                raise RequestError("chat_template_kwargs.enable_thinking: thinking cannot be combined with "
                                   "response_format json or a forced tool call (the grammar holds from the first "
                                   "token)", param="chat_template_kwargs.enable_thinking")
            kwargs["enable_thinking"] = False
        kwargs.setdefault("enable_thinking", self.settings.enable_thinking)
        show_tools = bool(request.tools) and request.tool_choice != "none"
        tools = [t.model_dump(exclude_none=True) for t in request.tools or []] if show_tools else None
        try:
            prompt = self.tokenizer.apply_chat_template([m.for_template() for m in request.messages], tools=tools,
                                                        add_generation_prompt=True, **kwargs)
        except ChatFormatError as exc:
            raise RequestError(f"messages: {exc}", param="messages") from None
        prompt_ids = self.tokenizer.encode(prompt)
        room = self.max_context - len(prompt_ids)
        if room < 1:
            raise RequestError(f"messages: the prompt is {len(prompt_ids)} tokens and this server's context is "
                               f"{self.max_context} tokens (prompt + reply); shorten the messages",
                               param="messages", code="context_length_exceeded")
        limit = request.max_completion_tokens or request.max_tokens or room
        params = SamplingParams(
            max_tokens=limit, temperature=1.0 if request.temperature is None else request.temperature,
            top_p=request.top_p or 1.0, top_k=request.top_k or 0, seed=request.seed, stop=request.stop_list,
            logprobs=request.logprobs, top_logprobs=request.top_logprobs or 0)
        return PreparedChat(request=request, prompt=prompt, prompt_ids=prompt_ids, params=params,
                            constraint=self._constraint(request, mode, forced), mode=mode,
                            tools=tools if mode == "free" else None, forced_tool=forced,
                            starts_in_reasoning=mode == "free" and prompt_ends_in_reasoning(prompt))

    def _mode(self, request: ChatCompletionRequest) -> tuple[Mode, str | None]:
        choice = request.tool_choice
        names = [t.function.name for t in request.tools or []]
        fmt = request.response_format.type if request.response_format else "text"
        forcing = choice == "required" or isinstance(choice, NamedToolChoice)
        if forcing and not names:
            raise RequestError("tool_choice: forcing a tool call needs tools", param="tool_choice")
        if forcing and fmt != "text":
            raise RequestError("response_format: cannot be combined with a forced tool call (tool_choice)",
                               param="response_format")
        if isinstance(choice, NamedToolChoice):
            if choice.function.name not in names:
                raise RequestError(f"tool_choice: no tool named {choice.function.name!r} in tools "
                                   f"(have {', '.join(names)})", param="tool_choice.function.name")
            return "tool", choice.function.name
        if choice == "required":
            return ("tool", names[0]) if len(names) == 1 else ("tool_required", None)
        return ("json" if fmt != "text" else "free"), None

    def _constraint(self, request: ChatCompletionRequest, mode: Mode, forced: str | None) -> TokenConstraint | None:
        from host_model.constrained import json_schema_constraint

        tools = {t.function.name: t.function.parameters or {"type": "object"} for t in request.tools or []}
        if mode == "free":
            return None
        if mode == "json":
            fmt = request.response_format
            assert fmt is not None
            schema = fmt.json_schema.schema_ if fmt.type == "json_schema" and fmt.json_schema else None
            param = "response_format.json_schema.schema"
        elif mode == "tool":
            assert forced is not None
            schema, param = tools[forced], "tools.function.parameters"
        else:
            schema = {"anyOf": [{"type": "object", "properties": {"name": {"const": name}, "arguments": params},
                                 "required": ["name", "arguments"], "additionalProperties": False}
                                for name, params in tools.items()]}
            param = "tools"
        try:
            return json_schema_constraint(schema, self.tokenizer.backend, eos_token_ids=self.tokenizer.eos_token_ids,
                                          vocab_size=self.engine.engine.config.vocab_size,
                                          max_whitespace_run=self.settings.json_whitespace)
        except ConstraintError as exc:
            raise RequestError(f"{param}: {exc}", param=param) from None

    # ---- generating -----------------------------------------------------------------------------

    async def stream(self, prepared: PreparedChat, *, usage: bool | None = None,
                     ) -> AsyncIterator[ChatCompletionChunk]:
        """OpenAI chunks: role first, then reasoning/content/tool-call deltas, the finish reason, then
        usage in a chunk of its own when `usage` (default: the request's stream_options.include_usage)."""
        ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

        def chunk(delta: Delta, *, finish: str | None = None, logprobs: ChoiceLogprobs | None = None,
                  ) -> ChatCompletionChunk:
            return ChatCompletionChunk(id=ident, created=created, model=self.model_name,
                                       choices=[ChunkChoice(delta=delta, logprobs=logprobs, finish_reason=finish)])

        yield chunk(Delta(role="assistant", content=""))
        output = _OutputSplitter(prepared)
        last: Update | None = None
        updates = self.engine.stream(prepared.prompt_ids, prepared.params, constraint=prepared.constraint)
        try:
            async for update in updates:
                if update.error:
                    raise GenerationError(f"generation failed: {update.error}")
                last = update
                logprobs = self._logprobs(update.logprobs) if prepared.params.logprobs else None
                deltas = output.feed(update.text)
                if logprobs is not None and not deltas:
                    deltas = [Delta()]  # the tokens' logprobs go out even while their text is held back
                for i, delta in enumerate(deltas):
                    yield chunk(delta, logprobs=logprobs if i == 0 else None)
        except GenerationError:
            raise
        except HostModelError as exc:  # the engine refused the request (EngineError) or a constraint broke
            raise GenerationError(f"generation failed: {exc}") from None
        finally:
            await updates.aclose()  # aborts the engine request if we stop early
        if last is None:
            raise GenerationError("generation failed: the engine ended the request without a token")
        deltas = output.finish()
        reason = last.finish_reason or "stop"
        if output.tool_calls and reason == "stop":
            reason = "tool_calls"
        for delta in deltas:
            yield chunk(delta)
        yield chunk(Delta(), finish=reason)
        options = prepared.request.stream_options
        if usage if usage is not None else options is not None and options.include_usage:
            yield ChatCompletionChunk(id=ident, created=created, model=self.model_name, choices=[],
                                      usage=_usage(len(prepared.prompt_ids), last.completion_tokens))

    async def complete(self, prepared: PreparedChat) -> ChatCompletionResponse:
        """The whole reply, collected from `stream` so both always agree."""
        collected = _Collector()
        async for chunk in self.stream(prepared, usage=True):
            collected.add(chunk)
        return collected.response(len(prepared.prompt_ids))

    def _logprobs(self, items: list[TokenLogprob]) -> ChoiceLogprobs:
        def entry(token_id: int, logprob: float) -> TopLogprob:
            raw = self._bytes_of(token_id)
            return TopLogprob(token=raw.decode("utf-8", errors="replace"), logprob=logprob, bytes=list(raw))

        return ChoiceLogprobs(content=[
            TokenLogprobOut(**entry(item.token_id, item.logprob).model_dump(),
                            top_logprobs=[entry(t, lp) for t, lp in item.top]) for item in items])

    def _bytes_of(self, token_id: int) -> bytes:
        """The bytes one token stands for (a byte-level BPE token may be part of a character)."""
        if token_id not in self._token_bytes:
            self._token_bytes[token_id] = _token_bytes(self.tokenizer, token_id)
        return self._token_bytes[token_id]


def _usage(prompt: int, completion: int) -> Usage:
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def _new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


@lru_cache(maxsize=1)
def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-to-printable-character table, inverted (byte-level BPE vocabularies use it)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


def _token_bytes(tokenizer: Tokenizer, token_id: int) -> bytes:
    piece = tokenizer.id_to_token(token_id) or ""
    table = _byte_decoder()
    if piece and all(ch in table for ch in piece):
        return bytes(table[ch] for ch in piece)
    return tokenizer.decode([token_id], skip_special_tokens=False).encode("utf-8")


class _OutputSplitter:
    """Turns generated text into deltas for the request's mode."""

    def __init__(self, prepared: PreparedChat) -> None:
        self.mode = prepared.mode
        self.forced_tool = prepared.forced_tool
        self.tool_calls = 0
        self._ids: dict[int, str] = {}
        self._buffer = ""
        self._parser = StreamParser(prepared.tools, starts_in_reasoning=prepared.starts_in_reasoning,
                                    detect_tool_calls=bool(prepared.tools)) if self.mode == "free" else None

    def feed(self, text: str) -> list[Delta]:
        if self.mode == "json":
            return [Delta(content=text)] if text else []
        if self.mode == "tool":
            if not text and self.tool_calls:
                return []
            first = not self.tool_calls
            self.tool_calls = 1
            return [Delta(tool_calls=[ToolCallDelta(
                index=0, id=_new_call_id() if first else None, type="function" if first else None,
                function=FunctionOut(name=self.forced_tool if first else None, arguments=text))])]
        if self.mode == "tool_required":
            self._buffer += text
            return []
        assert self._parser is not None
        return self._parsed(self._parser.feed(text))

    def finish(self) -> list[Delta]:
        if self.mode == "tool":
            return self.feed("") if not self.tool_calls else []
        if self.mode == "tool_required":
            try:
                call = json.loads(self._buffer)
                name, arguments = call["name"], json.dumps(call["arguments"], ensure_ascii=False)
            except (ValueError, KeyError, TypeError):  # cut off by max_tokens: hand back what there is
                return [Delta(content=self._buffer)] if self._buffer else []
            self.tool_calls = 1
            return [Delta(tool_calls=[ToolCallDelta(index=0, id=_new_call_id(), type="function",
                                                    function=FunctionOut(name=name, arguments=arguments))])]
        if self._parser is None:
            return []
        return self._parsed(self._parser.finish())

    def _parsed(self, parsed: Any) -> list[Delta]:
        out: list[Delta] = []
        if parsed.reasoning_content:
            out.append(Delta(reasoning_content=parsed.reasoning_content))
        if parsed.content:
            out.append(Delta(content=parsed.content))
        if parsed.tool_calls:
            self.tool_calls += len(parsed.tool_calls)
            out.append(Delta(tool_calls=[
                ToolCallDelta(index=call.index, id=_new_call_id(), type="function",
                              function=FunctionOut(name=call.name, arguments=call.arguments))
                for call in parsed.tool_calls]))
        return out


class _Collector:
    """Adds chunks up into one response, the way an OpenAI client accumulates a stream."""

    def __init__(self) -> None:
        self.first: ChatCompletionChunk | None = None
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.calls: dict[int, ToolCallOut] = {}
        self.logprobs: list[TokenLogprobOut] = []
        self.finish: str | None = None
        self.usage: Usage | None = None
        self.any_logprobs = False

    def add(self, chunk: ChatCompletionChunk) -> None:
        self.first = self.first or chunk
        self.usage = chunk.usage or self.usage
        for choice in chunk.choices:
            delta = choice.delta
            self.content.append(delta.content or "")
            self.reasoning.append(delta.reasoning_content or "")
            for call in delta.tool_calls or []:
                known = self.calls.setdefault(call.index, ToolCallOut(id=call.id or _new_call_id(),
                                                                      function=FunctionOut(name="", arguments="")))
                if call.function is not None:
                    known.function.name = (known.function.name or "") + (call.function.name or "")
                    known.function.arguments = (known.function.arguments or "") + (call.function.arguments or "")
            if choice.logprobs is not None:
                self.any_logprobs = True
                self.logprobs.extend(choice.logprobs.content)
            self.finish = choice.finish_reason or self.finish

    def response(self, prompt_tokens: int) -> ChatCompletionResponse:
        assert self.first is not None
        content = "".join(self.content)
        reasoning = "".join(self.reasoning)
        calls = [self.calls[i] for i in sorted(self.calls)]
        message = AssistantMessage(content=content if content or not calls else None,
                                   reasoning_content=reasoning or None, tool_calls=calls or None)
        return ChatCompletionResponse(
            id=self.first.id, created=self.first.created, model=self.first.model,
            choices=[Choice(message=message, finish_reason=self.finish,
                            logprobs=ChoiceLogprobs(content=self.logprobs) if self.any_logprobs else None)],
            usage=self.usage or _usage(prompt_tokens, 0))


# ---- loading -------------------------------------------------------------------------------------

class _KeepMarkers:
    """Decodes as the engine asks, but keeps the reasoning and tool-call tags even where the
    tokenizer marks them special: the parsers read them from the text."""

    MARKERS = ("<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>")

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        added = tokenizer.backend.get_added_tokens_decoder()
        self.hidden = frozenset(i for i, t in added.items() if t.special and t.content not in self.MARKERS)

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        if skip_special_tokens:
            ids = [i for i in ids if i not in self.hidden]
        return self.tokenizer.decode(ids, skip_special_tokens=False)


def load_chat_service(folder: str | Path, *, engine_settings: EngineSettings | None = None,
                      model_name: str | None = None, enable_thinking: bool = True, json_whitespace: int = 0,
                      dtype: str = "float32", progress: Progress | None = None) -> ChatService:
    """Load a model folder (config.json, safetensors, tokenizer files) and start its engine."""
    import torch

    from host_model.checkpoint import load_model
    from host_model.engine import AsyncEngine, Engine, EngineSettings
    from host_model.tokenizer import Tokenizer

    folder = Path(folder)
    if not folder.is_dir():
        raise ChatFormatError(f"{folder}: no such model folder (it needs config.json, safetensors weights and "
                              f"tokenizer.json + tokenizer_config.json)")
    dtypes = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if dtype not in dtypes:
        raise ChatFormatError(f"dtype must be one of {', '.join(dtypes)}, got {dtype!r}")
    tokenizer = Tokenizer.from_dir(folder)
    model = load_model(folder, dtype=dtypes[dtype], progress=progress)
    if tokenizer.vocab_size > model.config.vocab_size:
        raise ChatFormatError(f"{folder}: the tokenizer has {tokenizer.vocab_size} tokens but config.json's "
                              f"vocab_size is {model.config.vocab_size}")
    engine = Engine(model, _KeepMarkers(tokenizer), engine_settings or EngineSettings(),
                    eos_token_ids=tokenizer.eos_token_ids or model.config.eos_token_ids)
    settings = ServiceSettings(model_name=model_name or folder.resolve().name, enable_thinking=enable_thinking,
                               json_whitespace=json_whitespace)
    return ChatService(AsyncEngine(engine), tokenizer, settings)
