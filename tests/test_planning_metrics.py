"""Plan metrics: decisions, capability and edge F1, exact graph match, argument accuracy, breakdowns."""

from __future__ import annotations

from typing import Any

import pytest

from agentos.planning.metrics import PlanScore, aggregate, score_plan


def _node(node_id: str, capability: str, after: list[str] | None = None, **inputs: Any) -> dict[str, Any]:
    node: dict[str, Any] = {"id": node_id, "capability": capability, "inputs": inputs}
    if after:
        node["after"] = after
    return node


DIGEST = {"nodes": [
    _node("load", "text.load", path="notes/"),
    _node("summary", "text.summarize", text="${load.text}"),
    _node("keywords", "text.keywords", documents="${load.documents}", top_k=5),
    _node("report", "text.report", title="Digest", sections=[{"heading": "Summary", "body": "${summary.summary}"},
                                                             {"heading": "Terms", "body": "${keywords.terms}"}]),
]}

TWO_LOADS = {"nodes": [
    _node("load_a", "text.load", path="reports/"),
    _node("load_b", "text.load", path="wiki/"),
    _node("summary_a", "text.summarize", text="${load_a.text}"),
    _node("summary_b", "text.summarize", text="${load_b.text}"),
]}


def test_identical_plans_score_perfectly() -> None:
    score = score_plan(DIGEST, DIGEST)
    assert (score.node_tp, score.node_fp, score.node_fn) == (4, 0, 0)
    assert (score.edge_tp, score.edge_fp, score.edge_fn) == (4, 0, 0)
    assert score.exact and score.arg_hits == score.arg_total == 6


def test_node_f1_compares_capabilities_as_multisets() -> None:
    predicted = {"nodes": [_node("a", "text.load", path="notes/"), _node("b", "text.summarize", text="${a.text}"),
                           _node("c", "text.summarize", text="${a.text}")]}
    score = score_plan(DIGEST, predicted)
    # expected {load, summarize, keywords, report}, predicted {load, summarize, summarize}
    assert (score.node_tp, score.node_fp, score.node_fn) == (2, 1, 2)
    metrics = aggregate([score])
    assert metrics.node_precision == pytest.approx(2 / 3)
    assert metrics.node_recall == pytest.approx(2 / 4)
    assert metrics.node_f1 == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))


def test_edge_f1_compares_source_and_target_capabilities() -> None:
    chain = {"nodes": [
        _node("load", "text.load", path="notes/"),
        _node("summary", "text.summarize", text="${load.text}"),
        _node("keywords", "text.keywords", documents="${summary.summary}"),
        _node("report", "text.report", title="Digest", sections="${keywords.terms}"),
    ]}
    score = score_plan(DIGEST, chain)
    # expected load->summarize, load->keywords, summarize->report, keywords->report;
    # predicted load->summarize, summarize->keywords, keywords->report
    assert (score.edge_tp, score.edge_fp, score.edge_fn) == (2, 1, 2)
    assert aggregate([score]).edge_f1 == pytest.approx(4 / 7)
    assert score.node_fn == 0 and not score.exact


def test_after_lists_make_edges_like_references() -> None:
    expected = {"nodes": [_node("a", "web.fetch", url="http://x"), _node("b", "code.run", script="s.py")]}
    ordered = {"nodes": [_node("a", "web.fetch", url="http://x"), _node("b", "code.run", after=["a"], script="s.py")]}
    score = score_plan(expected, ordered)
    assert (score.edge_tp, score.edge_fp, score.edge_fn) == (0, 1, 0)
    assert not score.exact


def test_f1_is_micro_averaged_over_examples() -> None:
    one = {"nodes": [_node("a", "image.generate", prompt="a fox")]}
    three = {"nodes": [_node("t", "voice.transcribe", audio="m.wav"),
                       _node("s", "voice.summarize", segments="${t.segments}"),
                       _node("x", "translate.text", text="${s.summary}", target_language="French")]}
    wrong = {"nodes": [_node("a", "gui.do", url="http://x", goal="go")]}
    metrics = aggregate([score_plan(one, one), score_plan(three, wrong)])
    # tp 1, fp 1, fn 3 in total: 2/(2+1+3); a per-example average would give (1 + 0) / 2
    assert metrics.node_f1 == pytest.approx(2 / 6)


def test_plans_without_edges_add_nothing_to_edge_f1() -> None:
    lone = {"nodes": [_node("a", "image.generate", prompt="a fox")]}
    metrics = aggregate([score_plan(lone, lone), score_plan(DIGEST, DIGEST)])
    assert metrics.edge_f1 == 1.0
    assert aggregate([score_plan(lone, lone)]).edge_f1 is None


def test_exact_match_ignores_ids_and_node_order() -> None:
    renamed = {"nodes": [
        _node("write", "text.report", title="Digest", sections=[{"heading": "Summary", "body": "${gist.summary}"},
                                                                {"heading": "Terms", "body": "${terms.terms}"}]),
        _node("terms", "text.keywords", documents="${read.documents}", top_k=5),
        _node("gist", "text.summarize", text="${read.text}"),
        _node("read", "text.load", path="notes/"),
    ]}
    score = score_plan(DIGEST, renamed)
    assert score.exact
    assert score.arg_hits == score.arg_total == 6


def test_exact_match_tells_apart_which_node_a_reference_points_at() -> None:
    crossed = {"nodes": [
        _node("load_a", "text.load", path="reports/"),
        _node("load_b", "text.load", path="wiki/"),
        _node("summary_a", "text.summarize", text="${load_b.text}"),
        _node("summary_b", "text.summarize", text="${load_a.text}"),
    ]}
    swapped_paths = {"nodes": [
        _node("load_a", "text.load", path="wiki/"),
        _node("load_b", "text.load", path="reports/"),
        _node("summary_a", "text.summarize", text="${load_b.text}"),
        _node("summary_b", "text.summarize", text="${load_a.text}"),
    ]}
    assert score_plan(TWO_LOADS, swapped_paths).exact  # the same two computations, listed differently
    assert score_plan(TWO_LOADS, crossed).exact  # each summary still reads one of the two folders
    one_folder_twice = {"nodes": [*TWO_LOADS["nodes"][:3], _node("summary_b", "text.summarize", text="${load_a.text}")]}
    assert not score_plan(TWO_LOADS, one_folder_twice).exact


def test_a_changed_argument_breaks_exact_match_but_not_f1() -> None:
    changed = {"nodes": [*DIGEST["nodes"][:2], _node("keywords", "text.keywords", documents="${load.documents}",
                                                      top_k="5"), DIGEST["nodes"][3]]}
    score = score_plan(DIGEST, changed)
    assert not score.exact
    assert (score.node_fp, score.node_fn, score.edge_fp, score.edge_fn) == (0, 0, 0, 0)
    assert (score.arg_hits, score.arg_total) == (5, 6)


def test_argument_accuracy_pairs_nodes_by_capability_in_order() -> None:
    expected = {"nodes": [_node("load", "text.load", path="notes/"),
                          _node("summary", "text.summarize", text="${load.text}", max_sentences=3)]}
    predicted = {"nodes": [_node("s", "text.summarize", text="${l.text}", max_sentences=5),
                           _node("l", "text.load", path="notes/")]}
    score = score_plan(expected, predicted)
    assert (score.arg_hits, score.arg_total) == (2, 3)  # path and text right, max_sentences wrong
    assert aggregate([score]).argument_accuracy == pytest.approx(2 / 3)


def test_an_unparsable_reply_counts_only_misses() -> None:
    score = score_plan(DIGEST, None)
    assert score.predicted is None and not score.parsed and not score.correct_decision
    assert (score.node_tp, score.node_fp, score.node_fn) == (0, 0, 4)
    assert (score.edge_tp, score.edge_fp, score.edge_fn) == (0, 0, 4)
    assert (score.arg_hits, score.arg_total) == (0, 6)
    assert not score.exact


def test_json_of_another_shape_is_not_a_parse() -> None:
    assert score_plan(DIGEST, {"plan": DIGEST["nodes"]}).predicted is None
    assert score_plan(DIGEST, {"nodes": ["load", "summary"]}).predicted is None


def test_a_refusal_in_place_of_a_plan_is_a_wrong_decision_with_only_false_negatives() -> None:
    score = score_plan(DIGEST, {"refuse": "cannot"})
    assert score.predicted == "refuse" and score.parsed and not score.correct_decision
    assert (score.node_fp, score.node_fn) == (0, 4)
    assert not score.exact


def test_a_plan_in_place_of_a_refusal_is_wrong_but_adds_no_node_counts() -> None:
    score = score_plan({"refuse": "no capability"}, DIGEST)
    assert score.expected == "refuse" and score.predicted == "plan"
    assert not score.exact and not score.correct_decision
    assert (score.node_tp, score.node_fp, score.node_fn, score.arg_total) == (0, 0, 0, 0)
    assert aggregate([score]).node_f1 is None


def test_refusals_and_questions_match_exactly_whatever_their_wording() -> None:
    assert score_plan({"refuse": "no capability"}, {"refuse": "I cannot do that"}).exact
    assert score_plan({"clarify": "which file?"}, {"clarify": "add the recording please"}).exact
    assert not score_plan({"clarify": "which file?"}, {"refuse": "no"}).exact


def test_an_expected_answer_of_no_known_shape_is_an_error() -> None:
    with pytest.raises(ValueError, match="not a plan, refusal or question"):
        score_plan({"answer": 1}, DIGEST)


def test_aggregate_reports_rates_over_all_examples() -> None:
    scores = [score_plan(DIGEST, DIGEST), score_plan(DIGEST, None),
              score_plan({"refuse": "x"}, {"refuse": "y"}), score_plan({"clarify": "x"}, {"refuse": "y"})]
    metrics = aggregate(scores)
    assert metrics.examples == 4
    assert metrics.parse_rate == 0.75
    assert metrics.decision_accuracy == 0.5
    assert metrics.exact_match == 0.5
    assert metrics.node_f1 == pytest.approx(8 / (8 + 4))


def test_valid_rate_counts_only_the_scores_the_caller_checked() -> None:
    checked = [score_plan(DIGEST, DIGEST), score_plan(DIGEST, DIGEST)]
    checked[0].valid, checked[1].valid = True, False
    metrics = aggregate([*checked, score_plan(DIGEST, None)])
    assert metrics.valid_rate == 0.5
    assert aggregate([score_plan(DIGEST, DIGEST)]).valid_rate is None


def test_breakdowns_split_by_intent_and_language() -> None:
    scores: list[PlanScore] = [
        score_plan(DIGEST, DIGEST, intent="text-digest", lang="en"),
        score_plan(DIGEST, None, intent="text-digest", lang="zh"),
        score_plan({"refuse": "x"}, {"refuse": "y"}, intent="out-of-scope", lang="zh"),
    ]
    metrics = aggregate(scores)
    assert set(metrics.by_intent) == {"text-digest", "out-of-scope"}
    digest = metrics.by_intent["text-digest"]
    assert (digest.examples, digest.exact_match, digest.decision_accuracy) == (2, 0.5, 0.5)
    assert digest.node_f1 == pytest.approx(8 / 12)
    assert metrics.by_intent["out-of-scope"].node_f1 is None
    assert metrics.by_lang["en"].node_f1 == 1.0 and metrics.by_lang["zh"].node_f1 == 0.0
