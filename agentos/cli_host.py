"""`agentos host ...`: serve a model folder over OpenAI's API, generate from it, and describe it.

Everything heavy (torch, the engine) is imported inside the commands, so `agentos --help` stays
fast and torch-free. Errors a user can fix (a missing folder, a bad config or checkpoint, a bad
schema file) print one line and exit 2, like the rest of the CLI.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from agentos.errors import AgentOSError

if TYPE_CHECKING:
    from rich.table import Table

    from host_model.config import Step3p5Config

host_app = typer.Typer(
    help="Run our own Step 3.5 engine: serve a model folder over OpenAI's API, generate, inspect.\n\n"
         "Example: agentos host serve --model ./step3p5-tiny --port 8000",
    no_args_is_help=True, rich_markup_mode="rich")

err = Console(stderr=True)
out = Console()
F = TypeVar("F", bound=Callable[..., Any])

CONTEXTS = (4096, 32768, 262144)


class HostCommandError(AgentOSError):
    """A host command's input is wrong: printed without a traceback, exit 2."""

    exit_code = 2


def _friendly(fn: F) -> F:
    """Host-model errors are user errors here (a folder, config, checkpoint or schema the user gave)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from agentos.cli import _state  # at call time: agentos.cli imports this module

        try:
            return fn(*args, **kwargs)
        except (typer.Exit, KeyboardInterrupt):
            raise
        except Exception as exc:
            from host_model.errors import HostModelError  # not at import: host_model pulls in openai

            if _state["debug"]:
                raise
            if isinstance(exc, HostModelError | AgentOSError):
                err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
                raise typer.Exit(getattr(exc, "exit_code", 2)) from None
            err.print(f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}\n"
                      "rerun with --debug for the traceback", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _model_folder(path: Path) -> Path:
    if not path.exists():
        raise HostCommandError(f"{path}: no such model folder")
    if not path.is_dir():
        raise HostCommandError(f"{path}: not a folder (give the folder that holds config.json)")
    return path


ModelOption = Annotated[Path, typer.Option("--model", "-m", help="Model folder: config.json, *.safetensors, "
                                                                  "tokenizer.json, tokenizer_config.json.")]


# serve -------------------------------------------------------------------------------------------
@host_app.command()
@_friendly
def serve(
    model: ModelOption,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=0, max=65535)] = 8000,
    max_batch: Annotated[int, typer.Option(help="Sequences decoded together (KV-cache slots).", min=1)] = 8,
    max_context: Annotated[int, typer.Option(help="Tokens per sequence, prompt + reply.", min=16)] = 4096,
    speculative: Annotated[bool, typer.Option(help="Draft tokens with the MTP layers, verify them in one "
                                                   "forward.")] = False,
    speculative_tokens: Annotated[int, typer.Option(help="Drafts per step with --speculative (at most the "
                                                         "model's MTP layers).", min=1, max=8)] = 1,
    compile_decode: Annotated[bool, typer.Option("--compile", help="torch.compile the decode step (compiled at "
                                                                   "start-up; faster decoding on CPU).")] = False,
    name: Annotated[str | None, typer.Option(help="Model name clients send (default: the folder name).")] = None,
    thinking: Annotated[bool, typer.Option(help="Reason in <think> before answering, unless a request says "
                                                "otherwise (chat_template_kwargs.enable_thinking).")] = True,
    dtype: Annotated[str, typer.Option(help="Weights dtype: float32, bfloat16 or float16.")] = "float32",
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve a model folder over OpenAI's chat-completions API (streaming, tools, JSON schema).

    Example: agentos host serve --model ./step3p5-tiny --port 8000, then point any OpenAI client
    (or AGENTOS_HOST_URL=http://127.0.0.1:8000/v1) at it.
    """
    from host_model.engine import EngineSettings
    from host_model.server import serve as run_server

    settings = EngineSettings(max_batch=max_batch, max_context=max_context,
                              num_speculative_tokens=speculative_tokens if speculative else 0, compile=compile_decode)
    run_server(_model_folder(model), host, port, settings, console=err, log_level=log_level, model_name=name,
               enable_thinking=thinking, dtype=dtype)


# generate ----------------------------------------------------------------------------------------
@host_app.command()
@_friendly
def generate(
    prompt: Annotated[str, typer.Argument(help="The user message (or raw text with --no-chat).")],
    model: ModelOption,
    max_tokens: Annotated[int, typer.Option(help="Most tokens to generate.", min=1)] = 128,
    temperature: Annotated[float, typer.Option(help="0 = greedy.", min=0.0, max=2.0)] = 0.0,
    seed: Annotated[int | None, typer.Option(help="Sampling seed, for repeatable output.")] = None,
    json_schema: Annotated[Path | None, typer.Option(help="JSON Schema file: the reply must be JSON valid "
                                                          "against it.")] = None,
    chat: Annotated[bool, typer.Option(help="Wrap the prompt in the chat template (--no-chat: raw text).")] = True,
    thinking: Annotated[bool, typer.Option(help="Let the model reason first (chat mode).")] = True,
    max_context: Annotated[int, typer.Option(help="Tokens per sequence, prompt + reply.", min=16)] = 4096,
) -> None:
    """Generate from a model folder and stream the text to the terminal (reasoning dimmed).

    Example: agentos host generate --model ./step3p5-tiny "Say hello" --max-tokens 32 --seed 1
    """
    import asyncio

    from host_model.engine import EngineSettings
    from host_model.server import load_with_progress

    schema = _read_schema(json_schema) if json_schema is not None else None
    service = load_with_progress(_model_folder(model), EngineSettings(max_batch=1, max_context=max_context),
                                 console=err, enable_thinking=thinking)
    try:
        run = _chat_stream if chat else _raw_stream
        finish, prompt_tokens, completion_tokens = asyncio.run(
            run(service, prompt, max_tokens=max_tokens, temperature=temperature, seed=seed, schema=schema))
    finally:
        service.close()
    sys.stdout.write("\n")
    sys.stdout.flush()
    err.print(f"[dim]finish: {finish} · {prompt_tokens} prompt + {completion_tokens} completion tokens[/]",
              highlight=False)


def _read_schema(path: Path) -> dict[str, Any]:
    from host_model.jsonfile import read_json_object

    try:
        return read_json_object(path)
    except FileNotFoundError:
        raise HostCommandError(f"--json-schema {path}: no such file") from None
    except ValueError as exc:
        raise HostCommandError(f"--json-schema {exc} (a JSON Schema is a JSON object)") from None


async def _chat_stream(service: Any, prompt: str, *, max_tokens: int, temperature: float, seed: int | None,
                       schema: dict[str, Any] | None) -> tuple[str, int, int]:
    from host_model.openai_api import parse_request

    body: dict[str, Any] = {"model": service.model_name, "messages": [{"role": "user", "content": prompt}],
                            "max_tokens": max_tokens, "temperature": temperature, "seed": seed,
                            "stream_options": {"include_usage": True}}
    if schema is not None:
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
    finish, usage = "stop", (0, 0)
    async for chunk in service.stream(await service.prepare(parse_request(body))):
        if chunk.usage is not None:
            usage = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
        for choice in chunk.choices:
            delta = choice.delta
            if delta.reasoning_content:
                out.print(delta.reasoning_content, style="dim", end="", markup=False, highlight=False)
            if delta.content:
                _write(delta.content)
            for call in delta.tool_calls or []:
                if call.function is not None:
                    _write(f"[tool call {call.function.name or ''}] {call.function.arguments or ''}")
            finish = choice.finish_reason or finish
    return finish, *usage


async def _raw_stream(service: Any, prompt: str, *, max_tokens: int, temperature: float, seed: int | None,
                      schema: dict[str, Any] | None) -> tuple[str, int, int]:
    from host_model.constrained import json_schema_constraint
    from host_model.sampling import SamplingParams

    tokenizer = service.tokenizer
    ids = tokenizer.encode(prompt)
    if not ids:
        raise HostCommandError("the prompt is empty")
    constraint = None
    if schema is not None:
        constraint = json_schema_constraint(schema, tokenizer.backend, eos_token_ids=tokenizer.eos_token_ids,
                                            max_whitespace_run=service.settings.json_whitespace)
    params = SamplingParams(max_tokens=max_tokens, temperature=temperature, seed=seed)
    finish, completion = "stop", 0
    async for update in service.engine.stream(ids, params, constraint=constraint):
        if update.error:
            raise HostCommandError(f"generation failed: {update.error}")
        _write(update.text)
        finish, completion = update.finish_reason or finish, update.completion_tokens
    return finish, len(ids), completion


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


# info --------------------------------------------------------------------------------------------
@host_app.command()
@_friendly
def info(
    path: Annotated[Path, typer.Argument(help="Model folder, or a config.json (no weights needed).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the numbers as JSON.")] = False,
) -> None:
    """Parameters (total, MTP, active per token), layer types, experts and KV-cache size of a model.

    Works from config.json alone (the model is built on torch's meta device, nothing is allocated),
    so it describes a full-size checkpoint before any download. Example: agentos host info ./step3p5-flash
    """
    from host_model.config import Step3p5Config

    if not path.exists():
        raise HostCommandError(f"{path}: no such model folder or config file")
    config = Step3p5Config.from_file(path)
    facts = describe(config, path if path.is_dir() else path.parent)
    if as_json:
        sys.stdout.write(json.dumps(facts, indent=2) + "\n")
        return
    out.print(_facts_table(facts, path))


def describe(config: Step3p5Config, folder: Path) -> dict[str, Any]:
    """The numbers `host info` shows, computed from the config without allocating weights."""
    import torch

    from host_model.kv_cache import kv_bytes_at, kv_bytes_per_token
    from host_model.model import Step3p5ForCausalLM

    with torch.device("meta"):
        counts = Step3p5ForCausalLM(config).parameter_counts()
    specs = [config.layer(i) for i in range(config.num_hidden_layers)]
    per_token = kv_bytes_per_token(config)
    weights = sorted(folder.glob("*.safetensors"))
    return {
        "parameters": counts,
        "layers": {
            "decoder": config.num_hidden_layers, "mtp": config.num_nextn_predict_layers,
            "full_attention": sum(s.attention == "full_attention" for s in specs),
            "sliding_attention": sum(s.attention == "sliding_attention" for s in specs),
            "dense": sum(not s.moe for s in specs), "moe": sum(s.moe for s in specs),
        },
        "sliding_window": config.sliding_window,
        "experts": {"routed": config.moe_num_experts, "top_k": config.moe_top_k,
                    "shared_expert_dim": config.share_expert_dim,
                    "expert_intermediate_size": config.moe_intermediate_size},
        "kv_bytes_per_token_bf16": {**per_token, "total": sum(per_token.values())},
        "kv_bytes_per_sequence_bf16": {str(n): {"sliding": kv_bytes_at(config, n),
                                                "all_full_attention": kv_bytes_at(config, n, sliding=False)}
                                       for n in CONTEXTS},
        "vocab_size": config.vocab_size, "hidden_size": config.hidden_size,
        "max_position_embeddings": config.max_position_embeddings,
        "weights_on_disk_bytes": sum(f.stat().st_size for f in weights) if weights else None,
    }


def _count(n: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.2f}{unit} ({n:,})"
    return f"{n:,}"


def _bytes(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} B"


def _facts_table(facts: dict[str, Any], path: Path) -> Table:
    from rich.table import Table

    p, layers, experts = facts["parameters"], facts["layers"], facts["experts"]
    kv = facts["kv_bytes_per_token_bf16"]
    table = Table(title=f"{path}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("parameters, total", _count(p["total"])),
        ("  main model", _count(p["main"])),
        ("  MTP layers", _count(p["mtp"])),
        ("active per token", _count(p["active_per_token"])),
        ("  without embedding", _count(p["active_per_token_excluding_embedding"])),
        ("decoder layers", f"{layers['decoder']}: {layers['full_attention']} full attention, "
                           f"{layers['sliding_attention']} sliding window ({facts['sliding_window']} tokens)"),
        ("", f"{layers['dense']} dense FFN, {layers['moe']} MoE"),
        ("MTP layers", str(layers["mtp"])),
        ("experts", f"{experts['routed']} routed, top-{experts['top_k']} per token, shared expert "
                    f"{experts['shared_expert_dim']} wide" if experts["routed"] else "none (dense model)"),
        ("KV bytes per token (bf16)", f"{_bytes(kv['total'])}: full layers {_bytes(kv['full_attention'])}, "
                                      f"sliding layers {_bytes(kv['sliding_attention'])} (last "
                                      f"{facts['sliding_window']} tokens only)"),
    ]
    for n, sizes in facts["kv_bytes_per_sequence_bf16"].items():
        ratio = sizes["all_full_attention"] / sizes["sliding"] if sizes["sliding"] else 0.0
        rows.append((f"KV cache at {int(n) // 1024}K tokens", f"{_bytes(sizes['sliding'])} "
                     f"(all full attention: {_bytes(sizes['all_full_attention'])}, {ratio:.1f}x more)"))
    weights = facts["weights_on_disk_bytes"]
    rows.append(("weights on disk", _bytes(weights) if weights else "none (config only)"))
    rows.append(("vocabulary / hidden / context", f"{facts['vocab_size']:,} / {facts['hidden_size']:,} / "
                                                  f"{facts['max_position_embeddings']:,}"))
    for label, value in rows:
        table.add_row(label, value)
    return table
