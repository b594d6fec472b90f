"""A complete tiny model folder (config, random weights, trained tokenizer) for tests, docs and benchmarks.

Tests of the server, the in-process host and the CLI need a real folder in the real layout, made in
a second, offline: no hub, no download. The weights are random, so the text is nonsense, but every
code path (chat template, reasoning and tool-call parsing, constrained decoding, MTP drafts) runs
as it would on Step 3.5 Flash. Building it trains a tokenizer and initialises a model, so one copy
is built per process and per (seed, speculative_ready) and copied where it is asked for.
"""

from __future__ import annotations

import atexit
import itertools
import json
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from host_model.config import Step3p5Config
from host_model.tokenizer import Tokenizer
from host_model.tokenizer_train import train_bpe_tokenizer

TINY_VOCAB_SIZE = 640
TINY_MAX_CONTEXT = 4096
_MARKER = "tiny-model.json"
_built: dict[tuple[int, bool], Path] = {}
_lock = threading.Lock()

_ENGLISH_SUBJECTS = ("The planner", "A small model", "The router", "Each expert", "The runtime", "This task",
                     "The user", "A tool call", "The server", "Our engine")
_ENGLISH_VERBS = ("writes", "reads", "checks", "summarises", "plans", "answers", "returns", "streams")
_ENGLISH_OBJECTS = ("a short report", "the weather in Paris", "every node of the graph", "three keywords",
                    "the test results", "a JSON document", "the next token", "the final answer")
_CHINESE = ("今天天气很好。", "我们一起去公园散步吧。", "请把这份报告总结成三句话。", "模型正在生成下一个词。",
            "这个任务需要调用一个工具。", "北京和上海都是大城市。", "你好，世界！", "谢谢你的帮助。",
            "计划已经完成，请检查结果。", "中文和英文混合的句子 with English words。")
_TOOL_TEXT = (
    "# Tools\n\nYou have access to the following functions in JSONSchema format:\n\n<tools>",
    "</tools>\n\nIf you choose to call a function ONLY reply in the following format with NO suffix:\n\n",
    "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>",
    "<IMPORTANT>\nReminder:\n- Function calls MUST follow the specified format: an inner <function=...>\n"
    "...\n</function> block must be nested within <tool_call>\n...\n</tool_call> XML tags\n"
    "- Required parameters MUST be specified\n</IMPORTANT>",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n"
    "<|im_start|>assistant\n<think>\nThe user says hello.\n</think>\nHi there!<|im_end|>\n",
)


def training_texts() -> list[str]:
    """A few hundred English, Chinese, JSON and chat-format strings, the same every time."""
    texts = [f"{s} {v} {o}." for s, v, o in itertools.product(_ENGLISH_SUBJECTS, _ENGLISH_VERBS, _ENGLISH_OBJECTS)]
    texts += [a + b for a, b in itertools.product(_CHINESE, repeat=2)]
    for i, (city, unit) in enumerate(itertools.product(("Paris", "Tokyo", "Berlin", "上海", "Lima"),
                                                        ("celsius", "fahrenheit"))):
        texts.append(json.dumps({"city": city, "unit": unit, "days": i % 7, "ok": i % 2 == 0, "note": None}))
        texts.append(json.dumps({"type": "function", "function": {
            "name": "get_weather", "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                           "required": ["city"]}}}))
        texts.append(json.dumps({"nodes": [{"id": f"n{i}", "capability": "text.summarize", "inputs": {"k": i}}]},
                                indent=2))
    texts += list(_TOOL_TEXT) * 4
    return texts


def tiny_config(vocab_size: int, *, speculative_ready: bool = True, eos_token_id: int | list[int] = 3,
                bos_token_id: int = 1) -> Step3p5Config:
    """Every structural feature of Step 3.5 (SWA/full, dense then MoE, MTP when asked), at toy size."""
    return Step3p5Config.scaled(vocab_size=vocab_size, num_nextn_predict_layers=1 if speculative_ready else 0,
                                max_position_embeddings=TINY_MAX_CONTEXT, eos_token_id=eos_token_id,
                                bos_token_id=bos_token_id)


def _build(out: Path, seed: int, speculative_ready: bool) -> None:
    # here, not at import time: importing host_model.testing must not import torch
    from host_model.checkpoint import save_model
    from host_model.model import Step3p5ForCausalLM

    train_bpe_tokenizer(training_texts(), TINY_VOCAB_SIZE, out)
    tokenizer = Tokenizer.from_dir(out)
    config = tiny_config(tokenizer.vocab_size, speculative_ready=speculative_ready,
                         eos_token_id=tokenizer.eos_token_ids[0] if tokenizer.eos_token_ids else 3,
                         bos_token_id=tokenizer.bos_token_id if tokenizer.bos_token_id is not None else 1)
    model = Step3p5ForCausalLM(config).init_weights(seed, std=0.02)
    save_model(model, out)
    (out / _MARKER).write_text(json.dumps({"seed": seed, "speculative_ready": speculative_ready}) + "\n",
                               encoding="utf-8")


def make_tiny_model(folder: str | Path, *, seed: int = 0, speculative_ready: bool = True) -> Path:
    """Write a complete tiny model folder into `folder` (created if needed) and return it.

    `speculative_ready` gives the model one MTP layer, so `--speculative` can run on it.
    """
    key = (seed, speculative_ready)
    with _lock:
        source = _built.get(key)
        if source is None or not (source / _MARKER).exists():
            scratch = tempfile.mkdtemp(prefix=f"agentos-tiny-{seed}-")
            atexit.register(shutil.rmtree, scratch, ignore_errors=True)
            source = Path(scratch) / "model"
            source.mkdir()
            _build(source, seed, speculative_ready)
            _built[key] = source
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        shutil.copy2(item, folder / item.name)
    return folder




@contextmanager
def serve_in_thread(app: Any, *, host: str = "127.0.0.1", port: int = 0, timeout_s: float = 30.0,
                    ) -> Iterator[str]:
    """Run an ASGI app under uvicorn in a background thread; yields its base URL (`http://host:port/v1`).

    Port 0 picks a free port, read back from the bound socket, so parallel test runs never collide.
    """
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on {host}:{port}")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=timeout_s)


__all__ = ["TINY_MAX_CONTEXT", "make_tiny_model", "serve_in_thread", "tiny_config", "training_texts"]
