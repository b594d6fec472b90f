"""Read a corpus (Markdown, plain text, reStructuredText, HTML, PDF) into documents and structure-aware chunks.

Every chunk keeps its provenance: the document it came from and the character offsets of its text
in that document's `text`, so `document.text[chunk.start:chunk.end] == chunk.text` always holds.
For Markdown and plain text, `text` is the file's own content, so offsets point into the file;
for HTML and reStructuredText (rendered by docutils) it is the visible text (block elements separated
by blank lines), for PDF the text layer
of the pages (pages separated by blank lines, each chunk naming its page). Chunks never cross a
heading (Markdown, HTML) or a page (PDF); long sections are cut at paragraph, then sentence, ends.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from agentos.errors import ExpertError

Kind = Literal["markdown", "text", "rst", "html", "pdf"]
KINDS: dict[str, Kind] = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text",
                          ".rst": "rst", ".html": "html", ".htm": "html", ".pdf": "pdf"}
MAX_CHUNK_CHARS = 1200


class Document(BaseModel):
    id: str = Field(description="the path relative to the corpus root (the file name for single files)")
    path: str
    kind: Kind
    title: str
    text: str
    sha256: str = Field(description="of the file's bytes: the index cache is keyed on it")
    pages: list[int] = Field(default_factory=list, description="PDF: character offset where each page starts")
    headings: list[tuple[int, int, str]] = Field(default_factory=list, description="HTML, reStructuredText: "
                                                 "(start, end, section path) of each heading's text")
    meta: dict[str, str] = Field(default_factory=dict, description="fields of a leading RFC 822 header (a PEP's "
                                 "Author, Status, Created, ...), for the reference list")


class Chunk(BaseModel):
    doc: str
    start: int
    end: int
    heading: str = Field("", description="the section path, 'Title > Section', or 'page N' for a PDF")
    page: int | None = None
    text: str


@dataclass
class _Block:
    start: int
    end: int
    heading: str
    page: int | None = None


# ---- reading ---------------------------------------------------------------------------------------

def corpus_files(paths: Iterable[Path]) -> list[tuple[Path, str]]:
    """(file, document id) for every supported file under `paths`, sorted; a clear error otherwise."""
    found: list[tuple[Path, str]] = []
    for root in paths:
        if root.is_dir():
            files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in KINDS)
            found += [(p, p.relative_to(root).as_posix()) for p in files]
        elif root.is_file():
            if root.suffix.lower() not in KINDS:
                raise ExpertError(f"{root}: unsupported file type `{root.suffix}` (supported: "
                                  f"{', '.join(sorted(KINDS))})")
            found.append((root, root.name))
        else:
            raise ExpertError(f"{root}: no such file or folder")
    ids = [i for _, i in found]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ExpertError(f"two corpus files share the id {dupes[0]!r}: give folders, or files with distinct names")
    return found


def read_document(path: Path, doc_id: str) -> Document:
    kind = KINDS[path.suffix.lower()]
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    pages: list[int] = []
    headings: list[tuple[int, int, str]] = []
    meta: dict[str, str] = {}
    if kind == "pdf":
        text, pages = _pdf_text(path)
    elif kind == "html":
        text, headings = _html_text(raw.decode("utf-8", errors="replace"))
    elif kind == "rst":
        html, meta = _rst_html(raw.decode("utf-8", errors="replace"), path)
        text, headings = _html_text(html)
    else:
        text = raw.decode("utf-8", errors="replace")
    return Document(id=doc_id, path=str(path), kind=kind, title=_title(kind, text, path), text=text, sha256=digest,
                    pages=pages, headings=headings, meta=meta)


def _title(kind: Kind, text: str, path: Path) -> str:
    if kind == "markdown":
        m = re.search(r"^#\s+(.+?)\s*#*\s*$", text, re.MULTILINE)
        if m:
            return m.group(1)
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first[:120] if kind in ("html", "rst", "pdf") and first else path.stem


_RFC822_FIELD = re.compile(r"^([A-Za-z][A-Za-z-]*):[ \t]*(.*)$")


def _rst_html(source: str, path: Path) -> tuple[str, dict[str, str]]:
    """reStructuredText rendered to HTML by docutils, with no file inclusion and no raw passthrough.

    A leading RFC 822 header (as Python Enhancement Proposals have: `PEP:`, `Title:`, `Status:`)
    becomes the document's title and a first paragraph of its fields, so "is it final?" is searchable.
    """
    from docutils.core import publish_parts
    from docutils.utils import SystemMessage
    from docutils.writers.html5_polyglot import Writer as Html5Writer

    html_head = ""
    fields: dict[str, str] = {}
    head, sep, body = source.partition("\n\n")
    lines = head.splitlines()
    if lines and _RFC822_FIELD.match(lines[0]) and sep:
        for line in lines:
            m = _RFC822_FIELD.match(line)
            if m:
                key = m.group(1)
                fields[key] = m.group(2).strip()
            elif fields:  # a continuation line
                fields[key] += " " + line.strip()
        title = fields.get("Title", path.stem).replace("``", "")
        if "PEP" in fields:
            title = f"PEP {fields['PEP']} – {title}"
        shown = "; ".join(f"{k}: {v}" for k, v in fields.items() if k not in ("PEP", "Title"))
        html_head = f"<h1>{_escape(title)}</h1><p>{_escape(shown)}</p>"
        source = body
    try:
        parts = publish_parts(source, writer=Html5Writer(), settings_overrides={
            "report_level": 5, "halt_level": 5, "file_insertion_enabled": False, "raw_enabled": False,
            "doctitle_xform": False, "footnote_references": "superscript", "_disable_config": True})
    except SystemMessage as exc:  # only severe structural errors get here with halt_level 5
        raise ExpertError(f"{path}: not valid reStructuredText ({exc})") from None
    return html_head + parts["body"], fields


def _escape(text: str) -> str:
    import html

    return html.escape(text, quote=False)


def _pdf_text(path: Path) -> tuple[str, list[int]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        texts = [(page.extract_text() or "").strip() for page in reader.pages]
    except (PdfReadError, ValueError, KeyError) as exc:
        raise ExpertError(f"{path}: not a readable PDF ({type(exc).__name__}: {exc})") from None
    starts, parts, at = [], [], 0
    for t in texts:
        starts.append(at)
        parts.append(t)
        at += len(t) + 2
    return "\n\n".join(parts), starts


# ---- blocks: the structural units of each kind ----------------------------------------------------

def _markdown_blocks(text: str) -> list[_Block]:
    from markdown_it import MarkdownIt

    line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
    line_starts.append(len(text))
    tokens = MarkdownIt("commonmark").parse(text)
    blocks: list[_Block] = []
    path: list[tuple[int, str]] = []  # (level, heading) stack
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            level = int(tok.tag[1])
            title = tokens[i + 1].content.strip()
            path = [(lv, h) for lv, h in path if lv < level] + [(level, title)]
            continue
        if tok.level != 0 or tok.map is None or tok.type in ("heading_open", "hr"):
            continue
        if tok.type.endswith("_open") or tok.type in ("fence", "code_block", "html_block"):
            start, end = line_starts[tok.map[0]], line_starts[min(tok.map[1], len(line_starts) - 1)]
            blocks.append(_Block(start, _rstrip(text, start, end), " > ".join(h for _, h in path)))
    return blocks


_HTML_BLOCKS = ("p", "li", "pre", "blockquote", "td", "th", "dt", "dd", "figcaption", "caption")


def _html_text(html: str) -> tuple[str, list[tuple[int, int, str]]]:
    """The visible text of headings and block elements, blank-line separated, and the headings' spans."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for junk in soup(["script", "style", "noscript", "template"]):
        junk.decompose()
    parts: list[str] = []
    headings: list[tuple[int, int, str]] = []
    path: list[tuple[int, str]] = []
    at = 0
    for el in soup.find_all(["h1", "h2", "h3", "h4", "h5", "h6", *_HTML_BLOCKS]):
        if el.name not in ("h1", "h2", "h3", "h4", "h5", "h6") and el.find_parent(_HTML_BLOCKS):
            continue  # nested inside a block already taken whole
        if el.name == "pre":  # code keeps its lines (no blank ones: those separate blocks)
            content = re.sub(r"[ \t]*\n\s*\n\s*", "\n", el.get_text()).strip()
        else:
            content = re.sub(r"\s+", " ", el.get_text(" ")).strip()
        if not content:
            continue
        if el.name[0] == "h" and el.name[1:].isdigit():
            level = int(el.name[1])
            path = [(lv, h) for lv, h in path if lv < level] + [(level, content)]
            headings.append((at, at + len(content), " > ".join(h for _, h in path)))
        parts.append(content)
        at += len(content) + 2
    return "\n\n".join(parts), headings


def _html_blocks(doc: Document) -> list[_Block]:
    """Each non-heading paragraph of the text, under the last heading before it."""
    heading_starts = {start for start, _, _ in doc.headings}
    blocks: list[_Block] = []
    section, i = "", 0
    for b in _paragraph_blocks(doc.text):
        while i < len(doc.headings) and doc.headings[i][0] <= b.start:
            section, i = doc.headings[i][2], i + 1
        if b.start not in heading_starts:
            b.heading = section
            blocks.append(b)
    return blocks


_PARAGRAPH = re.compile(r"\S(?:.*?\S)?(?=\s*\n\s*\n|\s*$)", re.DOTALL)  # up to a blank line or the end


def _paragraph_blocks(text: str, base: int = 0, heading: str = "", page: int | None = None) -> list[_Block]:
    return [_Block(base + m.start(), base + m.end(), heading, page) for m in _PARAGRAPH.finditer(text)]


def _rstrip(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def blocks_of(doc: Document) -> list[_Block]:
    if doc.kind == "markdown":
        return _markdown_blocks(doc.text)
    if doc.kind in ("html", "rst"):
        return _html_blocks(doc)
    if doc.kind == "pdf":
        out: list[_Block] = []
        bounds = [*doc.pages, len(doc.text) + 2]
        for n, (s, e) in enumerate(itertools.pairwise(bounds), start=1):
            out += _paragraph_blocks(doc.text[s: e - 2], s, f"page {n}", n)
        return out
    return _paragraph_blocks(doc.text)


# ---- chunks ----------------------------------------------------------------------------------------

def chunk_document(doc: Document, max_chars: int = MAX_CHUNK_CHARS) -> list[Chunk]:
    """Blocks packed into chunks of at most `max_chars`, never across a heading or a page."""
    chunks: list[Chunk] = []
    group: list[_Block] = []

    def flush() -> None:
        if group:
            s, e = group[0].start, group[-1].end
            chunks.append(Chunk(doc=doc.id, start=s, end=e, heading=group[0].heading, page=group[0].page,
                                text=doc.text[s:e]))
            group.clear()

    for block in _split_long(doc.text, blocks_of(doc), max_chars):
        if group and (block.heading != group[0].heading or block.page != group[0].page
                      or block.end - group[0].start > max_chars):
            flush()
        group.append(block)
    flush()
    return chunks


def _split_long(text: str, blocks: list[_Block], max_chars: int) -> Iterator[_Block]:
    """A block longer than `max_chars` cut at sentence ends (or hard, as a last resort)."""
    for b in blocks:
        if b.end - b.start <= max_chars:
            yield b
            continue
        s = b.start
        while b.end - s > max_chars:
            window = text[s: s + max_chars]
            cut = max((m.end() for m in re.finditer(r"[.!?。！？]\s+", window)), default=0) or max_chars
            yield _Block(s, _rstrip(text, s, s + cut), b.heading, b.page)
            s += cut
            while s < b.end and text[s].isspace():
                s += 1
        if s < b.end:
            yield _Block(s, b.end, b.heading, b.page)


def load_corpus(paths: Iterable[Path], max_chars: int = MAX_CHUNK_CHARS) -> tuple[list[Document], list[Chunk]]:
    docs = [read_document(p, i) for p, i in corpus_files(paths)]
    return docs, [c for d in docs for c in chunk_document(d, max_chars)]
