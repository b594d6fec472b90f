"""Supervised fine-tuning of a Step 3.5 model from scratch on chat examples, on CPU or GPU.

    python -m host_model.train --data DIR --out DIR --preset mini --minutes 60

`DIR/train.jsonl` and `DIR/eval.jsonl` hold one `{"messages": [...]}` per line; the last message is
the assistant reply to learn. The run trains a BPE tokenizer on the training messages, builds the
model (a preset or a full config.json), and trains it with AdamW and a warmup + cosine schedule
on the reply tokens (main head plus every MTP depth, so speculative decoding works on the result).
MoE routing is balanced without an auxiliary loss, as DeepSeek-V3 and Step 3.5 do: after each
step every router's selection bias moves a fixed amount towards the under-used experts.

Under a time budget (`--minutes`) the number of steps is estimated from the measured speed and
re-estimated as the run goes, so the cosine reaches its floor when the time is up. The output is a
model folder in Hugging Face's layout (weights in bfloat16) that `load_model`, `load_chat_service`
and `EngineHost.from_folder` read; it is written next to the target and renamed into place at
the end, so a crash never leaves half a checkpoint. Ctrl-C stops training and saves what there is.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from host_model.checkpoint import save_model
from host_model.config import ConfigError, Step3p5Config
from host_model.errors import HostModelError
from host_model.model import Step3p5ForCausalLM
from host_model.moe import MoE
from host_model.tokenizer import Tokenizer
from host_model.tokenizer_train import train_bpe_tokenizer
from host_model.train_data import (
    IGNORE,
    Batch,
    Example,
    Targets,
    TrainError,
    bucket_batches,
    collate,
    encode_example,
    message_texts,
    read_chat_jsonl,
)

LOG_FILE = "training_log.jsonl"
SUMMARY_FILE = "training_summary.json"
SAVE_DTYPE = torch.bfloat16

# Step3p5Config.scaled(...) arguments; vocab_size, bos and eos come from the trained tokenizer.
PRESETS: dict[str, dict[str, Any]] = {
    # step3p5-mini, the offline default host: 11.95M parameters (8.90M main + 3.05M in two MTP depths)
    "mini": {"hidden_size": 256, "num_hidden_layers": 8, "head_dim": 64, "full_heads": 4, "sliding_heads": 6,
             "kv_groups": 2, "sliding_window": 128, "intermediate_size": 448, "first_moe_layer": 2,
             "moe_num_experts": 8, "moe_top_k": 2, "moe_intermediate_size": 112, "num_nextn_predict_layers": 2,
             "max_position_embeddings": 2048},
    # tests: every structural feature, a fraction of a second per step
    "tiny": {"hidden_size": 64, "num_hidden_layers": 4, "head_dim": 16, "full_heads": 4, "sliding_heads": 4,
             "kv_groups": 2, "sliding_window": 32, "intermediate_size": 128, "first_moe_layer": 2,
             "moe_num_experts": 4, "moe_top_k": 2, "moe_intermediate_size": 32, "num_nextn_predict_layers": 2,
             "max_position_embeddings": 1024},
}

ProgressMode = Literal["auto", "bar", "lines", "off"]


class TrainSettings(BaseModel):
    """Everything a run depends on; recorded in training_summary.json."""

    model_config = ConfigDict(extra="forbid")

    data: Path = Field(description="folder with train.jsonl and eval.jsonl")
    out: Path = Field(description="model folder to write (replaced if it holds an earlier training run)")
    preset: Literal["mini", "tiny"] = "mini"
    config: Path | None = Field(None, description="a full config.json to train instead of the preset")
    minutes: float | None = Field(None, gt=0, description="wall-clock budget for the whole run")
    max_steps: int | None = Field(None, ge=1)
    seed: int = 0
    batch_tokens: int = Field(4096, ge=16, description="padded tokens per batch, at most")
    lr: float = Field(2e-3, gt=0, description="peak learning rate")
    warmup: int = Field(50, ge=0, description="steps of linear warmup")
    min_lr_ratio: float = Field(0.1, ge=0, le=1, description="the cosine ends at lr * this")
    weight_decay: float = Field(0.1, ge=0, description="AdamW decay of matrices (not norms)")
    grad_clip: float = Field(1.0, gt=0)
    vocab_size: int = Field(3072, ge=512, description="BPE vocabulary to train (may come out smaller)")
    mtp_weight: float = Field(0.3, ge=0, description="weight of the MTP loss (mean over depths)")
    bias_update_rate: float = Field(1e-3, ge=0, description="router-bias step of aux-loss-free balancing")
    init_std: float = Field(0.02, gt=0)
    eval_every: int = Field(100, ge=1, description="steps between evaluations")
    eval_examples: int = Field(256, ge=1, description="examples of eval.jsonl used (the first ones)")
    threads: int | None = Field(None, ge=1, description="torch threads; default all cores")

    @model_validator(mode="after")
    def _has_a_length(self) -> TrainSettings:
        if self.minutes is None and self.max_steps is None:
            raise ValueError("give minutes or max_steps (or both): the run needs a length")
        return self


class EvalMetrics(BaseModel):
    loss: float
    accuracy: float = Field(description="share of reply tokens the main head predicts (greedy)")
    mtp_accuracy: list[float] = Field(description="per MTP depth: share of its tokens predicted given the true "
                                      "earlier tokens, roughly the speculative-decoding draft acceptance")
    examples: int
    tokens: int


class StepRecord(BaseModel):
    """One line of training_log.jsonl."""

    step: int
    planned_steps: int
    elapsed_s: float
    lr: float
    loss: float = Field(description="main-head cross-entropy on reply tokens")
    mtp_loss: list[float]
    grad_norm: float
    tokens: int
    tokens_per_s: float
    expert_load_max: float = Field(description="busiest expert's share over the mean, worst MoE layer (1 = even)")
    eval: EvalMetrics | None = None


class TrainSummary(BaseModel):
    """training_summary.json."""

    out: Path
    seed: int
    settings: dict[str, Any]
    config: dict[str, Any]
    parameter_counts: dict[str, int]
    vocab_size: int
    train_examples: int
    eval_examples: int
    skipped_too_long: int
    steps: int
    planned_steps: int
    tokens_seen: int
    target_tokens_seen: int
    tokens_per_s: float = Field(description="tokens through forward + backward + MTP + optimizer per second")
    wall_time_s: float
    train_time_s: float
    final_train_loss: float | None = Field(description="mean main loss of the last 10 steps")
    final_eval: EvalMetrics | None
    interrupted: bool
    torch_version: str
    threads: int
    checkpoint_bytes: int


# ---- the run ----------------------------------------------------------------------------------------

def train(settings: TrainSettings, *, progress: ProgressMode = "auto",
          on_step: Callable[[StepRecord], None] | None = None) -> TrainSummary:
    """Train, save the model folder at `settings.out`, return the summary.

    `progress`: "bar" (rich), "lines" (plain periodic lines), "off", or "auto" (bar on a terminal).
    `on_step` sees every step's record; a KeyboardInterrupt from it stops the run like Ctrl-C.
    """
    started = time.monotonic()
    deadline = started + settings.minutes * 60 if settings.minutes is not None else None
    out = settings.out.resolve()
    _check_target(out)
    train_path, eval_path = settings.data / "train.jsonl", settings.data / "eval.jsonl"
    train_messages = read_chat_jsonl(train_path)
    eval_messages = read_chat_jsonl(eval_path)[: settings.eval_examples]
    reporter = _Reporter(progress)
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    threads_before = torch.get_num_threads()
    threads = settings.threads or _cores()
    torch.set_num_threads(threads)
    try:
        train_bpe_tokenizer(message_texts(train_messages), settings.vocab_size, scratch)
        tokenizer = Tokenizer.from_dir(scratch)
        config = _model_config(settings, tokenizer)
        torch.manual_seed(settings.seed)
        model = Step3p5ForCausalLM(config).init_weights(settings.seed, std=settings.init_std).train()
        counts = model.parameter_counts()
        reporter.note(f"model: {counts['total']:,} parameters ({counts['main']:,} main + {counts['mtp']:,} MTP; "
                      f"{counts['active_per_token']:,} active per token), vocab {config.vocab_size}, "
                      f"{threads} threads")
        limit = min(config.max_position_embeddings, settings.batch_tokens)
        train_set = [encode_example(tokenizer, m) for m in train_messages]
        eval_set = [encode_example(tokenizer, m) for m in eval_messages]
        skipped = sum(len(e.ids) > limit for e in (*train_set, *eval_set))
        train_set = [e for e in train_set if len(e.ids) <= limit]
        eval_set = [e for e in eval_set if len(e.ids) <= limit]
        if not train_set:
            raise TrainError(f"{train_path}: every example is longer than {limit} tokens (the smaller of "
                             f"max_position_embeddings and batch_tokens)")
        if skipped:
            reporter.note(f"skipped {skipped} examples longer than {limit} tokens")
        trainer = _Trainer(model, settings, tokenizer, train_set, eval_set, reporter, on_step,
                           log=scratch / LOG_FILE, started=started, deadline=deadline)
        trainer.run()
        save_model(model, scratch, dtype=SAVE_DTYPE)
        summary = TrainSummary(
            out=out, seed=settings.seed, settings=settings.model_dump(mode="json"), config=config.to_dict(),
            parameter_counts=counts, vocab_size=config.vocab_size, train_examples=len(train_set),
            eval_examples=len(eval_set), skipped_too_long=skipped, steps=trainer.step,
            planned_steps=trainer.plan.total, tokens_seen=trainer.tokens, target_tokens_seen=trainer.target_tokens,
            tokens_per_s=trainer.tokens / max(trainer.step_seconds, 1e-9), wall_time_s=time.monotonic() - started,
            train_time_s=trainer.step_seconds, final_train_loss=trainer.recent_loss(),
            final_eval=trainer.final_eval, interrupted=trainer.interrupted, torch_version=torch.__version__,
            threads=threads, checkpoint_bytes=sum(f.stat().st_size for f in scratch.glob("*.safetensors")))
        (scratch / SUMMARY_FILE).write_text(summary.model_dump_json(indent=2) + "\n", encoding="utf-8")
        _publish(scratch, out)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    finally:
        reporter.close()
        torch.set_num_threads(threads_before)
    reporter.note(f"saved {out} ({summary.steps} steps, {summary.tokens_seen:,} tokens, "
                  f"{summary.tokens_per_s:,.0f} tokens/s{', interrupted' if summary.interrupted else ''})")
    return summary


class _Trainer:
    """The training loop and its bookkeeping: schedule, balancing, evaluation, logging."""

    def __init__(self, model: Step3p5ForCausalLM, settings: TrainSettings, tokenizer: Tokenizer,
                 train_set: list[Example], eval_set: list[Example], reporter: _Reporter,
                 on_step: Callable[[StepRecord], None] | None, *, log: Path, started: float,
                 deadline: float | None) -> None:
        self.model, self.settings, self.reporter, self.on_step = model, settings, reporter, on_step
        self.train_set, self.eval_set = train_set, eval_set
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.depths = model.config.num_nextn_predict_layers
        self.log_path, self.started, self.deadline = log, started, deadline
        self.moe = [m for m in model.modules() if isinstance(m, MoE)]
        for moe in self.moe:
            if moe.router_bias is not None:
                moe.router_bias.requires_grad_(False)  # moved by balancing, not by gradients
            moe.expert_load = torch.zeros(moe.gate.weight.shape[0], dtype=torch.long)
        self.optimizer = torch.optim.AdamW(_param_groups(model, settings.weight_decay), lr=settings.lr,
                                           betas=(0.9, 0.95), eps=1e-8)
        self.plan = StepPlan(settings.max_steps, deadline)
        self.step = self.tokens = self.target_tokens = 0
        self.step_seconds = 0.0  # forward + backward + optimizer, all steps
        self.timed_seconds, self.timed_steps = 0.0, 0  # the same, first step (warm-up) excluded
        self.eval_seconds: float | None = None
        self.losses: list[float] = []
        self.final_eval: EvalMetrics | None = None  # the latest evaluation, taken at `eval_step`
        self.eval_step = -1
        self.interrupted = False

    def run(self) -> None:
        batches = self._batches()
        with self.log_path.open("w", encoding="utf-8") as log:
            self.reporter.start(self.plan.total)
            try:
                while self.step < self.plan.total and not self._out_of_time():
                    record = self._train_step(next(batches))
                    if self.step % self.settings.eval_every == 0 or self.step >= self.plan.total:
                        record.eval = self._evaluate()
                    self._record(record, log)
                    self.plan.update(self.step, time.monotonic(), self._seconds_per_step(), self.eval_seconds,
                                     self.settings.eval_every, self._reserve())
            except KeyboardInterrupt:
                self.interrupted = True
                self.reporter.note(f"interrupted at step {self.step}: saving what was trained")
            finally:
                for moe in self.moe:
                    moe.expert_load = None  # counting is for training steps only
        if self.eval_step != self.step:  # the run stopped on time, or was interrupted, between evaluations
            self.final_eval = None if self.interrupted else self._evaluate()

    def _batches(self) -> Iterator[list[Example]]:
        rng = random.Random(self.settings.seed)
        lengths = [len(e.ids) for e in self.train_set]
        while True:
            for indices in bucket_batches(lengths, self.settings.batch_tokens, rng):
                yield [self.train_set[i] for i in indices]

    def _train_step(self, examples: list[Example]) -> StepRecord:
        batch = collate(examples, pad_id=self.pad_id, mtp_depths=self.depths)
        lr = lr_at(self.step + 1, self.plan.total, peak=self.settings.lr, warmup=self.settings.warmup,
                   floor=self.settings.min_lr_ratio)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        begun = time.perf_counter()
        losses = [_cross_entropy(logits, targets) for logits, targets in head_logits(self.model, batch)]
        main, mtp = losses[0], losses[1:]
        total = main + self.settings.mtp_weight * torch.stack(mtp).mean() if mtp else main
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.settings.grad_clip)
        self.optimizer.step()
        load = balance_router_bias(self.moe, self.settings.bias_update_rate)
        seconds = time.perf_counter() - begun
        self.step += 1
        self.step_seconds += seconds
        if self.step > 1:
            self.timed_seconds += seconds
            self.timed_steps += 1
        self.tokens += batch.tokens
        self.target_tokens += batch.main.count
        self.losses.append(float(main.detach()))
        return StepRecord(step=self.step, planned_steps=self.plan.total, elapsed_s=time.monotonic() - self.started,
                          lr=lr, loss=self.losses[-1], mtp_loss=[float(x.detach()) for x in mtp],
                          grad_norm=float(grad_norm), tokens=batch.tokens, tokens_per_s=batch.tokens / seconds,
                          expert_load_max=load)

    def _evaluate(self) -> EvalMetrics | None:
        if not self.eval_set:
            return None
        begun = time.monotonic()
        metrics = evaluate(self.model, self.eval_set, batch_tokens=self.settings.batch_tokens, pad_id=self.pad_id)
        self.eval_seconds = time.monotonic() - begun
        self.final_eval, self.eval_step = metrics, self.step
        return metrics

    def _record(self, record: StepRecord, log: IO[str]) -> None:
        log.write(record.model_dump_json(exclude_none=True) + "\n")
        log.flush()
        self.reporter.step(record)
        if self.on_step is not None:
            self.on_step(record)

    def _seconds_per_step(self) -> float | None:
        return self.timed_seconds / self.timed_steps if self.timed_steps else None

    def _reserve(self) -> float:
        """Seconds kept for the final evaluation and the save."""
        if self.eval_seconds is not None:
            final_eval = self.eval_seconds
        elif self.tokens:  # a forward is about a third of a training step
            final_eval = sum(len(e.ids) for e in self.eval_set) * self.step_seconds / (3 * self.tokens)
        else:
            final_eval = 0.0
        return final_eval + 2.0

    def _out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline - self._reserve()

    def recent_loss(self) -> float | None:
        tail = self.losses[-10:]
        return sum(tail) / len(tail) if tail else None


# ---- the pieces ---------------------------------------------------------------------------------------

def head_logits(model: Step3p5ForCausalLM, batch: Batch) -> Iterator[tuple[torch.Tensor, Targets]]:
    """Logits at the target positions of the main head, then of each MTP depth, chained as in the engine:
    depth k reads the token at t + k + 1 and the previous depth's hidden state (depth 0: the main model's)."""
    out = model(batch.input_ids, batch.positions, logits_positions=batch.main.positions)
    yield out.logits, batch.main
    hidden = out.hidden
    for depth, (next_ids, targets) in enumerate(zip(batch.mtp_inputs, batch.mtp, strict=True)):
        mtp = model.mtp_forward(depth, next_ids, hidden, batch.positions, logits_positions=targets.positions)
        yield mtp.logits, targets
        hidden = mtp.hidden


def _cross_entropy(logits: torch.Tensor, targets: Targets) -> torch.Tensor:
    """Mean over the batch's target tokens (0 when it has none)."""
    total = F.cross_entropy(logits.flatten(0, 1), targets.labels.flatten(), ignore_index=IGNORE, reduction="sum")
    return total / max(targets.count, 1)


@torch.no_grad()
def evaluate(model: Step3p5ForCausalLM, examples: Sequence[Example], *, batch_tokens: int,
             pad_id: int) -> EvalMetrics:
    """Main-head loss and greedy accuracy on reply tokens, and each MTP depth's accuracy."""
    depths = model.config.num_nextn_predict_layers
    loss, correct, count = 0.0, [0] * (depths + 1), [0] * (depths + 1)
    lengths = [len(e.ids) for e in examples]
    for indices in bucket_batches(lengths, batch_tokens, random.Random(0)):
        batch = collate([examples[i] for i in indices], pad_id=pad_id, mtp_depths=depths)
        for head, (logits, targets) in enumerate(head_logits(model, batch)):
            real = targets.labels != IGNORE
            correct[head] += int(((logits.argmax(-1) == targets.labels) & real).sum())
            count[head] += targets.count
            if head == 0:
                loss += float(F.cross_entropy(logits.flatten(0, 1), targets.labels.flatten(), ignore_index=IGNORE,
                                              reduction="sum"))
    return EvalMetrics(loss=loss / max(count[0], 1), accuracy=correct[0] / max(count[0], 1),
                       mtp_accuracy=[c / max(n, 1) for c, n in zip(correct[1:], count[1:], strict=True)],
                       examples=len(examples), tokens=sum(lengths))


@torch.no_grad()
def balance_router_bias(layers: Sequence[MoE], rate: float) -> float:
    """Aux-loss-free balancing: raise the selection bias of experts that got fewer tokens than the mean
    this step, lower it for busier ones, by `rate` each; reset the counts. Returns the worst layer's
    busiest-expert load over the mean (1.0 = perfectly even)."""
    worst = 1.0
    for moe in layers:
        load = moe.expert_load
        if load is None or moe.router_bias is None or int(load.sum()) == 0:
            continue
        counts = load.float()
        mean = counts.mean()
        moe.router_bias += rate * torch.sign(mean - counts)
        worst = max(worst, float(counts.max() / mean))
        load.zero_()
    return worst


def lr_at(step: int, total: int, *, peak: float, warmup: int, floor: float) -> float:
    """Linear warmup to `peak` over `warmup` steps, then cosine to `peak * floor` at step `total`."""
    if warmup and step <= warmup:
        return peak * step / warmup
    span = max(total - warmup, 1)
    progress = min(max(step - warmup, 0) / span, 1.0)
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


class StepPlan:
    """How many steps the schedule spans. Under a time budget the count is re-estimated after every step
    from the mean step time so far (the first, warm-up step left out) and the evaluations still due, so
    the cosine reaches its floor as time runs out however the speed drifts."""

    UNKNOWN = 10**9  # before the first estimate; warmup does not depend on it

    def __init__(self, max_steps: int | None, deadline: float | None) -> None:
        self.max_steps, self.deadline = max_steps, deadline
        self.total = max_steps or self.UNKNOWN

    def update(self, step: int, now: float, seconds_per_step: float | None, eval_seconds: float | None,
               eval_every: int, reserve: float) -> None:
        if self.deadline is None or seconds_per_step is None:
            return
        per_step = seconds_per_step + (eval_seconds or 0.0) / eval_every
        left = max(0, int((self.deadline - now - reserve) / per_step))
        self.total = max(step, min(step + left, self.max_steps or self.UNKNOWN))


def _param_groups(model: Step3p5ForCausalLM, weight_decay: float) -> list[dict[str, Any]]:
    """Decay matrices (projections, embeddings, experts), not norms; skip what balancing moves."""
    params = [p for p in model.parameters() if p.requires_grad]
    return [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]


def _model_config(settings: TrainSettings, tokenizer: Tokenizer) -> Step3p5Config:
    """The preset at the tokenizer's size, or the given config (which must have room for the vocabulary)."""
    if settings.config is not None:
        config = Step3p5Config.from_file(settings.config)
        if config.vocab_size < tokenizer.vocab_size:
            raise ConfigError(f"{settings.config}: vocab_size {config.vocab_size} is smaller than the trained "
                              f"tokenizer's {tokenizer.vocab_size} tokens")
        return config
    eos = tokenizer.eos_token_ids
    return Step3p5Config.scaled(**PRESETS[settings.preset], vocab_size=tokenizer.vocab_size,
                                eos_token_id=eos[0] if eos else None, bos_token_id=tokenizer.bos_token_id)


def _check_target(out: Path) -> None:
    """Refuse to replace a folder that is not an earlier training output: it may be anything."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / SUMMARY_FILE).exists())):
        raise TrainError(f"{out}: exists and is not an earlier training output (no {SUMMARY_FILE}); "
                             f"choose another --out or remove it")


def _publish(scratch: Path, out: Path) -> None:
    """Move the finished folder into place; an earlier run there is replaced only once this one is complete."""
    umask = os.umask(0)
    os.umask(umask)
    scratch.chmod(0o777 & ~umask)  # mkdtemp made it private, safetensors writes 0600: give the usual modes
    for item in scratch.iterdir():
        item.chmod(0o666 & ~umask)
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
        out.rename(old / out.name)
        scratch.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        scratch.rename(out)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# ---- progress -----------------------------------------------------------------------------------------

class _Reporter:
    """A rich progress bar on a terminal, else a plain line every 10 steps and at each evaluation."""

    EVERY = 10

    def __init__(self, mode: ProgressMode) -> None:
        self.console = Console(stderr=True, highlight=False, soft_wrap=True)
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "lines"
        self.mode = mode
        self._bar: Progress | None = None
        self._task: Any = None

    def note(self, text: str) -> None:
        if self.mode != "off":
            self.console.print(text, markup=False)

    def start(self, total: int) -> None:
        if self.mode != "bar":
            return
        self._bar = Progress(TextColumn("train"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[speed]} tok/s  loss {task.fields[loss]}"),
                             TimeRemainingColumn(), console=self.console)
        self._bar.start()
        self._task = self._bar.add_task("train", total=total if total < StepPlan.UNKNOWN else None,
                                        speed="-", loss="-")

    def step(self, record: StepRecord) -> None:
        if self._bar is not None:
            total = record.planned_steps if record.planned_steps < StepPlan.UNKNOWN else None
            self._bar.update(self._task, completed=record.step, total=total, speed=f"{record.tokens_per_s:,.0f}",
                             loss=f"{record.loss:.3f}")
            if record.eval is not None:
                self._bar.console.print(_line(record), markup=False)
        elif self.mode == "lines" and (record.step % self.EVERY == 0 or record.eval is not None or record.step == 1):
            self.console.print(_line(record), markup=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _line(record: StepRecord) -> str:
    planned = record.planned_steps if record.planned_steps < StepPlan.UNKNOWN else "?"
    text = (f"step {record.step}/{planned}  loss {record.loss:.4f}  mtp "
            f"{'/'.join(f'{x:.3f}' for x in record.mtp_loss) or '-'}  lr {record.lr:.2e}  "
            f"{record.tokens_per_s:,.0f} tok/s  {record.elapsed_s:,.0f}s")
    if record.eval is not None:
        text += (f"  | eval loss {record.eval.loss:.4f} acc {record.eval.accuracy:.3f} mtp acc "
                 f"{'/'.join(f'{x:.3f}' for x in record.eval.mtp_accuracy) or '-'}")
    return text


# ---- command line -------------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m host_model.train",
        description="Train a Step 3.5 model from scratch on chat examples (DIR/train.jsonl, DIR/eval.jsonl).",
        epilog="example: python -m host_model.train --data data/plans --out models/step3p5-mini --minutes 60")
    fields = TrainSettings.model_fields
    parser.add_argument("--data", type=Path, required=True, help=fields["data"].description)
    parser.add_argument("--out", type=Path, required=True, help=fields["out"].description)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="mini")
    parser.add_argument("--config", type=Path, help=fields["config"].description)
    parser.add_argument("--minutes", type=float, help=fields["minutes"].description)
    parser.add_argument("--max-steps", type=int)
    parser.add_argument("--seed", type=int, default=0)
    for name in ("batch_tokens", "lr", "warmup", "vocab_size", "mtp_weight", "eval_every", "threads"):
        field = fields[name]
        kind = float if field.annotation is float else int
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, default=field.default,
                            help=f"{field.description or ''}" + ("" if field.default is None else
                                                                     f" (default {field.default})"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry: errors in the data or settings print one line and exit 2."""
    args = vars(_parser().parse_args(argv))
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        settings = TrainSettings.model_validate({k: v for k, v in args.items() if v is not None})
        summary = train(settings)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: "
                             f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        console.print(f"error: {problems}", markup=False)
        return 2
    except HostModelError as exc:
        console.print(f"error: {exc}", markup=False)
        return 2
    except KeyboardInterrupt:
        console.print("interrupted before training started; nothing saved", markup=False)
        return 130
    final = summary.final_eval
    print(json.dumps({"out": str(summary.out), "steps": summary.steps, "parameters": summary.parameter_counts,
                      "tokens_per_s": round(summary.tokens_per_s, 1), "final_train_loss": summary.final_train_loss,
                      "eval_loss": final.loss if final else None, "eval_accuracy": final.accuracy if final else None,
                      "interrupted": summary.interrupted}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
