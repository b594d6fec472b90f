"""Markdown reports and the JSON beside them: what a reader opens in the run's result folder.

Statements carry numbered citations ([1], [2]) pointing at the reference list, and each cites its
passages by id (E3), listed in the evidence section with document, section and character offsets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from agentos.sdk import ExpertContext
from experts.research.models import (
    CompareOutput,
    Evidence,
    InvestigateOutput,
    ResearchOutput,
    Statement,
    TraceOutput,
)

Out = TypeVar("Out", bound=ResearchOutput)


def write_output(ctx: ExpertContext, model: type[Out], fields: dict[str, Any],
                 render: Callable[[Out], str]) -> Out:
    """The output with its report and JSON written into the node's artifact folder."""
    out = model(**fields, report=ctx.artifacts.path("report.md"), data=ctx.artifacts.path("result.json"))
    ctx.artifacts.write_text("report.md", render(out))
    ctx.artifacts.write_text("result.json", out.model_dump_json(indent=2))
    return out


def _cite(out: ResearchOutput, st: Statement) -> str:
    docs = {e.id: e.doc for e in out.evidence}
    numbers = {r.doc: r.number for r in out.references}
    refs = sorted({numbers[docs[c]] for c in st.citations if c in docs and docs[c] in numbers})
    ids = ", ".join(st.citations)
    return f"{st.text} [{', '.join(map(str, refs))}] ({ids})" if refs else st.text


def _evidence(items: list[Evidence], out: ResearchOutput) -> list[str]:
    numbers = {r.doc: r.number for r in out.references}
    lines = ["## Evidence", ""]
    for e in items:
        where = f"{e.heading}, " if e.heading else ""
        lines.append(f"- **{e.id}** [{numbers.get(e.doc, '?')}] {where}chars {e.start}–{e.end}: > {e.text}")
    return [*lines, ""]


def _tail(out: ResearchOutput) -> list[str]:
    lines = _evidence(out.evidence, out) + ["## References", ""] + [r.formatted for r in out.references] + [""]
    if out.warnings:
        lines += ["## Warnings", "", *[f"- {w}" for w in out.warnings], ""]
    lines.append(f"_Statements written by: {out.backend}._")
    return lines


def render_investigation(out: InvestigateOutput) -> str:
    lines = [f"# {out.question}", "", "## Evidence chain", ""]
    for i, f in enumerate(out.findings, 1):
        lines.append(f"{i}. **{f.question}**  ")
        lines.append(f"   evidence: {', '.join(f.evidence) or 'none found'}  ")
        lines.append(f"   → {_cite(out, f.answer) if f.answer else 'the corpus does not answer this'}")
    lines += ["", "## Conclusions", ""] + [f"- {_cite(out, c)}" for c in out.conclusions] + [""]
    return "\n".join(lines + _tail(out)) + "\n"


def render_comparison(out: CompareOutput) -> str:
    cells = {(c.option, c.criterion): c for c in out.matrix}
    lines = [f"# Comparison: {out.topic}", "", "## Matrix", "", "| criterion | " + " | ".join(out.options) + " |",
             "|---|" + "---|" * len(out.options)]
    for k in out.criteria:
        row = []
        for o in out.options:
            c = cells[(o, k)]
            row.append(_cite(out, c.statement).replace("|", "\\|") if c.statement else "*unknown*")
        lines.append(f"| {k} | " + " | ".join(row) + " |")
    lines += ["", "## Risk register", "", "| option | risk | likelihood | impact | mitigation |",
              "|---|---|---|---|---|"]
    for r in out.risks:
        fix = _cite(out, r.mitigation) if r.mitigation else "none stated in the corpus"
        lines.append(f"| {r.option} | {_cite(out, r.risk)} | {r.likelihood} | {r.impact} | {fix} |".replace("\n", " "))
    lines += ["", f"_Likelihood and impact rated by {out.risks[0].rated_by if out.risks else 'n/a'}._", ""]
    return "\n".join(lines + _tail(out)) + "\n"


def render_trace(out: TraceOutput) -> str:
    lines = ["# Source tracing", "", f"{len(out.claims) - out.unsourced} of {len(out.claims)} claims traced to a "
             f"source; {out.unsourced} flagged ({sum(bool(c.closest) for c in out.claims)} of them with a near "
             "passage to read).", "", "## Summary", ""]
    lines += [f"- {_cite(out, s)}" for s in out.summary] + ["", "## Claims", ""]
    for i, c in enumerate(out.claims, 1):
        if c.sourced and c.source:
            lines.append(f"{i}. {_cite(out, c.source)}")
        else:
            flag = "not verified" if c.closest else "unsourced"
            lines.append(f"{i}. ⚠ {c.claim} — **{flag}**: {c.note}")
    return "\n".join([*lines, "", *_tail(out)]) + "\n"
