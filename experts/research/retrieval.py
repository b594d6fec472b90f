"""Search a corpus: BM25 (bm25s) and dense (MiniLM) rankings fused by reciprocal rank fusion.

MiniLM reads at most 256 word pieces, about 600 characters of prose and far fewer of code, so the
end of a long chunk embedded whole is never seen. A chunk is therefore embedded both whole (its
gist) and as windows of whole sentences (`WINDOW_CHARS`), and its dense score is the mean of the
two cosines, whole and best window: on the benchmark's questions that beat either alone and their
maximum (docs/research.md). BM25 reads chunks whole.

The index (chunks, BM25, embeddings) is cached on disk under a key made of every document's id and
content hash, the chunk size and the encoder, so it is rebuilt only when a file (or a setting)
changes. Embedding shows a progress bar on a terminal.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from agentos.embeddings import TextEncoder, make_encoder
from experts.research.documents import MAX_CHUNK_CHARS, Chunk, Document, chunk_document, corpus_files, read_document
from experts.research.text import sentences

RRF_K = 60  # the constant of Cormack et al.'s reciprocal rank fusion
WINDOW_CHARS = 500  # one dense window: whole sentences, heading included, within MiniLM's 256 word pieces
FORMAT = 3


class Hit(BaseModel):
    chunk: Chunk
    score: float  # fused RRF score
    bm25_rank: int | None = None  # 1-based; None: not in that ranking's top
    dense_rank: int | None = None


class CorpusIndex:
    def __init__(self, docs: list[Document], chunks: list[Chunk], dense: np.ndarray, windows: np.ndarray,
                 window_chunk: np.ndarray, encoder: TextEncoder, bm25: object, from_cache: bool = False):
        """`dense`: one embedding per chunk; `windows`: one per window, `window_chunk[i]` the chunk of window i."""
        self.docs, self.chunks, self.dense, self.encoder, self.bm25 = docs, chunks, dense, encoder, bm25
        self.windows, self.window_chunk = windows, window_chunk
        # windows are stored chunk by chunk, at least one each: chunk i's run starts here
        self._window_starts = np.searchsorted(window_chunk, np.arange(len(chunks)))
        self.from_cache = from_cache
        self.by_id = {d.id: d for d in docs}

    @classmethod
    def build(cls, paths: list[Path], cache_dir: Path | None = None, *, encoder: str | TextEncoder = "auto",
              max_chars: int = MAX_CHUNK_CHARS, progress: bool | Callable[[int, int], None] = True,
              extra: Sequence[tuple[Path, str]] = ()) -> CorpusIndex:
        """Index `paths` (files, folders) and `extra` (file, id) pairs, such as fetched pages named by URL.

        `progress`: a bar on the terminal (True), none (False), or a callback `(done, total)` per batch.
        """
        enc = make_encoder(encoder) if isinstance(encoder, str) else encoder
        docs = [read_document(p, i) for p, i in [*corpus_files(paths), *extra]]
        key = _key(docs, max_chars, enc.name)
        folder = cache_dir / key if cache_dir is not None else None
        if folder is not None and (folder / "done").is_file():
            return cls._load(folder, docs, enc)
        chunks = [c for d in docs for c in chunk_document(d, max_chars)]
        windows = [(i, w) for i, c in enumerate(chunks) for w in windows_of(c)]
        embedded = _embed(enc, [_indexed_text(c) for c in chunks] + [w for _, w in windows], progress)
        bm25 = _bm25([_indexed_text(c) for c in chunks])
        index = cls(docs, chunks, embedded[: len(chunks)], embedded[len(chunks):],
                    np.array([i for i, _ in windows], dtype=np.int64), enc, bm25)
        if folder is not None:
            index._save(folder)
        return index

    def bm25_ranking(self, query: str, depth: int = 50) -> list[int]:
        """Chunk indices, best first, by BM25 alone."""
        import bm25s

        depth = min(depth, len(self.chunks))
        if depth == 0:
            return []
        ids, _ = self.bm25.retrieve(bm25s.tokenize([query], stopwords="en", show_progress=False), k=depth,
                                    show_progress=False)
        return [int(i) for i in ids[0]]

    def dense_ranking(self, query: str, depth: int = 50) -> list[int]:
        """Chunk indices, best first, by MiniLM cosine: the mean of the whole chunk's and its best window's."""
        if not self.chunks:
            return []
        q = self.encoder.encode([query])[0]
        return [int(i) for i in np.argsort(-(0.5 * (self.dense @ q + self.best_window(q))), kind="stable")[:depth]]

    def best_window(self, q: np.ndarray) -> np.ndarray:
        """Per chunk, the cosine of its window closest to the embedded query `q`."""
        return np.maximum.reduceat(self.windows @ q, self._window_starts)

    def search(self, query: str, k: int = 8, depth: int = 50) -> list[Hit]:
        """The top `k` chunks by RRF over the BM25 and dense top `depth`."""
        if not self.chunks:
            return []
        bm25_order, dense_order = self.bm25_ranking(query, depth), self.dense_ranking(query, depth)
        scores = rrf_scores([bm25_order, dense_order])
        top = rrf([bm25_order, dense_order])[:k]
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
        np.save(tmp / "windows.npy", self.windows)
        np.save(tmp / "window_chunk.npy", self.window_chunk)
        self.bm25.save(str(tmp / "bm25"))
        (tmp / "done").write_text(str(FORMAT))
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)

    @classmethod
    def _load(cls, folder: Path, docs: list[Document], enc: TextEncoder) -> CorpusIndex:
        import bm25s

        chunks = [Chunk.model_validate(c) for c in json.loads((folder / "chunks.json").read_text(encoding="utf-8"))]
        return cls(docs, chunks, np.load(folder / "dense.npy"), np.load(folder / "windows.npy"),
                   np.load(folder / "window_chunk.npy"), enc, bm25s.BM25.load(str(folder / "bm25")), from_cache=True)


def rrf_scores(rankings: list[list[int]]) -> dict[int, float]:
    """Reciprocal rank fusion: each ranking gives an item 1 / (k + rank)."""
    scores: dict[int, float] = {}
    for order in rankings:
        for rank, i in enumerate(order, start=1):
            scores[i] = scores.get(i, 0.0) + 1.0 / (RRF_K + rank)
    return scores


def rrf(rankings: list[list[int]]) -> list[int]:
    """The items of the rankings, best fused score first (ties by index, for a stable order)."""
    scores = rrf_scores(rankings)
    return sorted(scores, key=lambda i: (-scores[i], i))


def _indexed_text(chunk: Chunk) -> str:
    """What both retrievers see: the section heading gives a paragraph its context."""
    return f"{chunk.heading}\n{chunk.text}" if chunk.heading else chunk.text


def windows_of(chunk: Chunk, max_chars: int = WINDOW_CHARS) -> list[str]:
    """The chunk as runs of whole sentences of at most `max_chars` (a longer sentence stays whole), each
    under the section heading."""
    out: list[str] = []
    start = end = None
    for s, e in sentences(chunk.text):
        if start is not None and e - start > max_chars:
            out.append(chunk.text[start:end])
            start = None
        if start is None:
            start = s
        end = e
    if start is not None:
        out.append(chunk.text[start:end])
    return [f"{chunk.heading}\n{w}" if chunk.heading else w for w in out] or [_indexed_text(chunk)]


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


def _embed(enc: TextEncoder, texts: list[str], progress: bool | Callable[[int, int], None],
           batch: int = 64) -> np.ndarray:
    from rich.progress import Progress

    if not texts:
        return np.zeros((0, enc.dim))
    rows = []
    if callable(progress):
        for s in range(0, len(texts), batch):
            rows.append(enc.encode(texts[s: s + batch]))
            progress(min(len(texts), s + batch), len(texts))
        return np.vstack(rows)
    with Progress(transient=True, disable=not progress) as bar:
        task = bar.add_task(f"embedding {len(texts)} passages ({enc.name})", total=len(texts))
        for s in range(0, len(texts), batch):
            rows.append(enc.encode(texts[s: s + batch]))
            bar.advance(task, len(texts[s: s + batch]))
    return np.vstack(rows)
