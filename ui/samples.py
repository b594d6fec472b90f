"""The showcase samples the page offers: `showcases/<tab>/<id>.yaml`, one tab per expert domain.

A sample is its task file, read as written: the title and description come from its leading comment,
the capabilities from its graph. A sample whose capabilities no installed expert offers is listed as
unavailable, with the extra to install, so its tab can say so plainly instead of failing on click.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, Field, computed_field

from agentos.registry import Registry

TABS = ("image", "voice", "gui", "research")
SHOWCASES = Path(__file__).resolve().parents[1] / "showcases"


class Sample(BaseModel):
    id: str = Field(description="the task file's stem: image-a, voice-b, ...")
    tab: str = Field(description="image, voice, gui or research")
    title: str = Field(description="the first line of the file's leading comment")
    description: str = Field(description="the rest of the leading comment, up to its `Run it with` line")
    task_file: str = Field(description="the path relative to the showcases folder")
    capabilities: list[str] = Field(description="what its graph asks for")
    missing: list[str] = Field(default_factory=list, description="capabilities no installed expert offers")
    install: str = Field("", description="the command that installs what is missing")
    file_inputs: dict[str, str] = Field(default_factory=dict, description="its file inputs: name -> path, "
                                        "relative to its folder (what the page offers to replace)")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def available(self) -> bool:
        """Whether every capability it needs is installed."""
        return not self.missing


def _comment(text: str) -> tuple[str, str]:
    """(title, description) from the leading comment: its first sentence, then the rest up to `Run it with`."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        line = line.lstrip("#").strip()
        if line.lower().startswith("run it with"):
            break
        lines.append(line)
    prose = " ".join(x for x in lines if x)
    head, sep, rest = prose.partition(": ")
    if sep and " " not in head:  # "voice-b: a spoken instruction ..."
        prose = rest
    title, _, description = prose.partition(". ")
    return title.rstrip("."), description.strip()


def read_sample(path: Path, registry: Registry, root: Path = SHOWCASES) -> Sample:
    text = path.read_text(encoding="utf-8")
    title, description = _comment(text)
    data = yaml.safe_load(text) or {}
    caps = sorted({n["capability"] for n in data.get("graph", []) if isinstance(n, dict) and n.get("capability")})
    have = registry.capabilities()
    missing = [c for c in caps if c not in have]
    tab = path.parent.name
    files = {name: str(v["file"]) for name, v in (data.get("inputs") or {}).items()
             if isinstance(v, dict) and isinstance(v.get("file"), str)}
    return Sample(id=path.stem, tab=tab, title=title, description=description,
                  task_file=str(path.relative_to(root)), capabilities=caps, missing=missing,
                  install=f'pip install -e ".[{tab}]"' if missing else "", file_inputs=files)


def list_samples(registry: Registry, root: Path = SHOWCASES) -> list[Sample]:
    """Every sample of the four tabs, in tab order, then by id."""
    return [read_sample(p, registry, root) for tab in TABS for p in sorted((root / tab).glob("*.yaml"))]
