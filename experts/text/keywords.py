"""`text.keywords`: terms that characterise a set of documents (TF-IDF)."""

from __future__ import annotations

import math
from collections import Counter

from pydantic import BaseModel, Field

from agentos import Expert, ExpertContext, ExpertError, operation
from experts.text.loader import Document
from experts.text.textutil import words


class KeywordsInput(BaseModel):
    documents: list[Document] = Field(min_length=1)
    top_k: int = Field(10, ge=1, le=100)


class Keyword(BaseModel):
    term: str
    score: float
    documents: int


class KeywordsOutput(BaseModel):
    keywords: list[Keyword]
    terms: list[str]
    documents: int = Field(description="how many documents were read")


class KeywordExpert(Expert):
    """Ranks words by summed TF-IDF; a term in every document scores low, a frequent local term high."""

    name = "tfidf-keywords"
    domain = "text"

    @operation("text.keywords", latency_s=0.02)
    def keywords(self, inputs: KeywordsInput, ctx: ExpertContext) -> KeywordsOutput:
        counts = [Counter(words(d.text)) for d in inputs.documents]
        df = Counter(w for c in counts for w in c)
        n = len(counts)
        scores: Counter[str] = Counter()
        for c in counts:
            total = sum(c.values()) or 1
            for w, k in c.items():
                scores[w] += (k / total) * (math.log((1 + n) / (1 + df[w])) + 1)
        if not scores:
            raise ExpertError("text.keywords: the documents have no words")
        top = scores.most_common(inputs.top_k)
        kws = [Keyword(term=w, score=round(s, 4), documents=df[w]) for w, s in top]
        return KeywordsOutput(keywords=kws, terms=[k.term for k in kws], documents=n)
