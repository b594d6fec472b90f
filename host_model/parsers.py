"""Split Step 3.5 output text into reasoning, content and tool calls, whole or while it streams.

The rules follow vLLM's `step3p5` reasoning and tool parsers, because those define what the model's
text means: text before `</think>` is reasoning even when `<think>` was never generated (the prompt
opened it), one newline on each side of `</think>` is layout, not text, and tool calls are
Qwen3-Coder-style XML whose raw values become JSON by the tool's parameter schema, with vLLM's repairs
for tags the model wrote slightly wrong. Each rule lives once, in an incremental splitter; the
whole-text functions feed it everything at once, so streaming and non-streaming never disagree.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field

from host_model.chat_template import prepare_tools
from host_model.errors import ChatFormatError

THINK_START = "<think>"
THINK_END = "</think>"
TOOL_CALL_START = "<tool_call>"
TOOL_CALL_END = "</tool_call>"
FUNCTION_START = "<function="
FUNCTION_END = "</function>"
PARAMETER_START = "<parameter="
PARAMETER_END = "</parameter>"

_STRING_TYPES = frozenset({"string", "str", "text", "varchar", "char", "enum"})
_BOOL_TYPES = frozenset({"boolean", "bool", "binary"})
_INT_PREFIXES = ("int", "uint", "long", "short", "unsigned")
_FLOAT_PREFIXES = ("num", "float")
_CONTAINER_TYPES = frozenset({"object", "array", "arr", "sequence"})
_CONTAINER_PREFIXES = ("dict", "list")
_BARE_FUNCTION = re.compile(r"<function\s*([A-Za-z_][\w-]*)\s*>")  # `<function NAME>` / `<functionNAME>`
_MAX_LITERAL_CHARS = 100_000  # ast.literal_eval on huge or deep input can exhaust the stack


class ParsedToolCall(BaseModel):
    """One call the model wrote; `arguments` is a JSON object as text, the shape OpenAI clients expect."""

    index: int
    name: str
    arguments: str

    def arguments_dict(self) -> dict[str, Any]:
        return json.loads(self.arguments)


class StreamDelta(BaseModel):
    """What one piece of streamed text adds: reasoning text, answer text and finished tool calls."""

    reasoning_content: str = ""
    content: str = ""
    tool_calls: list[ParsedToolCall] = Field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.reasoning_content or self.content or self.tool_calls)


def split_reasoning(text: str, *, starts_in_reasoning: bool = True) -> tuple[str | None, str]:
    """(reasoning or None, content) of a whole completion.

    `starts_in_reasoning` says the prompt ended inside `<think>` (our template's generation prompt
    does, see `prompt_ends_in_reasoning`); then a completion with no `</think>` is all reasoning.
    """
    splitter = _ReasoningSplitter(starts_in_reasoning)
    pieces = splitter.feed(text) + splitter.finish()
    reasoning = "".join(piece for is_reasoning, piece in pieces if is_reasoning)
    content = "".join(piece for is_reasoning, piece in pieces if not is_reasoning)
    return reasoning or None, content


def parse_tool_calls(text: str, tools: Sequence[Mapping[str, Any]] | None = None) -> tuple[str, list[ParsedToolCall]]:
    """(content without the calls, calls) of a completion's content part (reasoning already split off).

    `tools` (OpenAI function format) give each parameter's type; without them every value is a string.
    Whitespace between text and a call is dropped; text without calls comes back unchanged.
    """
    splitter = _ToolCallSplitter(tools)
    events = splitter.feed(text) + splitter.finish()
    content = "".join(event for event in events if isinstance(event, str))
    return content, [event for event in events if isinstance(event, ParsedToolCall)]


def prompt_ends_in_reasoning(prompt: str) -> bool:
    """Whether a rendered prompt leaves `<think>` open, so the completion starts as reasoning."""
    return prompt.rfind(THINK_START) > prompt.rfind(THINK_END)


def render_tool_call(name: str, arguments: Mapping[str, Any] | str) -> str:
    """The XML text of one call, exactly as our chat template writes it into assistant history.

    Used for assistant turns and to force a call under constrained decoding. `arguments` may be a
    mapping or OpenAI's JSON text of one.
    """
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as exc:
            raise ChatFormatError(f"arguments of tool call {name!r} are not valid JSON: {exc}") from exc
    if not isinstance(arguments, Mapping):
        raise ChatFormatError(f"arguments of tool call {name!r} must be a JSON object, got {type(arguments).__name__}")
    parameters = "".join(f"{PARAMETER_START}{key}>\n{_value_text(value)}\n{PARAMETER_END}\n"
                         for key, value in arguments.items())
    return f"{TOOL_CALL_START}\n{FUNCTION_START}{name}>\n{parameters}{FUNCTION_END}\n{TOOL_CALL_END}"


def _value_text(value: Any) -> str:
    # must match `arg_value` in step3p5_chat_template.jinja
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class StreamParser:
    """Streaming split for the server: feed text deltas, get reasoning, content and finished tool calls.

    Text that could still turn into a tag (`<thi`, `</think`, `<tool_c`), a newline that `</think>`
    may swallow, and whitespace a tool call may swallow are held back until the next delta settles
    them, so no client ever sees half a tag. Tool calls come out whole, when `</tool_call>` arrives.
    """

    def __init__(self, tools: Sequence[Mapping[str, Any]] | None = None, *, starts_in_reasoning: bool = True,
                 detect_tool_calls: bool = True):
        self._reasoning = _ReasoningSplitter(starts_in_reasoning)
        self._tools = _ToolCallSplitter(tools) if detect_tool_calls else None
        self.reasoning_content = ""
        self.content = ""
        self.tool_calls: list[ParsedToolCall] = []

    def feed(self, text: str) -> StreamDelta:
        return self._route(self._reasoning.feed(text), final=False)

    def finish(self) -> StreamDelta:
        """Flush what was held back; call once, after the last delta."""
        return self._route(self._reasoning.finish(), final=True)

    def _route(self, pieces: list[tuple[bool, str]], *, final: bool) -> StreamDelta:
        delta = StreamDelta()
        events: list[str | ParsedToolCall] = []
        for is_reasoning, piece in pieces:
            if is_reasoning:
                delta.reasoning_content += piece
            elif self._tools is None:
                events.append(piece)
            else:
                events.extend(self._tools.feed(piece))
        if final and self._tools is not None:
            events.extend(self._tools.finish())
        for event in events:
            if isinstance(event, ParsedToolCall):
                delta.tool_calls.append(event)
            else:
                delta.content += event
        self.reasoning_content += delta.reasoning_content
        self.content += delta.content
        self.tool_calls.extend(delta.tool_calls)
        return delta


def _find_first(text: str, tags: Sequence[str]) -> tuple[int, str | None]:
    best, found = -1, None
    for tag in tags:
        position = text.find(tag)
        if position != -1 and (best == -1 or position < best):
            best, found = position, tag
    return best, found


def _partial_tag_length(text: str, tags: Sequence[str]) -> int:
    """Length of the longest end of `text` that is the start of a tag, to hold back until settled."""
    longest = 0
    for tag in tags:
        for size in range(min(len(tag) - 1, len(text)), longest, -1):
            if tag.startswith(text[-size:]):
                longest = size
                break
    return longest


class _ReasoningSplitter:
    """`<think>`/`</think>` state machine; yields (is_reasoning, text) pieces."""

    def __init__(self, starts_in_reasoning: bool):
        self.in_reasoning = starts_in_reasoning
        self._buffer = ""
        self._held_newline = False  # a reasoning "\n" that a following </think> would swallow
        self._drop_newline = False  # the "\n" right after a think tag is layout

    def feed(self, text: str) -> list[tuple[bool, str]]:
        self._buffer += text
        out: list[tuple[bool, str]] = []
        while True:
            if self._drop_newline and self._buffer:
                self._buffer = self._buffer.removeprefix("\n")
                self._drop_newline = False
            tags = (THINK_START, THINK_END) if self.in_reasoning else (THINK_START,)
            position, tag = _find_first(self._buffer, tags)
            if tag is None:
                keep = _partial_tag_length(self._buffer, tags)
                ready, self._buffer = self._buffer[:len(self._buffer) - keep], self._buffer[len(self._buffer) - keep:]
                self._emit(out, ready, closing=False)
                return out
            before, self._buffer = self._buffer[:position], self._buffer[position + len(tag):]
            self._emit(out, before, closing=tag == THINK_END)
            # </think> ends reasoning; <think> starts it (and is dropped when reasoning is already open)
            self.in_reasoning = tag == THINK_START
            self._drop_newline = True

    def finish(self) -> list[tuple[bool, str]]:
        rest, self._buffer = self._buffer, ""
        if self._drop_newline:
            rest = rest.removeprefix("\n")
        out: list[tuple[bool, str]] = []
        self._emit(out, rest, closing=True)
        return out

    def _emit(self, out: list[tuple[bool, str]], text: str, *, closing: bool) -> None:
        if not self.in_reasoning:
            if text:
                out.append((False, text))
            return
        if self._held_newline:
            text, self._held_newline = "\n" + text, False
        if closing:
            text = text.removesuffix("\n")
        elif text.endswith("\n"):
            text, self._held_newline = text[:-1], True
        if text:
            out.append((True, text))


class _ToolCallSplitter:
    """Finds tool-call blocks in content text; yields content strings and ParsedToolCall events."""

    def __init__(self, tools: Sequence[Mapping[str, Any]] | None):
        self._schemas = _parameter_schemas(tools)
        self._buffer = ""
        self._block: str | None = None  # text of the open call, None outside calls
        self._implicit = False  # the open call began with a bare <function=, no <tool_call>
        self._held_space = ""  # trailing content whitespace, dropped if a call follows
        self._space_before_block = ""  # what was dropped before the open call, given back if it is no call
        self._after_call = False  # whitespace (and a stray </tool_call>) right after a call is dropped
        self._wrote_content = False
        self._count = 0

    def feed(self, text: str) -> list[str | ParsedToolCall]:
        self._buffer += text
        out: list[str | ParsedToolCall] = []
        while self._step(out):
            pass
        return out

    def finish(self) -> list[str | ParsedToolCall]:
        out: list[str | ParsedToolCall] = []
        rest, self._buffer = self._buffer, ""
        if self._block is not None:
            # a call cut off by the end of the text still counts; an opening tag with no function after it was text
            block, opening = self._block + rest, "" if self._implicit else TOOL_CALL_START
            if not self._close_block(out, block):
                self._write(out, self._space_before_block + opening + block)
        elif self._after_call:
            rest = rest.strip()
            self._write(out, ("\n" if rest and self._wrote_content else "") + rest)
        else:
            self._write(out, self._held_space + rest)
        self._held_space = ""
        return out

    def _step(self, out: list[str | ParsedToolCall]) -> bool:
        """Consume what can be settled; False when the rest must wait for more text."""
        if self._block is not None:
            return self._step_in_call(out)
        if self._after_call:
            self._buffer = self._buffer.lstrip()
            if self._buffer.startswith(TOOL_CALL_END):
                self._buffer = self._buffer[len(TOOL_CALL_END):]
                return True
            if not self._buffer or TOOL_CALL_END.startswith(self._buffer):
                return False
            self._after_call = False
            if self._wrote_content:
                self._held_space = "\n"
        position, tag = _find_first(self._buffer, (TOOL_CALL_START, FUNCTION_START))
        if tag is not None:
            before = self._held_space + self._buffer[:position]
            self._write(out, before.rstrip())
            self._held_space, self._space_before_block = "", before[len(before.rstrip()):]
            self._implicit = tag == FUNCTION_START
            self._block = FUNCTION_START if self._implicit else ""
            self._buffer = self._buffer[position + len(tag):]
            return True
        keep = _partial_tag_length(self._buffer, (TOOL_CALL_START, FUNCTION_START))
        ready, self._buffer = self._buffer[:len(self._buffer) - keep], self._buffer[len(self._buffer) - keep:]
        text = ready.rstrip()
        if text:
            self._write(out, self._held_space + text)
            self._held_space = ""
        self._held_space += ready[len(text):]
        return False

    def _step_in_call(self, out: list[str | ParsedToolCall]) -> bool:
        assert self._block is not None
        ends = (FUNCTION_END,) if self._implicit else (TOOL_CALL_END, TOOL_CALL_START)
        position, tag = _find_first(self._buffer, ends)
        if tag is None:
            keep = _partial_tag_length(self._buffer, ends)
            self._block += self._buffer[:len(self._buffer) - keep]
            self._buffer = self._buffer[len(self._buffer) - keep:]
            return False
        block = self._block + self._buffer[:position] + (tag if tag == FUNCTION_END else "")
        self._buffer = self._buffer[position + len(tag):]
        self._close_block(out, block)
        if tag == TOOL_CALL_START:  # a new call before the old one closed: the old one ends here
            self._block, self._after_call = "", False
        return True

    def _close_block(self, out: list[str | ParsedToolCall], block: str) -> bool:
        self._block, self._implicit, self._after_call = None, False, True
        call = _parse_call(block, self._schemas, self._count)
        if call is None:
            return False
        self._count += 1
        out.append(call)
        return True

    def _write(self, out: list[str | ParsedToolCall], text: str) -> None:
        if text:
            out.append(text)
            self._wrote_content = True


def _parameter_schemas(tools: Sequence[Mapping[str, Any]] | None) -> dict[str, Mapping[str, Any] | None]:
    schemas: dict[str, Mapping[str, Any] | None] = {}
    for tool in prepare_tools(tools) or []:
        function = tool.get("function", tool)
        parameters = function.get("parameters")
        schemas[function["name"]] = parameters if isinstance(parameters, Mapping) else None
    return schemas


def _clean_tag_name(raw: str, kind: str) -> str:
    """vLLM's repair of a name whose `>` is missing: `<parameter=-C:` -> `-C`, `parameter=x` -> `x`."""
    raw = raw.removeprefix(f"{kind}=")
    while raw and not (raw[-1].isalnum() or raw[-1] in "-_"):
        raw = raw[:-1]
    return raw


def _tag_name(text: str, kind: str) -> tuple[str, int, bool]:
    """(name, length consumed, well formed) for the text right after `<kind=`."""
    stops = [index for index in (text.find("\n"), text.find("<")) if index != -1]
    stop = min(stops) if stops else len(text)
    close = text.find(">")
    if close != -1 and close < stop:
        return text[:close].strip(), close + 1, True
    spaces = [index for index in (text.find(" "), stop) if index != -1]
    end = min(spaces)
    return _clean_tag_name(text[:end], kind), end, False


def _find_function(block: str, schemas: Mapping[str, Any]) -> tuple[str, str] | None:
    """(function name, body after the tag) of the first function tag in a call block, repairing vLLM's cases."""
    for match in re.finditer(r"<function", block):
        rest = block[match.end():]
        if rest.startswith("="):
            name, used, _ = _tag_name(rest[1:], "function")
            if name:
                return name, rest[1 + used:]
            continue
        bare = _BARE_FUNCTION.match(block, match.start())
        if bare and bare.group(1) in schemas:  # `<function NAME>` is only trusted for a known tool
            return bare.group(1), block[bare.end():]
    return None


def _parse_call(block: str, schemas: Mapping[str, Mapping[str, Any] | None], index: int) -> ParsedToolCall | None:
    found = _find_function(block, schemas)
    if found is None:
        return None
    name, body = found
    end = body.find(FUNCTION_END)
    body = body if end == -1 else body[:end]
    schema = schemas.get(name)
    arguments: dict[str, Any] = {}
    position = 0
    while (start := body.find(PARAMETER_START, position)) != -1:
        value_start = start + len(PARAMETER_START)
        key, used, well_formed = _tag_name(body[value_start:], "parameter")
        value_start += used
        position = value_start
        known = _properties(schema)
        if not key or (not well_formed and known is not None and key not in known):
            continue  # vLLM leaves a malformed tag alone unless the schema names the parameter
        # a value ends at its </parameter>, or where the next parameter begins when the model forgot to close it
        closes = [i for i in (body.find(PARAMETER_END, value_start), body.find(PARAMETER_START, value_start))
                  if i != -1]
        value_end = min(closes) if closes else len(body)
        raw = body[value_start:value_end].removeprefix("\n").removesuffix("\n")
        position = value_end + (len(PARAMETER_END) if body.startswith(PARAMETER_END, value_end) else 0)
        arguments[key] = _convert(raw, _parameter_type(schema, key))
    return ParsedToolCall(index=index, name=name, arguments=json.dumps(arguments, ensure_ascii=False))


def _properties(schema: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if schema is None:
        return None
    properties = schema.get("properties")
    return properties if isinstance(properties, Mapping) else schema


def _parameter_type(schema: Mapping[str, Any] | None, key: str) -> str:
    spec = (_properties(schema) or {}).get(key)
    if not isinstance(spec, Mapping):
        return "string"
    kind = spec.get("type")
    if kind is None:  # anyOf / oneOf: the first option that is not null
        options = [option.get("type") for option in spec.get("anyOf", spec.get("oneOf", []))
                   if isinstance(option, Mapping)]
        kind = next((option for option in options if option not in (None, "null")), "string")
    if isinstance(kind, list):
        kind = next((option for option in kind if option != "null"), "string")
    kind = str(kind).strip().lower()
    known = (kind in _STRING_TYPES or kind in _BOOL_TYPES or kind in _CONTAINER_TYPES
             or kind.startswith(_INT_PREFIXES + _FLOAT_PREFIXES + _CONTAINER_PREFIXES))
    return kind if known else "string"


def _convert(raw: str, kind: str) -> Any:
    """A raw parameter value as the JSON value its schema type asks for; raw text when it does not fit."""
    value = raw if kind in _STRING_TYPES else raw.strip()
    if value.lower() == "null":
        return None
    if kind in _STRING_TYPES:
        return value
    if kind.startswith(_INT_PREFIXES):
        try:
            return int(value)
        except ValueError:
            return raw
    if kind.startswith(_FLOAT_PREFIXES):
        try:
            number = float(value)
        except ValueError:
            return raw
        if not math.isfinite(number):
            return raw
        return int(number) if number.is_integer() else number
    if kind in _BOOL_TYPES:
        return value.lower() == "true"
    return _container(value, raw)


def _container(value: str, raw: str) -> Any:
    try:
        return json.loads(value, parse_constant=_reject_constant)
    except ValueError:  # JSONDecodeError is a ValueError
        pass
    if len(value) > _MAX_LITERAL_CHARS:
        return raw
    try:  # models often write Python literals: single quotes, True/False/None
        parsed = ast.literal_eval(value)
        json.dumps(parsed, allow_nan=False)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return raw
    return parsed


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity would make the arguments invalid JSON
