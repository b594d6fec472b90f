"""The JSON Schema of a host's answer to a planning request: what constrained decoding enforces.

One branch per capability of the registry, with that capability's input field names, typed fields
held to their JSON type or one `${...}` reference, and references to task inputs bound to the
task's real input names; or a refusal or a question instead of a plan. Every host gets the same
schema (as `response_format`, a forced tool's parameters, or in the prompt).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

from agentos.registry import Registry
from agentos.taskspec import NodeSpec

DECISIONS = ("refuse", "clarify")  # answers other than a plan: nothing can do it / what is it about?


def plan_schema(registry: Registry, *, decisions: bool = True,
                inputs: Collection[str] | None = None, max_text: int | None = None) -> dict[str, Any]:
    """JSON Schema of a host's answer: a plan whose nodes each match one capability of the registry.

    Every node is one `anyOf` branch per capability, with that capability's input field names (each
    value of its JSON type or a `${...}` reference) and its experts, so constrained decoding can only
    write capabilities and fields that exist. With `inputs` (the task's input names), every
    `${inputs.NAME}` a value may hold names one of them. With `decisions`, the host may instead answer
    `{"refuse": why}` or `{"clarify": question}` (see `PlanDeclinedError`). With `max_text`, no
    text value of a node's inputs may be longer.
    """
    refs = _ReferencePatterns(inputs, max_text)
    base = strip_titles(NodeSpec.model_json_schema())["properties"]
    caps = registry.capabilities()
    variants = []
    for cap in sorted(caps):
        fields: dict[str, Any] = {}
        required: set[str] | None = None
        for name in caps[cap]:
            schema = registry.operation(name, cap).input_model.model_json_schema()
            for field_name, prop in schema.get("properties", {}).items():
                fields.setdefault(field_name, refs.value_schema(prop))
            req = set(schema.get("required", []))
            required = req if required is None else required & req
        inputs: dict[str, Any] = {"type": "object", "properties": fields, "additionalProperties": False}
        if required:
            inputs["required"] = sorted(required)
        variants.append({
            "type": "object",
            "properties": {"id": base["id"], "capability": {"const": cap}, "inputs": inputs,
                           "expert": {"anyOf": [{"type": "string", "enum": caps[cap]}, {"type": "null"}]},
                           "after": base["after"], "description": base["description"]},
            "required": ["id", "capability", "inputs"], "additionalProperties": False})
    node: dict[str, Any] = {"anyOf": variants} if variants else {"type": "object"}
    plan = {"type": "object", "properties": {"nodes": {"type": "array", "minItems": 1, "items": node}},
            "required": ["nodes"], "additionalProperties": False}
    if not decisions:
        return plan
    declines = [{"type": "object", "properties": {key: {"type": "string", "minLength": 1, "maxLength": 400}},
                 "required": [key],
                 "additionalProperties": False} for key in DECISIONS]
    return {"anyOf": [plan, *declines]}


_FIELD = r"(?:\.[A-Za-z0-9_-]+)"
_SIMPLE_KEYS = ("type", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
                "maxLength", "minItems", "maxItems", "items")


def _not_word(word: str) -> str:
    """A regex for node ids (`[A-Za-z_][A-Za-z0-9_-]*`) other than the lowercase `word`, with no lookahead
    (llguidance's regexes have none): differ at some letter, stop early, or go on after it."""
    rest = "[A-Za-z0-9_-]"
    alts = [f"[{_letters_without(word[0])}_]{rest}*"]
    for k in range(1, len(word)):
        alts.append(f"{word[:k]}(?:[{_letters_without(word[k])}0-9_-]{rest}*)?")
    alts.append(f"{word}{rest}+")
    return "(?:" + "|".join(alts) + ")"


def _letters_without(ch: str) -> str:
    """A character-class body: every ASCII letter except the lowercase `ch`."""
    low = "".join(f"{a}-{b}" if a != b else a for a, b in ((("a", chr(ord(ch) - 1))), (chr(ord(ch) + 1), "z"))
                  if a <= b)
    return "A-Z" + low


class _ReferencePatterns:
    """Regexes for `${...}` references a plan may write: task inputs by their real names, node outputs."""

    def __init__(self, inputs: Collection[str] | None, max_text: int | None = None) -> None:
        self.max_text = {"maxLength": max_text} if max_text is not None else {}
        node = _not_word("inputs") if inputs is not None else "[A-Za-z_][A-Za-z0-9_-]*"
        options = [f"{node}{_FIELD}+"]
        if inputs:
            names = "|".join(re.escape(n) for n in sorted(inputs, key=len, reverse=True))
            options.append(f"inputs\\.(?:{names}){_FIELD}*")
        self.reference = r"\$\{(?:" + "|".join(options) + r")\}"
        self.constrained = inputs is not None
        self.text = rf"^(?:[^$]|\$[^{{]|{self.reference})*\$?$"  # text whose every `${` starts a reference

    def value_schema(self, prop: dict[str, Any]) -> dict[str, Any]:
        """What an input field may hold: a value of its simple JSON type, or one reference.

        Text may hold references anywhere (each one checked when inputs are known); fields of richer
        types (models, unions) stay free here and are checked by the validator afterwards.
        """
        kind = prop.get("type")
        items = prop.get("items", {})
        if not isinstance(kind, str) or "$ref" in json.dumps(items) or "anyOf" in items:
            if not self.constrained:
                return {}
            return {"anyOf": [{"type": "string", "pattern": self.text, **self.max_text},
                              {"type": ["number", "boolean", "null", "array", "object"]}]}
        simple = {k: v for k, v in prop.items() if k in _SIMPLE_KEYS}
        if kind == "string":
            if self.constrained:
                simple["pattern"] = self.text
            return {**simple, **self.max_text} if "maxLength" not in simple else simple
        return {"anyOf": [simple, {"type": "string", "pattern": f"^{self.reference}$"}]}


def strip_titles(schema: Any) -> Any:
    """Drop pydantic's generated `title`s (noise to a model) but keep fields that are named `title`."""
    if isinstance(schema, dict):
        return {k: ({name: strip_titles(sub) for name, sub in v.items()}
                    if k in ("properties", "$defs") and isinstance(v, dict) else strip_titles(v))
                for k, v in schema.items() if k != "title" or not isinstance(v, str)}
    if isinstance(schema, list):
        return [strip_titles(v) for v in schema]
    return schema
