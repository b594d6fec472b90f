"""Research retrieval and citation checks, measured on questions written by reading the corpora.

    python benchmarks/research.py              # the table; writes benchmarks/results/research.json
    python benchmarks/research.py --calibrate  # refit the support check on the fitting half first

Retrieval: every question in benchmarks/data/research/questions-*.jsonl has answer passages, each
an exact quote of its document; a chunk is relevant when it holds at least half of a quote. BM25
alone, MiniLM alone and their reciprocal rank fusion (what the experts use) search the union of
the three showcase corpora (17 PEPs, one index), side by side: recall@5, hit@5, MRR, nDCG@10, per kind of
question too (lexical: the question shares the document's words; paraphrase: it does not). The
ablation rows split the dense side (the mean of a chunk's whole-text and best-window cosines) into
its two halves; that mean was chosen among these variants on these same questions.

Citation checks: the labelled (claim, span, supports?) pairs in support-*.jsonl are split in two by
a hash of their id. `--calibrate` fits the support check's weights and threshold on one half; the
table reports precision and recall on the other half, which the fit never saw.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from bench_util import machine, package_version
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from experts.research.retrieval import CorpusIndex, rrf  # noqa: E402
from experts.research.support import SupportScorer, fit, load_calibration, save_calibration  # noqa: E402
from experts.research.text import missing_numbers  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "research"
CORPUS = ROOT / "showcases" / "research" / "corpus"
OUT = ROOT / "benchmarks" / "results" / "research.json"
DEPTH = 50
TITLES: dict[str, str] = {}  # document file name -> title, filled once the corpus is read


def read_jsonl(pattern: str) -> list[dict]:
    rows = []
    for f in sorted(DATA.glob(pattern)):
        rows += [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def locate(text: str, quote: str) -> tuple[int, int] | None:
    """The quote's span in `text`, both compared with white space collapsed."""
    chars, where, space = [], [], False
    for i, ch in enumerate(text):
        if ch.isspace():
            if space:
                continue
            ch, space = " ", True
        else:
            space = False
        chars.append(ch)
        where.append(i)
    norm = "".join(chars)
    q = re.sub(r"\s+", " ", quote).strip()
    k = norm.find(q)
    if k < 0:
        k = norm.casefold().find(q.casefold())
    return None if k < 0 else (where[k], where[k + len(q) - 1] + 1)


def relevant_chunks(index: CorpusIndex, questions: list[dict]) -> tuple[list[set[int]], list[str]]:
    by_doc: dict[str, list[int]] = {}
    for i, c in enumerate(index.chunks):
        by_doc.setdefault(c.doc, []).append(i)
    out, missing = [], []
    for q in questions:
        rel: set[int] = set()
        for a in q["answers"]:
            doc_id = a["doc"]
            span = locate(index.by_id[doc_id].text, a["quote"])
            if span is None:
                missing.append(f"{q['id']}: {a['quote'][:60]}")
                continue
            s, e = span
            for i in by_doc[doc_id]:
                c = index.chunks[i]
                if min(e, c.end) - max(s, c.start) >= (e - s) / 2:
                    rel.add(i)
        out.append(rel)
    return out, missing


def metrics(ranking: list[int], rel: set[int]) -> dict[str, float]:
    first = next((r for r, i in enumerate(ranking, 1) if i in rel), None)
    dcg = sum(1 / math.log2(r + 1) for r, i in enumerate(ranking[:10], 1) if i in rel)
    ideal = sum(1 / math.log2(r + 1) for r in range(1, min(len(rel), 10) + 1))
    return {"recall@5": len(rel & set(ranking[:5])) / len(rel), "hit@5": float(first is not None and first <= 5),
            "mrr": 1 / first if first else 0.0, "ndcg@10": dcg / ideal if ideal else 0.0}


def retrieval(index: CorpusIndex, questions: list[dict], rels: list[set[int]]) -> dict:
    def dense_part(q: str, part: str) -> list[int]:
        """Ablations of the dense side: the whole chunk's cosine alone, or its best window's alone."""
        v = index.encoder.encode([q])[0]
        score = index.dense @ v if part == "whole" else index.best_window(v)
        return [int(i) for i in np.argsort(-score, kind="stable")[:DEPTH]]

    methods = {
        "bm25": lambda q: index.bm25_ranking(q, DEPTH),
        "dense": lambda q: index.dense_ranking(q, DEPTH),
        "hybrid (RRF)": lambda q: rrf([index.bm25_ranking(q, DEPTH), index.dense_ranking(q, DEPTH)]),
        "ablation: dense, whole chunk": lambda q: dense_part(q, "whole"),
        "ablation: dense, best window": lambda q: dense_part(q, "window"),
        "ablation: hybrid, whole chunk": lambda q: rrf([index.bm25_ranking(q, DEPTH), dense_part(q, "whole")]),
        "ablation: hybrid, best window": lambda q: rrf([index.bm25_ranking(q, DEPTH), dense_part(q, "window")]),
    }
    results = {}
    for name, rank in methods.items():
        rows, lat = [], []
        for q, rel in zip(questions, rels, strict=True):
            t0 = time.perf_counter()
            ranking = rank(q["question"])
            lat.append(time.perf_counter() - t0)
            rows.append({"id": q["id"], "kind": q["kind"], **metrics(ranking, rel)})
        summary = {m: statistics.mean(r[m] for r in rows) for m in ("recall@5", "hit@5", "mrr", "ndcg@10")}
        for kind in ("lexical", "paraphrase"):
            summary[f"recall@5 {kind}"] = statistics.mean(r["recall@5"] for r in rows if r["kind"] == kind)
        summary["latency_p50_ms"] = 1000 * statistics.median(lat)
        summary["latency_p95_ms"] = 1000 * float(np.percentile(lat, 95))
        results[name] = {"summary": summary, "per_question": rows}
    return results


def half(row: dict) -> str:
    return "fit" if hashlib.sha256(row["id"].encode()).digest()[0] % 2 == 0 else "held_out"


def citation_checks(calibrate: bool) -> dict:
    pairs = read_jsonl("support-*.jsonl")
    scorer = SupportScorer()
    titles = [TITLES.get(p["doc"], "") for p in pairs]
    feats = scorer.features([(p["claim"], p["quote"]) for p in pairs], titles)
    labels = np.array([bool(p["supports"]) for p in pairs])
    fit_mask = np.array([half(p) == "fit" for p in pairs])
    if calibrate:
        save_calibration(fit(feats[fit_mask], labels[fit_mask]))
    cal = load_calibration()
    scorer = SupportScorer(cal, scorer.encoder)
    judged = scorer.judge([(p["claim"], p["quote"]) for p in pairs], titles)
    support_ok = np.array([j.score >= j.threshold for j in judged])
    numbers_ok = np.array([not missing_numbers(p["claim"], f"{t}\n{p['quote']}")
                           for p, t in zip(pairs, titles, strict=True)])
    out: dict = {"calibration": cal.model_dump(), "pairs": len(pairs)}
    for split, mask in (("held_out", ~fit_mask), ("fit", fit_mask)):
        res = {}
        for name, accepted in (("support", support_ok), ("numbers", numbers_ok),
                               ("support + numbers (the checks)", support_ok & numbers_ok)):
            a, y = accepted[mask], labels[mask]
            tp = int(np.sum(a & y))
            res[name] = {"precision": tp / max(1, int(np.sum(a))), "recall": tp / max(1, int(np.sum(y))),
                         "accepted": int(np.sum(a)), "n": int(mask.sum())}
        both = support_ok & numbers_ok
        kinds = sorted({p["kind"] for p in pairs if not p["supports"]})
        res["false pairs accepted, by kind"] = {
            k: f"{sum(1 for p, b, m in zip(pairs, both, mask, strict=True) if m and p['kind'] == k and b)}/"
               f"{sum(1 for p, m in zip(pairs, mask, strict=True) if m and p['kind'] == k)}" for k in kinds}
        out[split] = res
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calibrate", action="store_true", help="refit the support check on the fitting half")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    console = Console(width=150)
    questions = read_jsonl("questions-*.jsonl")
    t0 = time.perf_counter()
    index = CorpusIndex.build(sorted(p for p in CORPUS.iterdir() if p.is_dir()), None, progress=True)
    build_s = time.perf_counter() - t0
    TITLES.update({d.id: d.title for d in index.docs})
    rels, missing = relevant_chunks(index, questions)
    if missing:
        console.print(f"[yellow]{len(missing)} answer quote(s) not found in the extracted text:[/] {missing[:5]}")
    keep = [i for i, r in enumerate(rels) if r]
    questions, rels = [questions[i] for i in keep], [rels[i] for i in keep]
    ret = retrieval(index, questions, rels)
    checks = citation_checks(args.calibrate)

    t = Table(title=f"Retrieval: {len(questions)} questions over {len(index.docs)} documents "
                    f"({len(index.chunks)} chunks)")
    cols = ["recall@5", "recall@5 lexical", "recall@5 paraphrase", "hit@5", "mrr", "ndcg@10", "latency_p50_ms"]
    t.add_column("method")
    for c in cols:
        t.add_column(c, justify="right")
    for name, r in ret.items():
        t.add_row(name, *[f"{r['summary'][c]:.3f}" if "latency" not in c else f"{r['summary'][c]:.1f}" for c in cols])
    console.print(t)
    ct = Table(title=f"Citation checks on the held-out half ({checks['held_out']['support']['n']} of "
                     f"{checks['pairs']} labelled pairs)")
    for c in ("check", "precision", "recall", "accepted"):
        ct.add_column(c, justify="right" if c != "check" else "left")
    for name in ("support", "numbers", "support + numbers (the checks)"):
        r = checks["held_out"][name]
        ct.add_row(name, f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['accepted']}/{r['n']}")
    console.print(ct)
    console.print("false pairs the checks accept, by kind (held out): "
                  f"{checks['held_out']['false pairs accepted, by kind']}")
    console.print(f"index build (cold, no cache): {build_s:.1f} s for {len(index.chunks)} chunks; "
                  f"calibration: {checks['calibration']}")
    gain = ret["hybrid (RRF)"]["summary"]["recall@5"] - ret["bm25"]["summary"]["recall@5"]
    report = {"machine": machine(), "bm25s": package_version("bm25s"), "questions": len(questions),
              "unlocated_quotes": missing, "documents": len(index.docs), "chunks": len(index.chunks),
              "index_build_s": build_s, "retrieval": ret, "citation_checks": checks,
              "goals": {"hybrid_minus_bm25_recall@5": gain, "met_recall": gain >= 0.10,
                        "checks_precision_held_out": checks["held_out"]["support + numbers (the checks)"]["precision"],
                        "met_precision": checks["held_out"]["support + numbers (the checks)"]["precision"] >= 0.9}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    console.print(f"hybrid − BM25 recall@5: {gain:+.3f}; wrote {args.out}")


if __name__ == "__main__":
    main()
