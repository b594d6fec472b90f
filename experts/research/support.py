"""Does a cited span support a claim? A small calibrated model over word overlap and embeddings.

Four features per (claim, span): the share of the claim's content words found in the span, the
cosine of their MiniLM embeddings, whether one is negated and the other not (the span's sentence
closest to the claim), and the share of the
claim's key terms (names, identifiers) missing from the span and its document's title. A logistic
model over them, and the acceptance threshold, are fitted on a labelled set of (claim, span,
supports?) pairs written by reading the corpora (`benchmarks/data/research/support-*.jsonl`) by
`python benchmarks/research.py --calibrate`: it keeps the threshold with the best recall among those
whose precision on the fitting half reaches the target, and stores everything in
`support_calibration.json` beside this module. Numbers and dates are checked apart
(`text.missing_numbers`): an embedding barely tells 3.9 from 3.10.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from agentos.embeddings import TextEncoder, make_encoder
from experts.research.text import content_words, key_terms, missing_numbers, missing_terms, negated, sentences

CALIBRATION_FILE = Path(__file__).with_name("support_calibration.json")
FEATURES = ("lexical", "semantic", "negation_mismatch", "missing_terms")


class Calibration(BaseModel):
    weights: list[float] = Field(default_factory=lambda: [2.0, 4.0, -1.0, -2.0], description=f"for {FEATURES}")
    bias: float = -3.0
    threshold: float = Field(0.5, description="on the model's probability")
    encoder: str = "all-MiniLM-L6-v2"
    fitted_on: int = Field(0, description="labelled pairs used to fit (0: the unfitted defaults)")
    target_precision: float = 0.9
    precision: float | None = Field(None, description="on the fitting pairs")
    recall: float | None = None


@dataclass(frozen=True)
class Support:
    features: tuple[float, ...]
    score: float
    missing_numbers: frozenset[str]
    threshold: float

    @property
    def supported(self) -> bool:
        return self.score >= self.threshold and not self.missing_numbers


def lexical_overlap(claim: str, span: str) -> float:
    words = content_words(claim)
    return len(words & content_words(span)) / len(words) if words else 0.0


def closest(claim: str, span: str) -> str:
    """The span's sentence that shares most words with the claim: a "not" in a neighbouring sentence of a
    two-sentence passage says nothing about whether this one is negated."""
    parts = [span[s:e] for s, e in sentences(span)]
    return max(parts, key=lambda p: lexical_overlap(claim, p)) if len(parts) > 1 else span


class SupportScorer:
    def __init__(self, calibration: Calibration | None = None, encoder: TextEncoder | None = None):
        self.cal = calibration or load_calibration()
        self._encoder = encoder

    @property
    def encoder(self) -> TextEncoder:
        if self._encoder is None:
            self._encoder = make_encoder("auto")
        return self._encoder

    def features(self, pairs: list[tuple[str, str]], context: list[str] | None = None) -> np.ndarray:
        """One row of `FEATURES` per (claim, span); `context` (the span's document title) counts for terms."""
        if not pairs:
            return np.zeros((0, len(FEATURES)))
        extra = context or [""] * len(pairs)
        emb = self.encoder.encode(list(itertools.chain.from_iterable(pairs)))
        sem = np.sum(emb[0::2] * emb[1::2], axis=1)
        rows = []
        for (claim, span), more, s in zip(pairs, extra, sem, strict=True):
            terms = key_terms(claim)
            gone = len(missing_terms(claim, f"{more}\n{span}")) / len(terms) if terms else 0.0
            rows.append([lexical_overlap(claim, span), float(s), float(negated(claim) != negated(closest(claim, span))),
                         gone])
        return np.array(rows)

    def judge(self, pairs: list[tuple[str, str]], context: list[str] | None = None) -> list[Support]:
        """Support per (claim, span); `context` (per pair: the span's document title) also counts for numbers
        and names, so "PEP 3101 introduced ..." is not faulted for a passage that says "this PEP"."""
        extra = context or [""] * len(pairs)
        feats = self.features(pairs, extra)
        scores = probability(self.cal, feats) if len(pairs) else np.zeros(0)
        return [Support(features=tuple(float(x) for x in f), score=float(p), threshold=self.cal.threshold,
                        missing_numbers=frozenset(missing_numbers(claim, f"{more}\n{span}")))
                for (claim, span), more, f, p in zip(pairs, extra, feats, scores, strict=True)]


def probability(cal: Calibration, feats: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(feats @ np.array(cal.weights) + cal.bias)))


def _logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 50) -> tuple[np.ndarray, float]:
    """Weights and bias of an L2-regularised logistic regression, by Newton's method."""
    xb = np.column_stack([x, np.ones(len(x))])
    w = np.zeros(xb.shape[1])
    reg = l2 * np.eye(xb.shape[1])
    reg[-1, -1] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = xb.T @ (p - y) + reg @ w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + reg
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return w[:-1], float(w[-1])


def fit(features: np.ndarray, labels: np.ndarray, target_precision: float = 0.9) -> Calibration:
    """The logistic model on these pairs, and the threshold with the best recall at precision ≥ target."""
    if len(labels) == 0 or labels.all() or not labels.any():
        raise ValueError("fitting needs labelled pairs of both kinds (supports and does not)")
    w, b = _logistic(features, labels.astype(float))
    cal = Calibration(weights=[float(v) for v in w], bias=b, fitted_on=len(labels), target_precision=target_precision)
    scores = probability(cal, features)
    best: tuple[tuple[float, float], float, float, float] | None = None
    for t in np.unique(scores):
        accepted = scores >= t
        tp = float(np.sum(accepted & labels))
        precision, recall = tp / max(1.0, float(accepted.sum())), tp / float(labels.sum())
        key = (float(precision >= target_precision), recall if precision >= target_precision else precision)
        if best is None or key > best[0]:
            best = (key, float(t), precision, recall)
    assert best is not None
    return cal.model_copy(update={"threshold": best[1], "precision": round(best[2], 4), "recall": round(best[3], 4)})


@lru_cache(maxsize=1)
def load_calibration() -> Calibration:
    """The fitted settings; defaults (unfitted) only when the file is missing from a source checkout."""
    if CALIBRATION_FILE.is_file():
        return Calibration.model_validate(json.loads(CALIBRATION_FILE.read_text(encoding="utf-8")))
    return Calibration()


def save_calibration(cal: Calibration, path: Path = CALIBRATION_FILE) -> None:
    path.write_text(cal.model_dump_json(indent=2) + "\n", encoding="utf-8")
    load_calibration.cache_clear()
