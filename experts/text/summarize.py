"""`text.summarize`: two extractive backends the router can choose between."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, Field

from agentos import Expert, ExpertContext, ExpertError, operation
from experts.text.textutil import sentences, words


class SummarizeInput(BaseModel):
    text: str = Field(description="prose to summarise")
    max_sentences: int = Field(3, ge=1, le=50)


class SummarizeOutput(BaseModel):
    summary: str
    sentences: list[str]
    method: str


def _need_sentences(text: str) -> list[str]:
    sents = sentences(text)
    if not sents:
        raise ExpertError("text.summarize: the text has no sentences")
    return sents


class FrequencySummarizer(Expert):
    """Scores sentences by the document frequency of their content words (Luhn-style), keeps order."""

    name = "frequency-summarizer"
    domain = "text"

    @operation("text.summarize", latency_s=0.02)
    def summarize(self, inputs: SummarizeInput, ctx: ExpertContext) -> SummarizeOutput:
        sents = _need_sentences(inputs.text)
        freq = Counter(words(inputs.text))
        top = max(freq.values(), default=1)

        def score(s: str) -> float:
            ws = words(s)
            return sum(freq[w] / top for w in ws) / (len(ws) ** 0.5) if ws else 0.0

        ranked = sorted(range(len(sents)), key=lambda i: -score(sents[i]))[: inputs.max_sentences]
        picked = [sents[i] for i in sorted(ranked)]
        return SummarizeOutput(summary=" ".join(picked), sentences=picked, method="word-frequency (Luhn)")


class LeadSummarizer(Expert):
    """Keeps the first sentences: a classic, strong baseline for news-like text."""

    name = "lead-summarizer"
    domain = "text"

    @operation("text.summarize", latency_s=0.02)
    def summarize(self, inputs: SummarizeInput, ctx: ExpertContext) -> SummarizeOutput:
        picked = _need_sentences(inputs.text)[: inputs.max_sentences]
        return SummarizeOutput(summary=" ".join(picked), sentences=picked, method="lead-n")
