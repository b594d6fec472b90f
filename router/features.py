"""z for a node: its text embedding, projected down, plus a few structural features.

A fixed random projection (seeded, part of the state's identity) takes the 384-d MiniLM vector
to `text_dim` dimensions: ridge models learn from far fewer calls in 48 dimensions than in 384,
and dot products, which are what the models use, survive the projection (Johnson-Lindenstrauss).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from agentos.embeddings import TextEncoder, make_encoder
from agentos.routing import RouteQuery

STRUCTURAL = ("bias", "depth", "inputs", "text_inputs", "list_inputs", "text_length")


class FeatureConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    encoder: str = Field("auto", description="`auto` (MiniLM if installed, else hashing), `minilm` or `hashing`")
    text_dim: int = Field(48, ge=4, le=512, description="dimensions the text embedding is projected to")
    projection_seed: int = 0


class NodeFeaturizer:
    """RouteQuery -> z (unit-norm text part, then STRUCTURAL), with the embeddings of recent texts cached."""

    def __init__(self, config: FeatureConfig | None = None, encoder: TextEncoder | None = None):
        self.config = config or FeatureConfig()
        self.encoder = encoder or make_encoder(self.config.encoder)
        rng = np.random.default_rng(self.config.projection_seed)
        self.projection = rng.normal(size=(self.encoder.dim, self.config.text_dim)) / math.sqrt(self.config.text_dim)
        self.dim = self.config.text_dim + len(STRUCTURAL)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def identity(self) -> str:
        """What a saved state's models were trained on; a state with another identity is not reused."""
        c = self.config
        return f"{self.encoder.name}|proj{c.text_dim}|seed{c.projection_seed}|{','.join(STRUCTURAL)}"

    def text_vectors(self, texts: list[str]) -> np.ndarray:
        """Projected, re-normalised embeddings, (n, text_dim)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for text, row in zip(missing, self.encoder.encode(missing) @ self.projection, strict=True):
                norm = np.linalg.norm(row)
                self._cache[text] = row / norm if norm > 0 else row
                if len(self._cache) > 4096:
                    self._cache.popitem(last=False)
        return np.stack([self._cache[t] for t in texts])

    def features(self, query: RouteQuery) -> np.ndarray:
        text = query.text or query.capability
        types = list(query.input_types.values())
        n = len(types)
        structural = np.array([
            1.0,
            query.depth / (1.0 + query.depth),
            math.log1p(n) / 3.0,
            sum(t == "str" for t in types) / n if n else 0.0,
            sum(t in ("list", "dict") for t in types) / n if n else 0.0,
            math.log1p(len(text)) / 8.0,
        ])
        return np.concatenate([self.text_vectors([text])[0], structural])
