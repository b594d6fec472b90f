"""The compact planning format: what a small host model is shown, and the shape of what it answers.

A 12M-parameter planner cannot read the full catalogue (every capability's JSON Schemas, thousands
of tokens), so it is trained on, and prompted with, one line per capability:

    text.summarize(text, max_sentences?) -> summary, sentences | summarise prose

then the task's inputs and the request. It answers one compact JSON object, the same plan any host
returns (`{"nodes": [...]}`), or says it cannot plan: `{"refuse": why}` when no capability in the
catalogue does what is asked, `{"clarify": question}` when the request leaves out what it is about.
The training data (`agentos.planning.data`) and the host agent both build prompts here, so what the
model saw in training is exactly what it sees in use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from agentos.registry import Registry

FORMAT_NAME = "agentos-compact-v1"
PLANNER_FILE = "agentos_planner.json"  # in a model folder: says the model was trained on this format
_DESCRIPTION_WORDS = 8


class CatalogueEntry(BaseModel):
    """One capability as the compact prompt shows it; optional input fields end with `?`."""

    capability: str
    inputs: list[str] = Field(default_factory=list)
    outputs: list[str] = Field(default_factory=list)
    description: str = ""

    def line(self) -> str:
        desc = f" | {self.description}" if self.description else ""
        return f"{self.capability}({', '.join(self.inputs)}) -> {', '.join(self.outputs)}{desc}"


class PlannerCard(BaseModel):
    """`agentos_planner.json` of a model folder: which prompt format it was trained on, and how it writes values."""

    format: str = FORMAT_NAME
    max_new_tokens: int = Field(640, ge=16)
    copy_rule: bool = Field(False, description="hold decoding to copying every text value from the request (or "
                            "one of its field's stock_values), the plan guard's copy rule; the training plans do "
                            "copy their values, but with step3p5-mini the rule measured worse (docs/planner.md)")
    stock_values: dict[str, list[str]] = Field(default_factory=dict, description="per input field, the text values "
                                               "its training plans give it that no request holds (section headings, "
                                               "a mail subject)")


def entries_from_registry(registry: Registry) -> list[CatalogueEntry]:
    """The registry as compact catalogue lines, one per capability (the first expert's schema)."""
    seen: dict[str, CatalogueEntry] = {}
    for exp in registry:
        for op in exp.card.operations:
            if op.capability in seen:
                continue
            schema = op.input_model.model_json_schema()
            required = set(schema.get("required", []))
            inputs = [name if name in required else f"{name}?" for name in schema.get("properties", {})]
            outputs = list(op.output_model.model_json_schema().get("properties", {}))
            seen[op.capability] = CatalogueEntry(capability=op.capability, inputs=inputs, outputs=outputs,
                                                 description=short_description(op.description or exp.card.description))
    return [seen[c] for c in sorted(seen)]


def short_description(text: str) -> str:
    """The first clause of a description, at most a few words: enough to tell capabilities apart."""
    first = text.strip().split("\n")[0]
    for stop in (". ", "; ", ": "):
        first = first.split(stop)[0]
    words = first.rstrip(".").split()
    return " ".join(words[:_DESCRIPTION_WORDS]).lower()


def show_value(value: Any) -> str:
    """How a task input appears in the prompt: a file by its name, other values as short JSON."""
    if isinstance(value, str) and value.startswith("/"):
        value = Path(value)
    if isinstance(value, Path):  # a resolved file input: its name, with `/` when it is a folder
        return (value.name or str(value)) + ("/" if value.is_dir() else "")
    if isinstance(value, str):
        return value if len(value) <= 60 else value[:57] + "..."
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def render_prompt(request: str, entries: list[CatalogueEntry], inputs: Mapping[str, Any] | None = None) -> str:
    """The user message of a compact planning request."""
    lines = ["catalogue:", *(e.line() for e in entries)]
    if inputs:
        lines.append("inputs: " + "; ".join(f"{name}={show_value(v)}" for name, v in inputs.items()))
    else:
        lines.append("inputs: none")
    lines.append("request: " + request_line(request))
    return "\n".join(lines)


def request_line(request: str) -> str:
    """The request as the prompt shows it (whitespace runs made one space): what a planner can copy from."""
    return " ".join(request.split())


def dump_plan(answer: Mapping[str, Any]) -> str:
    """A plan (or refusal/clarification) as the model writes it: compact JSON, keys in schema order."""
    if "nodes" in answer:
        nodes = [{k: n[k] for k in ("id", "capability", "inputs", "after") if k in n and n[k] != []}
                 for n in answer["nodes"]]
        return json.dumps({"nodes": nodes}, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(dict(answer), ensure_ascii=False, separators=(",", ":"))
