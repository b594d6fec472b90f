"""From retrieved chunks to evidence: sentence-level passages with stable ids and exact offsets.

Retrieval returns chunks of up to 1200 characters; a report should quote the sentence that says
the thing. `rank_sentences` scores every sentence of the retrieved chunks against a query
(embedding similarity, word overlap and the chunk's fused rank), and `EvidenceBook` hands out E1,
E2, ... once per distinct span, so findings that reach the same sentence cite the same id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from experts.research.documents import Document
from experts.research.models import DocumentRef, Evidence
from experts.research.retrieval import CorpusIndex, Hit
from experts.research.support import lexical_overlap
from experts.research.text import sentences

MIN_SENTENCE_CHARS = 25  # shorter "sentences" are list stubs and headings, not statements
SELF_CONTAINED_CHARS = 120  # a passage shorter than this takes in the next sentence too


@dataclass(frozen=True)
class Candidate:
    doc: str
    start: int
    end: int
    text: str
    relevance: float
    hit: Hit


def rank_sentences(index: CorpusIndex, query: str, hits: list[Hit], *,
                   run_on: int = SELF_CONTAINED_CHARS) -> list[Candidate]:
    """Every sentence of the hits, best first for `query`; one shorter than `run_on` characters runs on into
    the next of its paragraph, so that a passage says enough to stand on its own ("PEP 563 changed the
    semantics." alone does not). Risks and their mitigations are picked sentence by sentence (`run_on=0`).
    Questions and lead-ins ending in a colon are left out: they state nothing."""
    spans: list[tuple[Hit, int, int]] = []
    for hit in hits:
        c = hit.chunk
        text = index.by_id[c.doc].text
        sents = [s for s in sentences(c.text, c.start) if s[1] - s[0] >= MIN_SENTENCE_CHARS]
        for i, (start, end) in enumerate(sents):
            if text[start:end].rstrip().endswith((":", "?")):
                continue  # a list's lead-in or a question states nothing by itself
            j = i
            while end - start < run_on and j + 1 < len(sents) and "\n\n" not in text[end:sents[j + 1][0]]:
                j += 1
                end = sents[j][1]
            spans.append((hit, start, end))
    if not spans:
        return []
    texts = [index.by_id[h.chunk.doc].text[s:e] for h, s, e in spans]
    emb = index.encoder.encode([query, *texts])
    sem = emb[1:] @ emb[0]
    best_rrf = max(h.score for h in hits)
    out = []
    for (hit, s, e), text, sim in zip(spans, texts, sem, strict=True):
        relevance = float(sim) + 0.3 * lexical_overlap(query, text) + 0.1 * hit.score / best_rrf
        out.append(Candidate(hit.chunk.doc, s, e, text, relevance, hit))
    out.sort(key=lambda c: -c.relevance)
    return out


def semantic_similarity(index: CorpusIndex, a: str, texts: list[str]) -> np.ndarray:
    if not texts:
        return np.zeros(0)
    emb = index.encoder.encode([a, *texts])
    return emb[1:] @ emb[0]


class EvidenceBook:
    """The evidence of one output: ids in order of first use, one per distinct span."""

    def __init__(self, index: CorpusIndex, urls: dict[str, str] | None = None):
        self.index = index
        self.items: list[Evidence] = []
        self._ids: dict[tuple[str, int, int], str] = {}
        self._urls = urls or {}

    def add(self, c: Candidate) -> str:
        key = (c.doc, c.start, c.end)
        if key not in self._ids:
            doc = self.index.by_id[c.doc]
            eid = f"E{len(self.items) + 1}"
            self._ids[key] = eid
            self.items.append(Evidence(id=eid, doc=doc.id, title=doc.title, path=doc.path, url=self.url(doc),
                                       start=c.start, end=c.end, heading=c.hit.chunk.heading, page=c.hit.chunk.page,
                                       text=doc.text[c.start:c.end], score=round(c.hit.score, 6)))
        return self._ids[key]

    def get(self, eid: str) -> Evidence | None:
        return next((e for e in self.items if e.id == eid), None)

    def url(self, doc: Document) -> str | None:
        if doc.id in self._urls:
            return self._urls[doc.id]
        if pep := doc.meta.get("PEP"):
            return f"https://peps.python.org/pep-{int(pep):04d}/" if pep.isdigit() else None
        return None

    def references(self, cited: list[str]) -> list[DocumentRef]:
        """One numbered entry per document, in order of first citation (evidence order for the uncited)."""
        order: list[str] = []
        by_id = {e.id: e for e in self.items}
        for eid in [*cited, *by_id]:
            e = by_id.get(eid)
            if e is not None and e.doc not in order:
                order.append(e.doc)
        return [reference(n, self.index.by_id[d], self.url(self.index.by_id[d])) for n, d in enumerate(order, 1)]


def reference(number: int, doc: Document, url: str | None) -> DocumentRef:
    authors = ", ".join(a.split("<")[0].strip() for a in doc.meta.get("Author", "").split(",") if a.strip())
    date, status = doc.meta.get("Created", ""), doc.meta.get("Status", "")
    parts = [p for p in (authors, f"*{doc.title}*", status and f"Status: {status}", date) if p]
    where = url or doc.path
    return DocumentRef(number=number, doc=doc.id, title=doc.title, path=doc.path, url=url, authors=authors,
                       date=date, status=status, formatted=f"[{number}] " + ". ".join(parts) + f". {where}")
