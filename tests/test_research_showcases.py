"""The deep-research showcases run end to end, offline, and their results say what the issue asks for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import agentos
from experts.research.models import CompareOutput, InvestigateOutput, TraceOutput

ROOT = Path(__file__).resolve().parents[1]
SHOWCASES = ROOT / "showcases" / "research"
pytestmark = pytest.mark.slow


def test_research_a_from_the_command_line_writes_a_report_with_its_evidence_chain(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "agentos", "run", str(SHOWCASES / "research-a.yaml"), "-o",
                           str(tmp_path), "--json"], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "AGENTOS_HOST_MODEL_DIR": "none"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    result = json.loads((run_dir / "result.json").read_text())
    node = result["nodes"]["investigate"]
    assert result["status"] == "succeeded" and node["expert"] == "research-extractive"
    out = InvestigateOutput.model_validate(node["output"])
    assert len(out.findings) == 4 and all(f.answer for f in out.findings)
    assert {e.doc for e in out.evidence} >= {"pep-0563.rst", "pep-0649.rst"}
    report = (run_dir / "artifacts" / "investigate" / "report.md").read_text()
    for section in ("## Evidence chain", "## Conclusions", "## Evidence", "## References"):
        assert section in report
    assert "https://peps.python.org/pep-0649/" in report
    assert all(v["passed"] for v in node["verdicts"])


def test_research_b_compares_the_three_routes_with_a_cited_matrix_and_a_risk_register(tmp_path):
    r = agentos.run(SHOWCASES / "research-b.yaml", output=tmp_path)
    assert r.ok, [n.error for n in r.nodes.values()]
    out = CompareOutput.model_validate(r.output("compare"))
    assert out.options == ["multiprocessing", "multiple interpreters", "free threading"]
    assert len(out.matrix) == 12 and sum(c.status == "cited" for c in out.matrix) >= 8
    assert {r.option for r in out.risks} >= {"multiple interpreters", "free threading"}
    assert all(r.risk.citations for r in out.risks)
    assert "pep-0703.rst" in {e.doc for e in out.evidence}
    assert all(v.passed for v in r.nodes["compare"].verdicts)


def test_research_c_traces_the_article_and_flags_the_wrong_and_unsupported_claims(tmp_path):
    r = agentos.run(SHOWCASES / "research-c.yaml", output=tmp_path)
    assert r.ok, [n.error for n in r.nodes.values()]
    out = TraceOutput.model_validate(r.output("trace"))
    by_claim = {c.claim: c for c in out.claims}
    wrong = ["F-strings were first added in Python 3.5.",  # 3.6
             "PEP 292 was created in 1999, long before the other proposals.",  # 2002
             "Most Python style guides now forbid the percent operator in new code."]  # not in the corpus
    for claim in wrong:  # flagged, and with no passage offered as nearly supporting it
        assert not by_claim[claim].sourced and not by_claim[claim].closest, by_claim[claim]
    true = [c.claim for c in out.claims if c.claim not in wrong and ("PEP" in c.claim or "-string" in c.claim)]
    assert len(true) == 7
    for claim in true:  # each true, specific claim is sourced or shown beside the passage that nearly supports it
        assert by_claim[claim].sourced or by_claim[claim].closest, by_claim[claim]
    assert sum(c.sourced for c in out.claims) >= 3 and out.summary and out.references
    assert all(v.passed for v in r.nodes["trace"].verdicts)
