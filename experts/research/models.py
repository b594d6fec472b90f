"""The research operations' inputs and outputs: what the host plans with and the checks judge.

Every statement an output makes (a conclusion, a matrix cell, a risk, a traced claim) names the
evidence it rests on by id; every piece of evidence names its document and the character offsets
of its text there, so a check can re-read the document and confirm the quote, and a reader can
click through to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class CorpusInput(BaseModel):
    """Where the evidence comes from: local files and folders, and URLs only where allowed."""

    corpus: list[Path] = Field(default_factory=list, description="files or folders (Markdown, text, "
                               "reStructuredText, HTML, PDF)")
    urls: list[str] = Field(default_factory=list, description="pages or PDFs to read too; each URL's host must "
                            "be in `allow_domains`")
    allow_domains: list[str] = Field(default_factory=list, description="hosts URLs may come from (a subdomain "
                                     "counts); empty: local files only, the default")
    k: int = Field(5, ge=1, le=50, description="passages retrieved per query")


class Evidence(BaseModel):
    id: str = Field(description="E1, E2, ... : what statements cite")
    doc: str = Field(description="the document's id (its path inside the corpus)")
    title: str
    path: str = Field(description="the file read (a fetched URL's saved copy)")
    url: str | None = None
    start: int = Field(ge=0, description="character offset of `text` in the document's text")
    end: int = Field(ge=0)
    heading: str = ""
    page: int | None = None
    text: str = Field(description="the document's text between start and end, verbatim")
    score: float = Field(0.0, description="retrieval score (reciprocal rank fusion)")


class Statement(BaseModel):
    """A sentence the report asserts, with the evidence it cites."""

    text: str
    citations: list[str] = Field(default_factory=list, description="evidence ids")


class Finding(BaseModel):
    question: str
    evidence: list[str] = Field(default_factory=list, description="ids of the passages retrieved for it")
    answer: Statement | None = Field(None, description="None when the corpus holds nothing on it")


class DocumentRef(BaseModel):
    """One entry of a reference list."""

    number: int
    doc: str
    title: str
    path: str
    url: str | None = None
    authors: str = ""
    date: str = ""
    status: str = ""
    formatted: str = ""


class ResearchOutput(BaseModel):
    backend: str = Field(description="who wrote the statements: `extractive` (sentences quoted from the evidence) "
                         "or `host:<model>`")
    evidence: list[Evidence] = Field(default_factory=list)
    references: list[DocumentRef] = Field(default_factory=list)
    report: Path = Field(description="the Markdown report")
    data: Path = Field(description="this output as JSON, beside the report")
    warnings: list[str] = Field(default_factory=list)

    def statements(self) -> list[tuple[str, Statement]]:
        """(where, statement) for every statement that must cite evidence: what the checks read."""
        return []


# ---- research.investigate -----------------------------------------------------------------------

class InvestigateInput(CorpusInput):
    question: str = Field(min_length=3)
    sub_questions: list[str] = Field(default_factory=list, description="the steps to research; derived from the "
                                     "question when empty")


class InvestigateOutput(ResearchOutput):
    question: str
    findings: list[Finding]
    conclusions: list[Statement]

    def statements(self) -> list[tuple[str, Statement]]:
        out = [(f"findings[{i}].answer", f.answer) for i, f in enumerate(self.findings) if f.answer]
        return out + [(f"conclusions[{i}]", c) for i, c in enumerate(self.conclusions)]


# ---- research.compare -----------------------------------------------------------------------------

class Option(BaseModel):
    name: str = Field(min_length=1)
    terms: list[str] = Field(default_factory=list, description="other names a document may use for it")


class Criterion(BaseModel):
    name: str = Field(min_length=1)
    query: str = Field("", description="what to search for; the name when empty")


class CompareInput(CorpusInput):
    topic: str = Field(min_length=3, description="what the options are routes to")
    options: list[Option | str] = Field(min_length=2)
    criteria: list[Criterion | str] = Field(min_length=1)

    def option_list(self) -> list[Option]:
        return [o if isinstance(o, Option) else Option(name=o) for o in self.options]

    def criterion_list(self) -> list[Criterion]:
        return [c if isinstance(c, Criterion) else Criterion(name=c) for c in self.criteria]


class Cell(BaseModel):
    option: str
    criterion: str
    status: Literal["cited", "unknown"]
    statement: Statement | None = Field(None, description="what the corpus says; None when unknown")


Level = Literal["low", "medium", "high"]


class Risk(BaseModel):
    option: str
    risk: Statement
    likelihood: Level
    impact: Level
    mitigation: Statement | None = Field(None, description="None when the corpus names none")
    rated_by: str = Field(description="how likelihood and impact were judged: `cue words` or `host`")


class CompareOutput(ResearchOutput):
    topic: str
    options: list[str]
    criteria: list[str]
    matrix: list[Cell]
    risks: list[Risk]

    def statements(self) -> list[tuple[str, Statement]]:
        out = [(f"matrix[{c.option} × {c.criterion}]", c.statement) for c in self.matrix if c.statement]
        for i, r in enumerate(self.risks):
            out.append((f"risks[{i}].risk", r.risk))
            if r.mitigation:
                out.append((f"risks[{i}].mitigation", r.mitigation))
        return out


# ---- research.trace -------------------------------------------------------------------------------

class TraceInput(CorpusInput):
    text: str = Field("", description="the material whose claims to trace")
    text_file: Path | None = Field(None, description="or a file holding it")


class TracedClaim(BaseModel):
    claim: str
    start: int = Field(description="offset of the claim in the traced text")
    end: int
    sourced: bool
    source: Statement | None = Field(None, description="the claim with the passages that support it")
    note: str = Field("", description="why a claim is flagged: nothing found, or evidence that disagrees")
    closest: list[str] = Field(default_factory=list, description="a flagged claim's nearest passages (evidence ids), "
                               "for a reader to check by hand; they did not pass the support check")


class TraceOutput(ResearchOutput):
    claims: list[TracedClaim]
    summary: list[Statement]
    unsourced: int

    def statements(self) -> list[tuple[str, Statement]]:
        out = [(f"claims[{i}]", c.source) for i, c in enumerate(self.claims) if c.source]
        return out + [(f"summary[{i}]", s) for i, s in enumerate(self.summary)]
