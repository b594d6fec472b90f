"""The research operations' consistency checks, run by the runtime on every output they return.

Each judges one property of every statement the output makes and scores the share that holds; a
single failure fails the verdict, so the runtime retries on the next candidate (the extractive
expert after a host whose synthesis strayed from its evidence) or replans. The checks re-read the
documents themselves: they trust nothing the expert says about its evidence.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from agentos.checks import NodeOutcome, OutputCheck
from experts.research.documents import KINDS, Document, read_document
from experts.research.models import CompareOutput, Evidence, ResearchOutput, Statement, TraceOutput
from experts.research.support import SupportScorer


class _ResearchCheck(OutputCheck):
    kind = ResearchOutput


def _cited(out: ResearchOutput, st: Statement) -> list[Evidence]:
    by_id = {e.id: e for e in out.evidence}
    return [by_id[c] for c in st.citations if c in by_id]


class StatementsCite(_ResearchCheck):
    """Every statement cites at least one passage, and every id it cites is in the evidence list."""

    name = "research.cites"
    what = "statement(s) cite evidence"

    def inspect(self, out: Any, outcome: NodeOutcome) -> tuple[int, list[str]]:
        known = {e.id for e in out.evidence}
        problems = []
        statements = out.statements()
        for where, st in statements:
            if not st.citations:
                problems.append(f"{where} cites nothing")
            elif unknown := [c for c in st.citations if c not in known]:
                problems.append(f"{where} cites {', '.join(unknown)}, which is not in the evidence")
        return len(statements), problems


@lru_cache(maxsize=64)
def _document(path: str, mtime_ns: int, size: int) -> Document:
    return read_document(Path(path), Path(path).name)


def reread(path: str) -> Document | None:
    p = Path(path)
    if not p.is_file() or p.suffix.lower() not in KINDS:
        return None
    st = p.stat()
    return _document(str(p.resolve()), st.st_mtime_ns, st.st_size)


class EvidenceAtOffsets(_ResearchCheck):
    """Every passage is its document's text at the stated offsets (the document re-read from disk)."""

    name = "research.offsets"
    what = "passage(s) found at their offsets"

    def inspect(self, out: Any, outcome: NodeOutcome) -> tuple[int, list[str]]:
        problems = []
        for e in out.evidence:
            doc = reread(e.path)
            if doc is None:
                problems.append(f"{e.id}: {e.path} cannot be read")
            elif doc.text[e.start:e.end] != e.text:
                problems.append(f"{e.id}: {e.doc}[{e.start}:{e.end}] does not hold the quoted text")
        return len(out.evidence), problems


class SpansSupportClaims(_ResearchCheck):
    """Each statement is supported by what it cites (calibrated overlap + embedding similarity)."""

    name = "research.support"
    what = "statement(s) supported by their citations"

    def __init__(self, scorer: SupportScorer | None = None):
        self._scorer = scorer

    @property
    def scorer(self) -> SupportScorer:
        if self._scorer is None:
            self._scorer = SupportScorer()
        return self._scorer

    def inspect(self, out: Any, outcome: NodeOutcome) -> tuple[int, list[str]]:
        items = [(where, st, cited) for where, st in out.statements() if (cited := _cited(out, st))]
        judged = self.scorer.judge([(st.text, " ".join(e.text for e in cited)) for _, st, cited in items],
                                   [" ".join(dict.fromkeys(e.title for e in cited)) for _, _, cited in items])
        problems = [f"{where}: support {s.score:.2f} < {s.threshold:.2f} for “{_short(st.text)}”"
                    for (where, st, _), s in zip(items, judged, strict=True) if s.score < s.threshold]
        return len(items), problems


class NumbersInEvidence(_ResearchCheck):
    """Every number, version, percentage and date a statement gives appears in what it cites."""

    name = "research.numbers"
    what = "statement(s) with their numbers in evidence"

    def inspect(self, out: Any, outcome: NodeOutcome) -> tuple[int, list[str]]:
        from experts.research.text import missing_numbers

        problems, total = [], 0
        for where, st in out.statements():
            cited = _cited(out, st)
            if not cited:
                continue
            total += 1
            if missing := missing_numbers(st.text, " ".join(f"{e.title}: {e.text}" for e in cited)):
                problems.append(f"{where}: {', '.join(sorted(missing))} not in its evidence")
        return total, problems


class MatrixComplete(_ResearchCheck):
    """Every option × criterion cell is there once, cited, or marked unknown with no statement."""

    name = "research.matrix"
    what = "cell(s) cited or unknown"
    kind = CompareOutput

    def inspect(self, out: Any, outcome: NodeOutcome) -> tuple[int, list[str]]:
        cells = {(c.option, c.criterion): c for c in out.matrix}
        problems = [f"{len(out.matrix) - len(cells)} cell(s) appear twice"] if len(cells) < len(out.matrix) else []
        for o in out.options:
            for k in out.criteria:
                c = cells.get((o, k))
                if c is None:
                    problems.append(f"no cell for {o} × {k}")
                elif c.status == "cited" and not (c.statement and c.statement.citations):
                    problems.append(f"{o} × {k} is marked cited but cites nothing")
                elif c.status == "unknown" and c.statement is not None:
                    problems.append(f"{o} × {k} is marked unknown but makes a statement")
        total = len(out.options) * len(out.criteria)
        return total, problems


class ClaimsAccounted(_ResearchCheck):
    """Every traced claim has a source, or is flagged with the reason; the unsourced count adds up."""

    name = "research.claims"
    what = "claim(s) sourced or flagged"
    kind = TraceOutput

    def inspect(self, out: Any, outcome: NodeOutcome) -> tuple[int, list[str]]:
        problems = []
        for i, c in enumerate(out.claims):
            if c.sourced and not (c.source and c.source.citations):
                problems.append(f"claims[{i}] is marked sourced but cites nothing")
            if not c.sourced and not c.note:
                problems.append(f"claims[{i}] is flagged without a reason")
        if (n := sum(not c.sourced for c in out.claims)) != out.unsourced:
            problems.append(f"unsourced says {out.unsourced}, but {n} claim(s) are flagged")
        return len(out.claims), problems


def _short(text: str, n: int = 70) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


COMMON = [StatementsCite(), EvidenceAtOffsets(), SpansSupportClaims(), NumbersInEvidence()]
INVESTIGATE_CHECKS = COMMON
COMPARE_CHECKS = [*COMMON, MatrixComplete()]
TRACE_CHECKS = [*COMMON, ClaimsAccounted()]
