"""A registry built from a compact catalogue, for planning without the experts installed.

`agentos plan --catalogue FILE` and the planning benchmark plan against catalogues that are only
descriptions (each held-out example has its own). The planner and the validator both need a
`Registry`, so each entry becomes an expert whose input and output models have the entry's fields
(any JSON value) and which refuses to run: it exists to be planned for, not executed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from agentos.errors import ExpertError, UserError
from agentos.planning.format import CatalogueEntry
from agentos.registry import Registry
from agentos.sdk import ExpertCard, ExpertContext, FunctionExpert, OperationCard


class _Open(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _model(name: str, fields: list[str], *, optional_marks: bool) -> type[BaseModel]:
    spec: dict[str, Any] = {}
    for raw in fields:
        field = raw.rstrip("?")
        spec[field] = (Any, None) if (optional_marks and raw.endswith("?")) else (Any, ...)
    return create_model(name, __base__=_Open, **spec)


def registry_from_entries(entries: list[CatalogueEntry]) -> Registry:
    """One planning-only expert per catalogue entry, named `<capability>@catalogue`."""
    registry = Registry()
    for entry in entries:
        stem = "".join(p.title() for p in entry.capability.replace("-", ".").split("."))
        inp = _model(f"{stem}Input", entry.inputs, optional_marks=True)
        out = _model(f"{stem}Output", entry.outputs, optional_marks=False)

        async def refuse(inputs: BaseModel, ctx: ExpertContext, cap: str = entry.capability) -> BaseModel:
            raise ExpertError(f"{cap} comes from a planning catalogue; no installed expert runs it")

        op = OperationCard(name=entry.capability.rsplit(".", 1)[-1], capability=entry.capability,
                           description=entry.description, input_model=inp, output_model=out)
        card = ExpertCard(name=f"{entry.capability}@catalogue", domain=entry.capability.split(".")[0],
                          description=entry.description, operations=[op])
        registry.register(FunctionExpert(refuse, card))
    return registry


def load_catalogue(path: Path) -> list[CatalogueEntry]:
    """A catalogue file: a JSON/YAML list of entries, or compact lines `cap(in, opt?) -> out | description`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot read the catalogue ({exc.strerror})") from None
    if path.suffix in (".json", ".yaml", ".yml"):
        import yaml

        try:
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            raise UserError(f"{path}: not valid {path.suffix[1:].upper()}: {exc}") from None
        if not isinstance(data, list):
            raise UserError(f"{path}: a catalogue is a list of entries (capability, inputs, outputs, description)")
        entries = []
        for i, item in enumerate(data):
            try:
                entries.append(CatalogueEntry.model_validate(item))
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise UserError(f"{path}: entry {i}{'.' + where if where else ''}: {first['msg']}") from None
        return entries
    return [parse_line(line, path, n) for n, line in enumerate(text.splitlines(), 1)
            if line.strip() and not line.lstrip().startswith("#")]


def parse_line(line: str, path: Path | str = "<catalogue>", lineno: int = 0) -> CatalogueEntry:
    """`text.summarize(text, max_sentences?) -> summary, sentences | summarise prose` as an entry."""
    body, _, description = line.partition("|")
    head, arrow, outputs = body.partition("->")
    name, paren, rest = head.partition("(")
    if not arrow or not paren or not rest.strip().endswith(")") or not name.strip():
        raise UserError(f"{path}:{lineno}: expected `capability(inputs) -> outputs | description`, "
                        f"got {line.strip()!r}")
    inputs = [f.strip() for f in rest.strip()[:-1].split(",") if f.strip()]
    return CatalogueEntry(capability=name.strip(), inputs=inputs,
                          outputs=[f.strip() for f in outputs.split(",") if f.strip()],
                          description=description.strip())
