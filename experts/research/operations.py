"""The three research operations, written once and run with either writer (extractive or host).

Retrieval, sentence selection and evidence ids are the same whoever writes the statements, so the
two experts differ only in the prose, and the checks judge both the same way.
"""

from __future__ import annotations

import asyncio
import re

from agentos.errors import ExpertError
from agentos.sdk import ExpertContext
from experts.research.evidence import SELF_CONTAINED_CHARS, Candidate, EvidenceBook, rank_sentences
from experts.research.models import (
    Cell,
    CompareInput,
    CompareOutput,
    Evidence,
    Finding,
    InvestigateInput,
    InvestigateOutput,
    Option,
    Risk,
    Statement,
    TracedClaim,
    TraceInput,
    TraceOutput,
)
from experts.research.report import render_comparison, render_investigation, render_trace, write_output
from experts.research.retrieval import CorpusIndex
from experts.research.sources import open_index
from experts.research.support import Support, SupportScorer
from experts.research.text import content_words, sentences
from experts.research.writers import MITIGATION_CUES, Writer, has_cue, states_risk

MIN_RELEVANCE = 0.35  # below this a sentence is not about the query (embedding cosine + overlap bonus)
NEAR_MISS = 0.9  # a flagged claim whose best passage scores this share of the threshold gets it shown
CELL_RELEVANCE = 0.45  # a matrix cell's sentence must be about the criterion itself, not only the option
INJECTION = re.compile(r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|prompts?|rules)\b|\bsystem prompt\b",
                       re.IGNORECASE)


def _top(cands: list[Candidate], n: int, floor: float = MIN_RELEVANCE) -> list[Candidate]:
    """The best `n` candidates above the relevance floor, one per sentence start."""
    out, seen = [], set()
    for c in cands:
        if c.relevance < floor or (c.doc, c.start) in seen:
            continue
        seen.add((c.doc, c.start))
        out.append(c)
        if len(out) == n:
            break
    return out


def _warnings(book: EvidenceBook) -> list[str]:
    return [f"{e.id} ({e.doc}) reads like an instruction to the reader; it was treated as quoted text only"
            for e in book.items if INJECTION.search(e.text)]


def _evidence(book: EvidenceBook, cands: list[Candidate]) -> list[Evidence]:
    return [e for c in cands if (e := book.get(book.add(c))) is not None]


async def _search(index: CorpusIndex, query: str, k: int, rank_by: str | None = None,
                  run_on: int = SELF_CONTAINED_CHARS) -> list[Candidate]:
    """Retrieve with `query`, then rank the sentences by `rank_by` (default the query itself)."""
    def work() -> list[Candidate]:
        return rank_sentences(index, rank_by or query, index.search(query, k), run_on=run_on)

    return await asyncio.to_thread(work)


def _cited(statements: list[Statement | None]) -> list[str]:
    return [c for s in statements if s for c in s.citations]


# ---- research.investigate -----------------------------------------------------------------------

async def investigate(inputs: InvestigateInput, ctx: ExpertContext, writer: Writer) -> InvestigateOutput:
    index, urls = await asyncio.to_thread(open_index, inputs, ctx)
    book = EvidenceBook(index, urls)
    questions = inputs.sub_questions or await writer.sub_questions(inputs.question)
    passages = []
    for i, q in enumerate(questions):
        ctx.raise_if_cancelled()
        ctx.progress(i / len(questions), f"searching: {q}")
        passages.append(_evidence(book, _top(await _search(index, q, inputs.k), 3)))
    ctx.progress(None, f"writing ({writer.backend})")
    answers, conclusions = await writer.investigate(inputs.question, questions, passages)
    findings = [Finding(question=q, evidence=[e.id for e in ps], answer=a)
                for q, ps, a in zip(questions, passages, answers, strict=True)]
    return write_output(ctx, InvestigateOutput, {
        "backend": writer.backend, "question": inputs.question, "findings": findings, "conclusions": conclusions,
        "evidence": book.items, "references": book.references(_cited([*answers, *conclusions])),
        "warnings": _warnings(book)}, render_investigation)


# ---- research.compare ---------------------------------------------------------------------------

def _names(text: str, option: Option) -> bool:
    """`text` uses the option's name or one of its terms as a word ("processes" is not "process")."""
    return any(re.search(rf"(?<![\w-]){re.escape(t)}(?![\w-])", text, re.IGNORECASE)
               for t in (option.name, *option.terms))


def _home(index: CorpusIndex, doc_id: str, option: Option) -> bool:
    """The document is about the option: its title or file name names it (PEP 371 for multiprocessing)."""
    doc = index.by_id[doc_id]
    return _names(f"{doc.title} {doc.id.replace('-', ' ')}", option)


def _about(index: CorpusIndex, c: Candidate, option: Option, others: list[Option]) -> int | None:
    """How surely a passage speaks of `option`: 0 when it sits in the option's own document, 1 when the
    passage or its section heading names the option elsewhere; None when it is about another option
    (PEP 703's section on multiprocessing says nothing about free threading)."""
    local = f"{c.text} {c.hit.chunk.heading.rsplit('>', 1)[-1]}"
    if _names(local, option):
        return 0 if _home(index, c.doc, option) else 1
    if any(_names(local, o) for o in others):
        return None
    return 0 if _home(index, c.doc, option) else None


def _for_option(index: CorpusIndex, cands: list[Candidate], option: Option, others: list[Option],
                n: int, floor: float) -> list[Candidate]:
    """The best `n` relevant passages about the option, its own documents' first."""
    tiers = {id(c): t for c in cands if (t := _about(index, c, option, others)) is not None}
    ranked = sorted((c for c in cands if id(c) in tiers), key=lambda c: (tiers[id(c)], -c.relevance))
    return _top(ranked, n, floor)


async def _with_mitigations(index: CorpusIndex, book: EvidenceBook, risky: list[Candidate], k: int) -> list[Evidence]:
    """Each risk passage, followed by the sentence of its document that best says how to avoid it (if any)."""
    out: list[Evidence] = []
    for c in risky:
        out += _evidence(book, [c])
        if not states_risk(c.text):
            continue
        fixes = [f for f in await _search(index, f"avoid or reduce this: {c.text}", k, run_on=0)
                 if f.doc == c.doc and f.start != c.start and has_cue(f.text, MITIGATION_CUES)]
        out += _evidence(book, _top(fixes, 1))
    return out


async def compare(inputs: CompareInput, ctx: ExpertContext, writer: Writer) -> CompareOutput:
    index, urls = await asyncio.to_thread(open_index, inputs, ctx)
    book = EvidenceBook(index, urls)
    options, criteria = inputs.option_list(), inputs.criterion_list()
    cells: dict[tuple[str, str], list[Evidence]] = {}
    risks: dict[str, list[Evidence]] = {}
    total, done = len(options) * (len(criteria) + 1), 0
    for o in options:
        others = [p for p in options if p is not o]
        used: set[tuple[str, int]] = set()
        for k in criteria:
            ctx.raise_if_cancelled()
            ctx.progress(done / total, f"{o.name} × {k.name}")
            done += 1
            cands = await _search(index, f"{o.name}: {k.query or k.name}", inputs.k * 2, rank_by=k.query or k.name)
            fresh = [c for c in cands if (c.doc, c.start) not in used]  # one passage answers one criterion
            chosen = _for_option(index, fresh, o, others, 2, CELL_RELEVANCE)
            used.update((c.doc, c.start) for c in chosen[:1])
            cells[(o.name, k.name)] = _evidence(book, chosen)
        ctx.progress(done / total, f"{o.name}: risks")
        done += 1
        cands = [c for c in await _search(index, f"{o.name}: risks, drawbacks, incompatibilities, overhead",
                                          inputs.k * 2, run_on=0) if states_risk(c.text)]
        risks[o.name] = await _with_mitigations(index, book, _for_option(index, cands, o, others, 4, MIN_RELEVANCE),
                                                inputs.k)
    ctx.progress(None, f"writing ({writer.backend})")
    statements, register = await writer.compare(inputs.topic, cells, risks)
    matrix = [Cell(option=o, criterion=k, status="cited" if st else "unknown", statement=st)
              for (o, k), st in statements.items()]
    rated_by = "host" if writer.backend.startswith("host") else "cue words"
    risk_rows = [Risk(option=r.option, risk=Statement(text=r.risk, citations=r.citations), likelihood=r.likelihood,
                      impact=r.impact, rated_by=rated_by,
                      mitigation=Statement(text=r.mitigation, citations=r.mitigation_citations)
                      if r.mitigation else None) for r in register]
    cited = _cited([c.statement for c in matrix] + [r.risk for r in risk_rows] + [r.mitigation for r in risk_rows])
    return write_output(ctx, CompareOutput, {
        "backend": writer.backend, "topic": inputs.topic, "options": [o.name for o in options],
        "criteria": [k.name for k in criteria], "matrix": matrix, "risks": risk_rows, "evidence": book.items,
        "references": book.references(cited), "warnings": _warnings(book)}, render_comparison)


# ---- research.trace -----------------------------------------------------------------------------

def claims_of(text: str) -> list[tuple[int, int]]:
    """Sentences that assert something: four content words or more, not a question or a heading."""
    return [(s, e) for s, e in sentences(text) if len(content_words(text[s:e])) >= 4
            and not text[s:e].rstrip().endswith("?") and not text[s:e].lstrip().startswith("#")]


def _best_support(claim: str, cands: list[Candidate], scorer: SupportScorer,
                  index: CorpusIndex) -> tuple[list[Candidate], Support] | None:
    """The passage, or two passages of one document read together, that best support the claim.

    A claim often joins two sentences of its source ("PEP 292 proposed X, based on Y"); judged one
    at a time, neither would carry it.
    """
    groups: list[list[Candidate]] = [[c] for c in cands]
    for i, a in enumerate(cands[:4]):
        groups += [[a, b] for b in cands[i + 1:] if b.doc == a.doc and (b.end <= a.start or b.start >= a.end)]
    if not groups:
        return None
    judged = scorer.judge([(claim, " ".join(c.text for c in g)) for g in groups],
                          [index.by_id[g[0].doc].title for g in groups])
    best = max(range(len(groups)), key=lambda i: (judged[i].supported, judged[i].score, -len(groups[i])))
    return groups[best], judged[best]


async def trace(inputs: TraceInput, ctx: ExpertContext, writer: Writer) -> TraceOutput:
    text = inputs.text
    if inputs.text_file is not None:
        try:
            text = inputs.text_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ExpertError(f"text_file {inputs.text_file}: cannot be read ({exc})") from None
    if not text.strip():
        raise ExpertError("nothing to trace: give `text` or `text_file`")
    spans = claims_of(text)
    if not spans:
        raise ExpertError("the text has no claims to trace (no sentence of four content words or more)")
    index, urls = await asyncio.to_thread(open_index, inputs, ctx)
    book = EvidenceBook(index, urls)
    scorer = SupportScorer(encoder=index.encoder)
    claims: list[TracedClaim] = []
    strength: list[float] = []
    for i, (s, e) in enumerate(spans):
        ctx.raise_if_cancelled()
        ctx.progress(i / len(spans), f"tracing claim {i + 1} of {len(spans)}")
        claim = text[s:e]
        cands = (await _search(index, claim, inputs.k * 2))[:8]  # a claim is narrow: look wider, keep the best
        found = await asyncio.to_thread(_best_support, claim, cands, scorer, index)
        if found is not None and found[1].supported:
            group, support = found
            claims.append(TracedClaim(claim=claim, start=s, end=e, sourced=True,
                                      source=Statement(text=claim, citations=[book.add(c) for c in group])))
            strength.append(support.score)
            continue
        closest: list[str] = []
        if found is None or found[1].score < NEAR_MISS * scorer.cal.threshold:
            best_score = found[1].score if found else 0.0
            note = f"no passage in the corpus supports it (best support {best_score:.3f} < {scorer.cal.threshold:.3f})"
        else:
            group, support = found
            closest = [book.add(c) for c in group]
            if support.score >= support.threshold:  # close, but the numbers disagree
                note = f"the closest passage, {closest[0]} ({group[0].doc}), does not give " + ", ".join(
                    sorted(support.missing_numbers))
            else:
                note = (f"the closest passage, {', '.join(closest)} ({group[0].doc}), scores "
                        f"{support.score:.3f}, under the {support.threshold:.3f} the support check needs; "
                        "read it to decide")
        claims.append(TracedClaim(claim=claim, start=s, end=e, sourced=False, note=note, closest=closest))
    sourced = [c.source for c in claims if c.source]
    by_strength = [st for _, st in sorted(zip(strength, sourced, strict=True), key=lambda p: -p[0])]
    ctx.progress(None, f"summarising ({writer.backend})")
    summary = await writer.summarize(by_strength, book.items) if sourced else []
    return write_output(ctx, TraceOutput, {
        "backend": writer.backend, "claims": claims, "summary": summary,
        "unsourced": sum(not c.sourced for c in claims),
        "evidence": book.items, "references": book.references(_cited([*sourced, *summary])),
        "warnings": _warnings(book)}, render_trace)
