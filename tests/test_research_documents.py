"""Research corpus reading: every kind of file gives chunks whose offsets point at their own text."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentos.errors import ExpertError
from experts.research.documents import chunk_document, corpus_files, load_corpus, read_document

MARKDOWN = """# Solar power

Solar panels turn light into electricity. Their efficiency rose from 15% in 2010 to 22% in 2023.

## Storage

Batteries store the surplus for the night.

- lithium-ion cells
- flow batteries

## Costs

Module prices fell by 90% between 2010 and 2020.
"""

HTML = """<html><head><title>Wind</title><style>p {color: red}</style><script>var x = 1;</script></head>
<body><h1>Wind power</h1><p>Turbines   convert <b>wind</b> into electricity.</p>
<h2>Offshore</h2><p>Offshore farms see stronger winds.</p><ul><li>Hornsea <i>One</i></li></ul></body></html>"""


def tiny_pdf(pages: list[str]) -> bytes:
    """A real PDF (Helvetica text, one content stream per page), built byte by byte with its xref."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    kids = []
    for text in pages:
        page_no, content_no = len(objects) + 1, len(objects) + 2
        kids.append(f"{page_no} 0 R")
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET"
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_no} 0 R "
                       f"/Resources << /Font << /F1 {len(pages) * 2 + 3} 0 R >> >> >>")
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>"
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out, offsets = b"%PDF-1.4\n", []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    (root / "web").mkdir(parents=True)
    (root / "solar.md").write_text(MARKDOWN, encoding="utf-8")
    (root / "notes.txt").write_text("First paragraph here.\n\n\nSecond one,\nover two lines.\n", encoding="utf-8")
    (root / "web" / "wind.html").write_text(HTML, encoding="utf-8")
    (root / "report.pdf").write_bytes(tiny_pdf(["Hydro dams store water.", "Pumped storage is 90% of grid storage."]))
    (root / "image.png").write_bytes(b"\x89PNG")  # not a document: skipped in folders
    return root


def test_every_chunk_is_exactly_its_documents_text_at_its_offsets(corpus):
    docs, chunks = load_corpus([corpus])
    assert sorted(d.id for d in docs) == ["notes.txt", "report.pdf", "solar.md", "web/wind.html"]
    by_id = {d.id: d for d in docs}
    assert {c.doc for c in chunks} == set(by_id)
    for c in chunks:
        assert by_id[c.doc].text[c.start:c.end] == c.text and c.text.strip() == c.text and c.text


def test_markdown_offsets_point_into_the_file_itself_and_chunks_follow_headings(corpus):
    doc = read_document(corpus / "solar.md", "solar.md")
    assert doc.text == MARKDOWN and doc.title == "Solar power" and doc.kind == "markdown"
    chunks = chunk_document(doc)
    assert [c.heading for c in chunks] == ["Solar power", "Solar power > Storage", "Solar power > Costs"]
    storage = chunks[1]
    assert storage.text.startswith("Batteries") and "flow batteries" in storage.text
    assert MARKDOWN.index("Module prices") == chunks[2].start


def test_html_keeps_visible_text_by_section_and_drops_scripts_and_styles(corpus):
    doc = read_document(corpus / "web" / "wind.html", "web/wind.html")
    assert "var x" not in doc.text and "color: red" not in doc.text
    chunks = chunk_document(doc)
    assert [(c.heading, c.text) for c in chunks] == [
        ("Wind power", "Turbines convert wind into electricity."),
        ("Wind power > Offshore", "Offshore farms see stronger winds.\n\nHornsea One")]


def test_pdf_chunks_name_their_page(corpus):
    doc = read_document(corpus / "report.pdf", "report.pdf")
    chunks = chunk_document(doc)
    assert [(c.page, c.heading, c.text) for c in chunks] == [
        (1, "page 1", "Hydro dams store water."), (2, "page 2", "Pumped storage is 90% of grid storage.")]
    assert doc.pages == [0, len("Hydro dams store water.") + 2]


def test_plain_text_splits_at_blank_lines():
    from experts.research.documents import Document

    text = "First paragraph here.\n\n\nSecond one,\nover two lines.\n"
    doc = Document(id="n", path="n.txt", kind="text", title="n", text=text, sha256="0")
    chunks = chunk_document(doc, max_chars=30)  # too small to hold both
    assert [c.text for c in chunks] == ["First paragraph here.", "Second one,\nover two lines."]


def test_a_long_section_is_cut_at_sentence_ends_within_the_limit():
    from experts.research.documents import Document

    text = "# T\n\n" + " ".join(f"Sentence number {i} is here." for i in range(60)) + "\n"
    doc = Document(id="t", path="t.md", kind="markdown", title="T", text=text, sha256="0")
    chunks = chunk_document(doc, max_chars=200)
    assert len(chunks) > 5 and all(len(c.text) <= 200 for c in chunks)
    assert all(c.text.endswith(".") for c in chunks)
    assert " ".join(c.text for c in chunks) == text[5:].strip()


def test_bad_corpus_paths_are_clear_errors(tmp_path, corpus):
    with pytest.raises(ExpertError, match="no such file or folder"):
        corpus_files([tmp_path / "missing"])
    with pytest.raises(ExpertError, match=r"unsupported file type `\.png`"):
        corpus_files([corpus / "image.png"])
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    with pytest.raises(ExpertError, match="not a readable PDF"):
        read_document(tmp_path / "broken.pdf", "broken.pdf")


PEP_LIKE = """PEP: 9999
Title: A Test Proposal about ``spam``
Author: Ann Example <ann@example.org>, Bob Example <bob@example.org>
Status: Final
Created: 01-Jan-2020

Abstract
========

This proposal adds spam to the standard library.

Specification
=============

The ``spam()`` function returns eggs.

.. include:: /etc/passwd

.. raw:: html

   <script>alert(1)</script>

Example::

    first line

    second line
"""


def test_restructuredtext_is_rendered_by_docutils_with_its_pep_header_as_title_and_fields(tmp_path):
    path = tmp_path / "pep-9999.rst"
    path.write_text(PEP_LIKE)
    doc = read_document(path, "pep-9999.rst")
    assert doc.kind == "rst" and doc.title == "PEP 9999 – A Test Proposal about spam"
    assert doc.meta["Author"].startswith("Ann Example") and doc.meta["Status"] == "Final"
    assert "Status: Final" in doc.text and "The spam() function returns eggs." in doc.text
    assert "root:" not in doc.text and "alert(1)" not in doc.text  # no file inclusion, no raw passthrough
    chunks = chunk_document(doc)
    assert all(doc.text[c.start:c.end] == c.text for c in chunks)
    spec = next(c for c in chunks if "spam() function" in c.text)
    assert spec.heading == "PEP 9999 – A Test Proposal about spam > Specification"
    code = next(c for c in chunks if "first line" in c.text)
    assert "first line\nsecond line" in code.text  # code keeps its lines
