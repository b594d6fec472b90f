"""Search a corpus: BM25 (bm25s) and dense (MiniLM) rankings fused by reciprocal rank fusion.

The index (chunks, BM25, embeddings) is cached on disk under a key made of every document's id and
content hash, the chunk size and the encoder, so it is rebuilt only when a file (or a setting)
changes. Embedding shows a progress bar on a terminal.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from agentos.embeddings import TextEncoder, make_encoder
from experts.research.documents import MAX_CHUNK_CHARS, Chunk, Document, chunk_document, corpus_files, read_document

RRF_K = 60  # the constant of Cormack et al.'s reciprocal rank fusion
FORMAT = 1


class Hit(BaseModel):
    chunk: Chunk
    score: float  # fused RRF score
    bm25_rank: int | None = None  # 1-based; None: not in that ranking's top
    dense_rank: int | None = None


class CorpusIndex:
    def __init__(self, docs: list[Document], chunks: list[Chunk], dense: np.ndarray, encoder: TextEncoder,
                 bm25: object, from_cache: bool = False):
        self.docs, self.chunks, self.dense, self.encoder, self.bm25 = docs, chunks, dense, encoder, bm25
        self.from_cache = from_cache
        self.by_id = {d.id: d for d in docs}

    @classmethod
    def build(cls, paths: list[Path], cache_dir: Path | None = None, *, encoder: str | TextEncoder = "auto",
              max_chars: int = MAX_CHUNK_CHARS, progress: bool = True) -> CorpusIndex:
        enc = make_encoder(encoder) if isinstance(encoder, str) else encoder
        docs = [read_document(p, i) for p, i in corpus_files(paths)]
        key = _key(docs, max_chars, enc.name)
        folder = cache_dir / key if cache_dir is not None else None
        if folder is not None and (folder / "done").is_file():
            return cls._load(folder, docs, enc)
        chunks = [c for d in docs for c in chunk_document(d, max_chars)]
        dense = _embed(enc, [_indexed_text(c) for c in chunks], progress)
        bm25 = _bm25([_indexed_text(c) for c in chunks])
        index = cls(docs, chunks, dense, enc, bm25)
        if folder is not None:
            index._save(folder)
        return index

    def search(self, query: str, k: int = 8, depth: int = 50) -> list[Hit]:
        """The top `k` chunks by RRF over the BM25 and dense top `depth`."""
        if not self.chunks:
            return []
        depth = min(depth, len(self.chunks))
        import bm25s

        ids, _ = self.bm25.retrieve(bm25s.tokenize([query], stopwords="en", show_progress=False), k=depth,
                                    show_progress=False)
        bm25_order = [int(i) for i in ids[0]]
        q = self.encoder.encode([query])[0]
        dense_order = [int(i) for i in np.argsort(-(self.dense @ q), kind="stable")[:depth]]
        scores: dict[int, float] = {}
        for order in (bm25_order, dense_order):
            for rank, i in enumerate(order, start=1):
                scores[i] = scores.get(i, 0.0) + 1.0 / (RRF_K + rank)
        top = sorted(scores, key=lambda i: (-scores[i], i))[:k]
        return [Hit(chunk=self.chunks[i], score=scores[i],
                    bm25_rank=bm25_order.index(i) + 1 if i in bm25_order else None,
                    dense_rank=dense_order.index(i) + 1 if i in dense_order else None) for i in top]

    # cache -----------------------------------------------------------------------------------------
    def _save(self, folder: Path) -> None:
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        (tmp / "chunks.json").write_text(json.dumps([c.model_dump() for c in self.chunks]), encoding="utf-8")
        np.save(tmp / "dense.npy", self.dense)
        self.bm25.save(str(tmp / "bm25"))
        (tmp / "done").write_text(str(FORMAT))
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)

    @classmethod
    def _load(cls, folder: Path, docs: list[Document], enc: TextEncoder) -> CorpusIndex:
        import bm25s

        chunks = [Chunk.model_validate(c) for c in json.loads((folder / "chunks.json").read_text(encoding="utf-8"))]
        return cls(docs, chunks, np.load(folder / "dense.npy"), enc, bm25s.BM25.load(str(folder / "bm25")),
                   from_cache=True)


def _indexed_text(chunk: Chunk) -> str:
    """What both retrievers see: the section heading gives a paragraph its context."""
    return f"{chunk.heading}\n{chunk.text}" if chunk.heading else chunk.text


def _key(docs: list[Document], max_chars: int, encoder: str) -> str:
    h = hashlib.sha256(f"v{FORMAT}|{max_chars}|{encoder}".encode())
    for d in sorted(docs, key=lambda d: d.id):
        h.update(f"|{d.id}:{d.sha256}".encode())
    return h.hexdigest()[:24]


def _bm25(texts: list[str]) -> object:
    import bm25s

    bm25 = bm25s.BM25()
    bm25.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    return bm25


def _embed(enc: TextEncoder, texts: list[str], progress: bool, batch: int = 64) -> np.ndarray:
    from rich.progress import Progress

    if not texts:
        return np.zeros((0, enc.dim))
    rows = []
    with Progress(transient=True, disable=not progress) as bar:
        task = bar.add_task(f"embedding {len(texts)} chunks ({enc.name})", total=len(texts))
        for s in range(0, len(texts), batch):
            rows.append(enc.encode(texts[s: s + batch]))
            bar.advance(task, len(texts[s: s + batch]))
    return np.vstack(rows)
