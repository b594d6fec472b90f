"""`text.load`: read Markdown and plain-text files from a file or folder."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from agentos import Expert, ExpertContext, ExpertError, operation

SUFFIXES = (".md", ".markdown", ".txt")


class LoadInput(BaseModel):
    path: Path = Field(description="a file, or a folder searched recursively for .md/.txt files")
    max_files: int = Field(200, ge=1)


class Document(BaseModel):
    path: str
    title: str
    chars: int
    text: str


class LoadOutput(BaseModel):
    text: str = Field(description="all documents, separated by blank lines")
    documents: list[Document]
    count: int


class TextFilesExpert(Expert):
    """Reads local text files; the first Markdown heading (or the file name) is the title."""

    name = "text-files"
    domain = "text"

    @operation("text.load", latency_s=0.01)
    def load(self, inputs: LoadInput, ctx: ExpertContext) -> LoadOutput:
        root = inputs.path
        if not root.exists():
            raise ExpertError(f"text.load: {root} does not exist")
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.suffix.lower() in SUFFIXES)
        if not files:
            raise ExpertError(f"text.load: no {'/'.join(SUFFIXES)} files under {root}")
        docs = []
        for i, f in enumerate(files[: inputs.max_files]):
            ctx.raise_if_cancelled()
            text = f.read_text(encoding="utf-8", errors="replace")
            title = next((ln.lstrip("# ").strip() for ln in text.splitlines() if ln.startswith("#")), f.stem)
            docs.append(Document(path=str(f), title=title, chars=len(text), text=text))
            ctx.progress((i + 1) / len(files), f.name)
        return LoadOutput(text="\n\n".join(d.text for d in docs), documents=docs, count=len(docs))
