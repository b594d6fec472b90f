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
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from host_model.errors import ChatFormatError, ConstraintError, HostModelError
from host_model.openai_api import (
    AssistantMessage,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatCompletionResponse,
    Choice,
    ChoiceLogprobs,
    ChunkChoice,
    Delta,
    FunctionOut,
    GenerationError,
    NamedToolChoice,
    RequestError,
    TokenLogprobOut,
    ToolCallDelta,
    ToolCallOut,
    TopLogprob,
    Usage,
)
from host_model.parsers import StreamParser, prompt_ends_in_reasoning

if TYPE_CHECKING:  # torch-using modules: imported for real only where a model runs
    from host_model.checkpoint import Progress
    from host_model.engine import AsyncEngine, EngineSettings, TokenConstraint, Update
    from host_model.sampling import SamplingParams, TokenLogprob
    from host_model.text_guard import TextGuard
    from host_model.tokenizer import IncrementalDecoder, Tokenizer

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

    @property
    def model_name(self) -> str:
        return self.settings.model_name

    @property
    def max_context(self) -> int:
        return self.engine.engine.max_context

    def close(self) -> None:
        self.engine.close()

    # ---- preparing ------------------------------------------------------------------------------

    async def prepare(self, request: ChatCompletionRequest, *, text_guard: TextGuard | None = None) -> PreparedChat:
        """Check the request against this model and build the engine input (off the event loop:
        rendering, tokenising and compiling a schema can take a while on a large vocabulary).

        `text_guard` (in-process callers only: it is Python, not JSON) adds a rule on the reply's text
        to the grammar of a constrained request (`host_model.text_guard`)."""
        if request.model != self.model_name:
            raise RequestError(f"model {request.model!r} does not exist here; this server serves "
                               f"{self.model_name!r} (see GET /v1/models)", param="model", status=404,
                               code="model_not_found")
        return await asyncio.to_thread(self._prepare, request, text_guard)

    def _prepare(self, request: ChatCompletionRequest, text_guard: TextGuard | None = None) -> PreparedChat:
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
                            constraint=self._constraint(request, mode, forced, text_guard), mode=mode,
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

    def _constraint(self, request: ChatCompletionRequest, mode: Mode, forced: str | None,
                    text_guard: TextGuard | None = None) -> TokenConstraint | None:
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
            constraint = json_schema_constraint(schema, self.tokenizer.backend,
                                                eos_token_ids=self.tokenizer.eos_token_ids,
                                                vocab_size=self.engine.engine.config.vocab_size,
                                                max_whitespace_run=self.settings.json_whitespace)
        except ConstraintError as exc:
            raise RequestError(f"{param}: {exc}", param=param) from None
        if text_guard is not None:
            from host_model.constrained import token_byte_strings
            from host_model.text_guard import GuardedConstraint

            tokens = token_byte_strings(self.tokenizer.backend, eos_token_ids=self.tokenizer.eos_token_ids)
            return GuardedConstraint(constraint, text_guard, tokens)
        return constraint

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
            raw = self.tokenizer.token_bytes(token_id)
            return TopLogprob(token=raw.decode("utf-8", errors="replace"), logprob=logprob, bytes=list(raw))

        return ChoiceLogprobs(content=[
            TokenLogprobOut(**entry(item.token_id, item.logprob).model_dump(),
                            top_logprobs=[entry(t, lp) for t, lp in item.top]) for item in items])



def _usage(prompt: int, completion: int) -> Usage:
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def _new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


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

    def incremental_decoder(self, *, skip_special_tokens: bool = True) -> _MarkerKeepingDecoder:
        return _MarkerKeepingDecoder(self.tokenizer.incremental_decoder(skip_special_tokens=False),
                                     self.hidden if skip_special_tokens else frozenset())


@dataclass
class _MarkerKeepingDecoder:
    inner: IncrementalDecoder
    hidden: frozenset[int]

    def step(self, token_id: int) -> str:
        return "" if token_id in self.hidden else self.inner.step(token_id)


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
