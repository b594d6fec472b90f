"""A product spec table, read from CSV, a Markdown table or YAML, as typed fields.

Rows are `field, value[, unit][, max]`. A value that reads as a number (`18`, `1,250`, `4.5`) is a
number, with its unit from the unit column or written after it (`18 h`); anything else is a
category. `max`, when given, is the scale a number is drawn against (a bar); without it the
number is shown on its own.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel

from agentos.errors import ExpertError

_NUMBER = re.compile(r"^\s*(-?\d[\d,]*(?:\.\d+)?)\s*(.*?)\s*$")


class SpecField(BaseModel):
    name: str
    kind: Literal["number", "category"]
    text: str  # the value as the table writes it
    value: float | None = None
    unit: str = ""
    max: float | None = None

    @property
    def shown(self) -> str:
        """The value as the infographic prints it: the number and its unit, or the category."""
        if self.kind == "category":
            return self.text
        v = self.value if self.value is not None else 0.0
        number = f"{v:,.0f}" if v.is_integer() else f"{v:,.2f}".rstrip("0").rstrip(".")
        return f"{number} {self.unit}".strip()


def _field(name: str, value: str, unit: str = "", top: str = "", where: str = "") -> SpecField:
    name, value = name.strip(), value.strip()
    if not name or not value:
        raise ExpertError(f"{where}: a row needs a field name and a value")
    m = _NUMBER.match(value)
    if m is None:
        return SpecField(name=name, kind="category", text=value)
    number = float(m.group(1).replace(",", ""))
    try:
        scale = float(top.replace(",", "")) if top.strip() else None
    except ValueError:
        raise ExpertError(f"{where}: max {top!r} is not a number") from None
    return SpecField(name=name, kind="number", text=value, value=number, unit=(unit.strip() or m.group(2)),
                     max=scale)


def _rows_markdown(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if not line.strip().startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if all(re.fullmatch(r":?-{3,}:?", c) for c in cells if c):
            continue
        rows.append(cells)
    return rows


def read_spec(path: Path) -> list[SpecField]:
    """The fields of a spec table; an `ExpertError` naming the file and row when a row is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ExpertError(f"spec {path}: cannot be read ({exc.strerror})") from None
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        data = yaml.safe_load(text)
        if not isinstance(data, dict):
            raise ExpertError(f"spec {path}: a YAML spec is a mapping of field: value (or field: {{value, unit, max}})")
        out = []
        for name, v in data.items():
            item = v if isinstance(v, dict) else {"value": v}
            out.append(_field(str(name), str(item.get("value", "")), str(item.get("unit", "")),
                              str(item.get("max", "") or ""), f"spec {path}: {name}"))
        return out
    rows = _rows_markdown(text) if suffix == ".md" else [r for r in csv.reader(io.StringIO(text)) if any(r)]
    if not rows:
        raise ExpertError(f"spec {path}: no rows (expected `field, value[, unit][, max]`)")
    header = [h.strip().lower() for h in rows[0]]
    if header[:2] != ["field", "value"]:
        raise ExpertError(f"spec {path}: the first row must name the columns: field, value[, unit][, max] "
                          f"(it is {', '.join(rows[0])})")
    col = {name: header.index(name) for name in ("unit", "max") if name in header}
    def cell(row: list[str], key: str) -> str:
        return row[col[key]] if key in col and col[key] < len(row) else ""

    return [_field(row[0], row[1] if len(row) > 1 else "", cell(row, "unit"), cell(row, "max"), f"spec {path}:{n}")
            for n, row in enumerate(rows[1:], start=2)]
