"""Render a Hugging Face chat template (Jinja) into the prompt text a model was trained on.

The environment copies what `transformers.apply_chat_template` sets up (sandbox, `trim_blocks`,
`lstrip_blocks`, loop controls, a `tojson` that keeps non-ASCII text, `raise_exception`,
`strftime_now`) and prepares messages the same way (keys set to None dropped, `reasoning`/`thinking`
aliased to `reasoning_content`), so a prompt rendered here is byte-identical to one rendered by
transformers for the same folder. One addition: OpenAI sends tool-call `arguments` as JSON text,
templates iterate them as mappings, so JSON text is parsed first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel

from host_model.errors import ChatFormatError

DEFAULT_TEMPLATE_NAME = "step3p5_chat_template.jinja"
_REASONING_ALIASES = ("reasoning_content", "thinking", "reasoning")  # the order transformers reads them in


def default_chat_template() -> str:
    """Our Step 3.5 Flash template, used when a tokenizer folder ships none."""
    return resources.files("host_model").joinpath(DEFAULT_TEMPLATE_NAME).read_text(encoding="utf-8")


def _raise_exception(message: str) -> None:
    raise jinja2.exceptions.TemplateError(message)


def _tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None,
            separators: tuple[str, str] | None = None, sort_keys: bool = False) -> str:
    # Jinja's own filter HTML-escapes `<` and `&`, which would change the prompt
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


@lru_cache(maxsize=16)
def _compile(source: str) -> jinja2.Template:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env.from_string(source)


class ChatTemplate:
    """A compiled chat template plus the special-token strings it may read (`bos_token`, `eos_token`, ...)."""

    def __init__(self, source: str, *, special_tokens: Mapping[str, str] | None = None,
                 origin: str = "<chat template>"):
        self.source = source
        self.origin = origin
        self.special_tokens = dict(special_tokens or {})
        try:
            self._template = _compile(source)
        except jinja2.exceptions.TemplateSyntaxError as exc:
            raise ChatFormatError(f"{origin}: chat template syntax error at line {exc.lineno}: {exc.message}") from exc

    def render(self, messages: Sequence[Mapping[str, Any] | BaseModel], *,
               tools: Sequence[Mapping[str, Any]] | None = None, add_generation_prompt: bool = True,
               **kwargs: Any) -> str:
        """The prompt text; extra keyword arguments (e.g. `enable_thinking`) reach the template as variables."""
        chat = prepare_messages(messages)
        tool_list = prepare_tools(tools)
        variables = {**self.special_tokens, **kwargs}
        try:
            return self._template.render(messages=chat, tools=tool_list, documents=None,
                                         add_generation_prompt=add_generation_prompt, **variables)
        except jinja2.exceptions.TemplateError as exc:
            raise ChatFormatError(f"{self.origin}: chat template failed: {exc}") from exc
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            raise ChatFormatError(f"{self.origin}: chat template failed on these messages: {exc!r}") from exc


def prepare_messages(messages: Sequence[Mapping[str, Any] | BaseModel]) -> list[dict[str, Any]]:
    """Plain dicts as transformers hands them to templates, with tool-call arguments parsed from JSON text."""
    if isinstance(messages, str | bytes) or not isinstance(messages, Sequence):
        raise ChatFormatError(f"messages must be a list of dicts, got {type(messages).__name__}")
    if not messages:
        raise ChatFormatError("messages is empty: a chat needs at least one message")
    prepared = []
    for index, raw in enumerate(messages):
        message = raw.model_dump(exclude_none=True) if isinstance(raw, BaseModel) else raw
        if not isinstance(message, Mapping):
            raise ChatFormatError(f"messages[{index}] must be a dict, got {type(raw).__name__}")
        if not isinstance(message.get("role"), str):
            raise ChatFormatError(f"messages[{index}] has no 'role' string")
        plain = {key: value for key, value in message.items() if value is not None}
        reasoning = next((plain[key] for key in _REASONING_ALIASES if key in plain), None)
        if reasoning is not None:
            plain = {"thinking": reasoning, **plain, "reasoning_content": reasoning}
        if "tool_calls" in plain:
            plain["tool_calls"] = [_prepare_tool_call(call, f"messages[{index}].tool_calls[{n}]")
                                   for n, call in enumerate(plain["tool_calls"])]
        prepared.append(plain)
    return prepared


def _prepare_tool_call(call: Any, where: str) -> dict[str, Any]:
    if not isinstance(call, Mapping):
        raise ChatFormatError(f"{where} must be a dict, got {type(call).__name__}")
    call = dict(call)
    function = call.get("function", call)
    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
        raise ChatFormatError(f"{where} has no function name")
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as exc:
            raise ChatFormatError(f"{where}.arguments is not valid JSON: {exc}") from exc
    if arguments is not None and not isinstance(arguments, Mapping):
        raise ChatFormatError(f"{where}.arguments must be a JSON object, got {type(arguments).__name__}")
    function = {**function, "arguments": dict(arguments or {})}
    return {**call, "function": function} if "function" in call else function


def prepare_tools(tools: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Tools in OpenAI's function format, checked for a name so a template never renders a nameless tool."""
    if tools is None:
        return None
    if isinstance(tools, str | bytes) or not isinstance(tools, Sequence):
        raise ChatFormatError(f"tools must be a list of dicts, got {type(tools).__name__}")
    prepared = []
    for index, tool in enumerate(tools):
        if not isinstance(tool, Mapping):
            raise ChatFormatError(f"tools[{index}] must be a dict, got {type(tool).__name__}")
        function = tool.get("function", tool)
        if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
            raise ChatFormatError(f"tools[{index}] has no function name (expected {{'type': 'function', "
                                  f"'function': {{'name': ..., 'parameters': ...}}}})")
        prepared.append(dict(tool))
    return prepared
