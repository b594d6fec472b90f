"""Chat examples for supervised fine-tuning: read, tokenise exactly as inference does, batch.

The prompt of an example is what `ChatService` feeds the model for a constrained (JSON) request:
the messages before the last, rendered with the generation prompt and thinking off. The target is
the last (assistant) message's content followed by the end-of-turn token, so the model learns to
write the reply and then stop. Loss is taken on target tokens only.

Batches are built by length bucketing: a shuffled epoch is cut into chunks, each chunk is sorted by
length and cut into batches of at most `batch_tokens` padded tokens, and the batches are shuffled,
so little compute goes to padding while the order stays random. Padding is on the right; attention
is causal, so real tokens never see it, and padded positions carry no label.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, ValidationError

from host_model.errors import HostModelError
from host_model.tokenizer import Tokenizer

IGNORE = -100  # label of positions that do not count (prompt, padding), as torch's cross_entropy expects
_CHUNK_BATCHES = 32  # batches' worth of examples sorted together: larger = less padding, less random order


class TrainError(HostModelError):
    """A training run that cannot start (bad data, settings or output folder); the message names the
    file, and the line where there is one."""


class ChatMessage(BaseModel):
    """One message; extra keys (name, tool_calls...) are kept for the chat template."""

    model_config = ConfigDict(extra="allow")
    role: str
    content: str


class ChatExample(BaseModel):
    """One line of train.jsonl / eval.jsonl; keys other than `messages` are ignored."""

    model_config = ConfigDict(extra="ignore")
    messages: list[ChatMessage]


@dataclass(frozen=True)
class Example:
    """A tokenised example: `ids` = prompt + target, the first `prompt_len` of them are the prompt."""

    ids: list[int]
    prompt_len: int

    @property
    def target_len(self) -> int:
        return len(self.ids) - self.prompt_len


@dataclass(frozen=True)
class Targets:
    """Where logits are needed ([B, n] positions, padded) and what they should predict (IGNORE on padding)."""

    positions: torch.Tensor
    labels: torch.Tensor
    count: int


@dataclass(frozen=True)
class Batch:
    input_ids: torch.Tensor  # [B, T], right-padded
    positions: torch.Tensor  # [B, T]
    main: Targets  # the next token at each target position
    mtp_inputs: list[torch.Tensor]  # depth k: the token at t + k + 1 ([B, T], pad past the end)
    mtp: list[Targets]  # depth k: the token at t + k + 2
    tokens: int  # real (unpadded) tokens


# ---- reading ----------------------------------------------------------------------------------------

def read_chat_jsonl(path: Path) -> list[list[dict[str, Any]]]:
    """The message lists of a JSONL file; every error names `path:line`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TrainError(f"{path}: no such file (a data folder needs train.jsonl and eval.jsonl)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TrainError(f"{path}: cannot read: {exc}") from None
    examples = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TrainError(f"{where}: not valid JSON: {exc.msg} (column {exc.colno})") from None
        try:
            example = ChatExample.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'line'}: {e['msg']}" for e in exc.errors())
            raise TrainError(f"{where}: not a chat example ({problems})") from None
        messages = example.messages
        if not any(m.role == "assistant" for m in messages):
            raise TrainError(f"{where}: no assistant turn (the last message must be the reply to learn)")
        if messages[-1].role != "assistant":
            raise TrainError(f"{where}: the last message is a {messages[-1].role!r} turn; it must be the "
                                 f"assistant's reply to learn")
        if len(messages) < 2:
            raise TrainError(f"{where}: an assistant reply needs a message before it")
        examples.append([m.model_dump(exclude_none=True) for m in messages])
    if not examples:
        raise TrainError(f"{path}: no examples (one JSON object with 'messages' per line)")
    return examples


def message_texts(examples: Sequence[Sequence[dict[str, Any]]]) -> Iterator[str]:
    """Every message content, the tokenizer's training text."""
    for messages in examples:
        for message in messages:
            yield message["content"]


# ---- tokenising ---------------------------------------------------------------------------------------

def encode_example(tokenizer: Tokenizer, messages: Sequence[dict[str, Any]]) -> Example:
    """Prompt ids exactly as `ChatService` renders a JSON-constrained request, then reply + end of turn."""
    prompt = tokenizer.encode(tokenizer.apply_chat_template(list(messages[:-1]), add_generation_prompt=True,
                                                            enable_thinking=False))
    target = [*tokenizer.encode(messages[-1]["content"]), end_of_turn(tokenizer)]
    return Example(ids=prompt + target, prompt_len=len(prompt))


def end_of_turn(tokenizer: Tokenizer) -> int:
    """The token that ends a reply (`<|im_end|>`), the first id the engine stops on."""
    if not tokenizer.eos_token_ids:
        raise TrainError(f"{tokenizer.origin}: the tokenizer has no end-of-turn token to train on")
    return tokenizer.eos_token_ids[0]


# ---- batching -----------------------------------------------------------------------------------------

def bucket_batches(lengths: Sequence[int], batch_tokens: int, rng: random.Random) -> list[list[int]]:
    """One epoch of example indices, grouped into batches of at most `batch_tokens` padded tokens."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    mean = max(1, sum(lengths) // max(1, len(lengths)))
    chunk = max(1, _CHUNK_BATCHES * batch_tokens // mean)
    batches: list[list[int]] = []
    for start in range(0, len(order), chunk):
        current: list[int] = []
        for index in sorted(order[start:start + chunk], key=lambda i: lengths[i]):
            # sorted ascending, so the newest example is the longest: it sets the padded length
            if current and (len(current) + 1) * lengths[index] > batch_tokens:
                batches.append(current)
                current = []
            current.append(index)
        if current:
            batches.append(current)
    rng.shuffle(batches)
    return batches


def collate(examples: Sequence[Example], *, pad_id: int, mtp_depths: int) -> Batch:
    """Right-padded tensors, and the target positions of the main head and of each MTP depth."""
    width = max(len(e.ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    # next_label[b, t] = the token at t + 1 when it is a target token, else IGNORE
    next_label = torch.full_like(ids, IGNORE)
    for b, example in enumerate(examples):
        row = torch.tensor(example.ids, dtype=torch.long)
        ids[b, : len(row)] = row
        next_label[b, example.prompt_len - 1 : len(row) - 1] = row[example.prompt_len:]
    positions = torch.arange(width).expand_as(ids)
    mtp_inputs, mtp = [], []
    for k in range(mtp_depths):
        shift = k + 1  # depth k reads the token at t + k + 1 and predicts the one at t + k + 2
        mtp_inputs.append(_shift_left(ids, shift, pad_id))
        mtp.append(_targets(_shift_left(next_label, shift, IGNORE)))
    return Batch(input_ids=ids, positions=positions, main=_targets(next_label), mtp_inputs=mtp_inputs, mtp=mtp,
                 tokens=sum(len(e.ids) for e in examples))


def _shift_left(x: torch.Tensor, shift: int, fill: int) -> torch.Tensor:
    out = torch.full_like(x, fill)
    if shift < x.shape[1]:
        out[:, : x.shape[1] - shift] = x[:, shift:]
    return out


def _targets(labels: torch.Tensor) -> Targets:
    """The labelled positions of each row first (in order), padded to the longest row's count."""
    labelled = labels != IGNORE
    n = max(1, int(labelled.sum(1).max()))
    order = torch.argsort((~labelled).to(torch.int8), dim=1, stable=True)[:, :n]
    return Targets(positions=order, labels=labels.gather(1, order), count=int(labelled.sum()))
