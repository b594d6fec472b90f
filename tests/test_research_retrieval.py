"""Research retrieval: BM25 + dense fused by RRF over a real small corpus, and its on-disk cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentos.embeddings import HashingEncoder
from experts.research.retrieval import CorpusIndex

DOCS = {
    "solar.md": "# Solar power\n\nPhotovoltaic panels convert sunlight into electricity.\n\n"
                "## Costs\n\nModule prices fell by 90% between 2010 and 2020.\n",
    "wind.md": "# Wind power\n\nTurbines convert the wind's kinetic energy into electricity.\n\n"
               "## Offshore\n\nOffshore wind farms see stronger and steadier winds.\n",
    "storage.txt": "Batteries store surplus energy for the night.\n\nPumped hydro is most of the grid's storage.\n",
}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    for name, text in DOCS.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_the_best_hit_is_the_chunk_that_answers_and_both_rankers_are_reported(corpus):
    index = CorpusIndex.build([corpus], encoder=HashingEncoder(), progress=False)
    hits = index.search("how much did module prices fall", k=3)
    assert hits[0].chunk.doc == "solar.md" and "90%" in hits[0].chunk.text
    assert hits[0].chunk.heading == "Solar power > Costs"
    assert hits[0].bm25_rank == 1 and hits[0].dense_rank is not None
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert index.search("offshore winds", k=1)[0].chunk.doc == "wind.md"


def test_the_index_is_cached_and_rebuilt_only_when_a_file_changes(corpus, tmp_path):
    cache = tmp_path / "cache"
    first = CorpusIndex.build([corpus], cache, encoder=HashingEncoder(), progress=False)
    again = CorpusIndex.build([corpus], cache, encoder=HashingEncoder(), progress=False)
    assert not first.from_cache and again.from_cache
    assert [c.model_dump() for c in again.chunks] == [c.model_dump() for c in first.chunks]
    assert again.search("pumped hydro", k=1)[0].chunk.doc == "storage.txt"
    (corpus / "storage.txt").write_text("Flywheels store energy as rotation.\n", encoding="utf-8")
    changed = CorpusIndex.build([corpus], cache, encoder=HashingEncoder(), progress=False)
    assert not changed.from_cache and changed.search("flywheels", k=1)[0].chunk.text.startswith("Flywheels")


@pytest.mark.slow
def test_dense_retrieval_with_minilm_finds_a_paraphrase_bm25_cannot(corpus):
    index = CorpusIndex.build([corpus], encoder="minilm", progress=False)
    hits = index.search("renewable source driven by moving air", k=8)
    dense_first = min(hits, key=lambda h: h.dense_rank or 99)
    assert dense_first.dense_rank == 1 and dense_first.chunk.doc == "wind.md"
    assert hits[0].chunk.doc == "wind.md"  # the fusion keeps it on top
