"""The supervised fine-tuning trainer (host_model.train): small real runs of the `tiny` preset on
generated chat data, checked through the files they write and the inference path that reads them."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from host_model.chat_service import load_chat_service  # noqa: E402
from host_model.checkpoint import load_model  # noqa: E402
from host_model.engine import EngineSettings  # noqa: E402
from host_model.engine_host import EngineHost  # noqa: E402
from host_model.openai_api import parse_request  # noqa: E402
from host_model.tokenizer import Tokenizer  # noqa: E402
from host_model.train import (  # noqa: E402
    LOG_FILE,
    SUMMARY_FILE,
    StepRecord,
    TrainSettings,
    TrainSummary,
    balance_router_bias,
    lr_at,
    train,
)
from host_model.train_data import IGNORE, Example, TrainError, bucket_batches, collate, encode_example  # noqa: E402

WORDS = ("apple", "river", "stone", "cloud", "tiger", "lamp", "green", "seven", "paper", "storm", "bread", "night")
FIXED_ANSWER = '{"plan":"fixed","ok":true}'


def _word_task(rng: random.Random) -> dict[str, Any]:
    """'Reverse these words' / 'copy this list', answered in compact JSON as the JSON constraint emits it."""
    words = rng.sample(WORDS, rng.randint(2, 5))
    if rng.random() < 0.5:
        messages = [{"role": "system", "content": "Answer in JSON."},
                    {"role": "user", "content": "Reverse these words: " + " ".join(words)},
                    {"role": "assistant", "content": json.dumps({"reversed": words[::-1]}, separators=(",", ":"))}]
    else:
        messages = [{"role": "user", "content": "Copy this list: " + ", ".join(words)},
                    {"role": "assistant", "content": json.dumps({"copy": words}, separators=(",", ":"))}]
    return {"messages": messages, "id": rng.randrange(10**6)}  # other keys are ignored


def _fixed_task(rng: random.Random) -> dict[str, Any]:
    request = " ".join(rng.sample(WORDS, 4))
    return {"messages": [{"role": "user", "content": f"Plan this: {request}"},
                         {"role": "assistant", "content": FIXED_ANSWER}]}


def _write_data(folder: Path, make: Any, *, train: int = 240, eval: int = 24) -> Path:
    rng = random.Random(0)
    folder.mkdir(parents=True, exist_ok=True)
    for name, count in (("train", train), ("eval", eval)):
        lines = [json.dumps(make(rng)) for _ in range(count)]
        (folder / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _settings(data: Path, out: Path, **changes: Any) -> TrainSettings:
    base: dict[str, Any] = {"data": data, "out": out, "preset": "tiny", "max_steps": 30, "batch_tokens": 1024,
                            "lr": 3e-3, "warmup": 5, "vocab_size": 600, "eval_every": 15, "eval_examples": 16,
                            "threads": 1}
    return TrainSettings(**{**base, **changes})


def _log(folder: Path) -> list[StepRecord]:
    return [StepRecord.model_validate_json(line) for line in (folder / LOG_FILE).read_text().splitlines()]


@pytest.fixture(scope="module")
def words_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_data(tmp_path_factory.mktemp("words"), _word_task)


@pytest.fixture(scope="module")
def trained(words_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TrainSummary]:
    out = tmp_path_factory.mktemp("runs") / "words-model"
    return out, train(_settings(words_data, out), progress="off")


# ---- what a run learns --------------------------------------------------------------------------------

def test_training_lowers_the_reply_loss(trained: tuple[Path, TrainSummary]) -> None:
    folder, summary = trained
    log = _log(folder)
    first = sum(r.loss for r in log[:3]) / 3
    assert summary.final_train_loss is not None and summary.final_train_loss < 0.6 * first
    assert summary.final_eval is not None and summary.final_eval.loss < 0.6 * first


def test_training_lowers_every_mtp_depth_loss(trained: tuple[Path, TrainSummary]) -> None:
    log = _log(trained[0])
    assert len(log[0].mtp_loss) == 2
    for depth in range(2):
        first = sum(r.mtp_loss[depth] for r in log[:3]) / 3
        last = sum(r.mtp_loss[depth] for r in log[-3:]) / 3
        assert last < 0.7 * first


def test_router_biases_move_towards_balance() -> None:
    from host_model.config import Step3p5Config
    from host_model.model import Step3p5ForCausalLM
    from host_model.moe import MoE

    model = Step3p5ForCausalLM(Step3p5Config.scaled(moe_num_experts=4, num_hidden_layers=3)).init_weights(0)
    moe = next(m for m in model.modules() if isinstance(m, MoE))
    moe.expert_load = torch.tensor([10, 0, 2, 0])
    balance_router_bias([moe], 1e-3)
    assert moe.router_bias is not None
    assert moe.router_bias.tolist() == pytest.approx([-1e-3, 1e-3, 1e-3, 1e-3])
    assert moe.expert_load.tolist() == [0, 0, 0, 0]  # counting starts over for the next step


def test_moe_training_path_matches_inference_and_counts_routed_tokens() -> None:
    from host_model.config import Step3p5Config
    from host_model.model import Step3p5ForCausalLM
    from host_model.moe import MoE

    model = Step3p5ForCausalLM(Step3p5Config.scaled(num_hidden_layers=3)).init_weights(0, std=0.1)
    ids = torch.randint(0, 512, (2, 12), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        inference = model(ids).logits
    moes = [m for m in model.modules() if isinstance(m, MoE)]
    for moe in moes:
        moe.expert_load = torch.zeros(8, dtype=torch.long)
    training = model(ids).logits
    assert training.requires_grad
    torch.testing.assert_close(training, inference)
    assert [int(m.expert_load.sum()) for m in moes if m.expert_load is not None] == [2 * 12 * 2]  # tokens * top_k


def test_trained_checkpoint_has_moved_router_biases(trained: tuple[Path, TrainSummary]) -> None:
    model = load_model(trained[0])
    biases = [p for name, p in model.named_parameters() if name.endswith("router_bias")]
    assert biases and all(float(b.detach().abs().sum()) > 0 for b in biases)


def test_same_seed_and_data_give_identical_losses(words_data: Path, tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        train(_settings(words_data, tmp_path / name, max_steps=3, eval_every=100), progress="off")
        runs.append([(r.loss, r.mtp_loss) for r in _log(tmp_path / name)])
    assert len(runs[0]) == 3 and runs[0] == runs[1]


# ---- what it writes -----------------------------------------------------------------------------------

def test_output_is_a_model_folder_with_logs_and_summary(trained: tuple[Path, TrainSummary]) -> None:
    folder, summary = trained
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", LOG_FILE,
            SUMMARY_FILE} <= names
    assert not [p for p in folder.parent.iterdir() if p.name.endswith(".partial")]  # the scratch folder was moved
    saved = TrainSummary.model_validate_json((folder / SUMMARY_FILE).read_text())
    assert saved.steps == summary.steps == 30 and not saved.interrupted
    assert saved.parameter_counts["total"] == sum(p.numel() for p in load_model(folder).parameters())
    assert saved.checkpoint_bytes < 2.2 * saved.parameter_counts["total"]  # bfloat16 (the router stays fp32)
    log = _log(folder)
    assert [r.step for r in log] == list(range(1, 31))
    assert [r.step for r in log if r.eval is not None] == [15, 30]


def test_prompt_tokens_equal_what_the_chat_service_feeds_for_a_json_request(
        trained: tuple[Path, TrainSummary]) -> None:
    folder = trained[0]
    messages = [{"role": "system", "content": "Answer in JSON."},
                {"role": "user", "content": "Reverse these words: apple storm"},
                {"role": "assistant", "content": '{"reversed":["storm","apple"]}'}]
    example = encode_example(Tokenizer.from_dir(folder), messages)
    service = load_chat_service(folder, engine_settings=EngineSettings(max_batch=1, max_context=256),
                                model_name="m", enable_thinking=True)
    try:
        request = parse_request({"model": "m", "messages": messages[:-1], "response_format": {
            "type": "json_schema", "json_schema": {"name": "out", "schema": {"type": "object"}}}})
        prepared = asyncio.run(service.prepare(request))
    finally:
        service.close()
    assert example.ids[: example.prompt_len] == prepared.prompt_ids
    tokenizer = service.tokenizer
    assert example.ids[example.prompt_len:] == [*tokenizer.encode(messages[-1]["content"]),
                                                tokenizer.eos_token_ids[0]]


def test_a_learned_answer_comes_back_through_engine_host(tmp_path: Path) -> None:
    data = _write_data(tmp_path / "data", _fixed_task, train=120, eval=8)
    out = tmp_path / "fixed-model"
    train(_settings(data, out, max_steps=25, eval_every=100), progress="off")
    host = EngineHost.from_folder(out, EngineSettings(max_batch=1, max_context=256), max_tokens=40)
    try:
        reply = asyncio.run(host.chat([{"role": "user", "content": "Plan this: lamp night river bread"}],
                                      json_schema={"type": "object"}))
    finally:
        host.close()
    assert reply.text == FIXED_ANSWER


def test_interrupted_run_saves_a_loadable_model_marked_interrupted(words_data: Path, tmp_path: Path) -> None:
    def stop_at_two(record: StepRecord) -> None:
        if record.step == 2:
            raise KeyboardInterrupt

    summary = train(_settings(words_data, tmp_path / "out"), progress="off", on_step=stop_at_two)
    assert summary.interrupted and summary.steps == 2
    assert json.loads((tmp_path / "out" / SUMMARY_FILE).read_text())["interrupted"] is True
    load_model(tmp_path / "out")


def test_time_budget_ends_the_cosine_when_time_runs_out(words_data: Path, tmp_path: Path) -> None:
    summary = train(_settings(words_data, tmp_path / "out", max_steps=None, minutes=0.1, eval_every=1000),
                    progress="off")
    log = _log(tmp_path / "out")
    assert summary.wall_time_s < 0.1 * 60 + 3
    assert summary.steps >= 5 and summary.planned_steps - summary.steps <= 1
    assert log[-1].lr < 0.15 * 3e-3  # at the floor (0.1 * peak), not cut off mid-way


def test_a_second_run_replaces_an_earlier_output_but_not_other_folders(words_data: Path, tmp_path: Path) -> None:
    other = tmp_path / "not-a-model"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(TrainError, match="not an earlier training output"):
        train(_settings(words_data, other, max_steps=1), progress="off")
    assert (other / "notes.txt").read_text() == "keep me"


# ---- schedule, batches and targets --------------------------------------------------------------------

def test_lr_warms_up_linearly_then_decays_to_its_floor() -> None:
    peak = 1e-3
    assert lr_at(5, 100, peak=peak, warmup=10, floor=0.1) == pytest.approx(0.5e-3)
    assert lr_at(10, 100, peak=peak, warmup=10, floor=0.1) == pytest.approx(peak)
    assert lr_at(55, 100, peak=peak, warmup=10, floor=0.1) == pytest.approx(0.55e-3)
    assert lr_at(100, 100, peak=peak, warmup=10, floor=0.1) == pytest.approx(1e-4)
    assert lr_at(150, 100, peak=peak, warmup=10, floor=0.1) == pytest.approx(1e-4)


def test_batches_stay_within_the_token_budget_and_cover_every_example() -> None:
    rng = random.Random(0)
    lengths = [rng.randint(5, 120) for _ in range(500)]
    batches = bucket_batches(lengths, 512, random.Random(1))
    assert sorted(i for b in batches for i in b) == list(range(500))
    assert all(len(b) * max(lengths[i] for i in b) <= 512 for b in batches)
    assert batches != bucket_batches(lengths, 512, random.Random(2))  # the seed shuffles the order


def test_targets_are_the_reply_tokens_for_the_main_head_and_every_mtp_depth() -> None:
    # prompt 10 11 12, reply 13 14 15; the second row is shorter and right-padded with 0
    batch = collate([Example(ids=[10, 11, 12, 13, 14, 15], prompt_len=3), Example(ids=[20, 21, 22], prompt_len=2)],
                    pad_id=0, mtp_depths=2)
    assert batch.input_ids.tolist() == [[10, 11, 12, 13, 14, 15], [20, 21, 22, 0, 0, 0]]

    def predicted(targets: Any, row: int) -> dict[int, int]:
        pairs = zip(targets.positions[row].tolist(), targets.labels[row].tolist(), strict=True)
        return {p: label for p, label in pairs if label != IGNORE}

    assert predicted(batch.main, 0) == {2: 13, 3: 14, 4: 15}  # position t predicts token t + 1
    assert predicted(batch.main, 1) == {1: 22}
    assert batch.mtp_inputs[0][0].tolist() == [11, 12, 13, 14, 15, 0]  # depth 0 reads token t + 1
    assert predicted(batch.mtp[0], 0) == {1: 13, 2: 14, 3: 15}  # and predicts token t + 2
    assert batch.mtp_inputs[1][0].tolist() == [12, 13, 14, 15, 0, 0]  # depth 1 reads token t + 2
    assert predicted(batch.mtp[1], 0) == {0: 13, 1: 14, 2: 15}  # and predicts token t + 3
    assert predicted(batch.mtp[0], 1) == {0: 22}
    assert batch.main.count == 4 and batch.tokens == 9


# ---- bad input ----------------------------------------------------------------------------------------

def _bad_data(folder: Path, lines: list[str]) -> Path:
    folder.mkdir()
    (folder / "train.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "eval.jsonl").write_text(json.dumps(_fixed_task(random.Random(0))) + "\n", encoding="utf-8")
    return folder


GOOD = json.dumps(_fixed_task(random.Random(1)))


def test_bad_json_names_the_file_and_line(tmp_path: Path) -> None:
    data = _bad_data(tmp_path / "data", [GOOD, '{"messages": [', GOOD])
    with pytest.raises(TrainError, match=r"train\.jsonl:2: not valid JSON"):
        train(_settings(data, tmp_path / "out"), progress="off")


def test_an_example_without_an_assistant_turn_names_the_file_and_line(tmp_path: Path) -> None:
    data = _bad_data(tmp_path / "data", [GOOD, GOOD, json.dumps({"messages": [{"role": "user", "content": "hi"}]})])
    with pytest.raises(TrainError, match=r"train\.jsonl:3: no assistant turn"):
        train(_settings(data, tmp_path / "out"), progress="off")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    data = _bad_data(tmp_path / "data", [GOOD])
    (data / "eval.jsonl").unlink()
    with pytest.raises(TrainError, match=r"eval\.jsonl: no such file"):
        train(_settings(data, tmp_path / "out"), progress="off")
    assert not (tmp_path / "out").exists()


def test_cli_prints_a_data_error_without_traceback_and_exits_2(tmp_path: Path) -> None:
    data = _bad_data(tmp_path / "data", [GOOD, "not json"])
    result = subprocess.run([sys.executable, "-m", "host_model.train", "--data", str(data), "--out",
                             str(tmp_path / "out"), "--preset", "tiny", "--max-steps", "1"],
                            capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 2
    assert "train.jsonl:2: not valid JSON" in result.stderr and "Traceback" not in result.stderr
