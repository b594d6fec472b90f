"""The `HostModel` contract on both backends (in-process `EngineHost`, and `OpenAICompatibleHost` over
our running server), and the `agentos host info` / `generate` commands, all on the tiny model."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from agentos.cli import app
from host_model import HostModel, OpenAICompatibleHost
from host_model.chat_service import ChatService
from host_model.config import Step3p5Config
from host_model.engine_host import EngineHost
from host_model.openai_api import RequestError

MODEL = "tiny"
ASK = [{"role": "user", "content": "Plan a short report on the weather in Paris."}]
PLAN_SCHEMA = {"type": "object", "properties": {
    "title": {"type": "string", "maxLength": 10},
    "steps": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"enum": ["read", "write", "check"]}}},
    "required": ["title", "steps"], "additionalProperties": False}
WRITE = {"type": "function", "function": {
    "name": "write_file", "description": "Write a file",
    "parameters": {"type": "object", "properties": {
        "path": {"type": "string", "maxLength": 12}, "lines": {"type": "integer", "minimum": 1, "maximum": 50},
        "append": {"type": "boolean"}},
        "required": ["path", "lines", "append"], "additionalProperties": False}}}

runner = CliRunner()


@pytest.fixture(params=["engine", "http"])
def host(request: pytest.FixtureRequest, service: ChatService) -> HostModel:
    if request.param == "engine":
        return EngineHost(service)
    return OpenAICompatibleHost(request.getfixturevalue("base_url"), MODEL, timeout_s=120)


def chat(host: HostModel, **kwargs: Any) -> Any:
    return asyncio.run(host.chat(ASK, **kwargs))


# ---- the HostModel contract, on both backends ------------------------------------------------------

def test_both_backends_are_host_models(host: HostModel) -> None:
    assert isinstance(host, HostModel)


def test_plain_chat_returns_text_and_usage(host: HostModel) -> None:
    reply = chat(host, max_tokens=8)
    assert reply.text
    assert reply.usage["completion_tokens"] == 8
    assert reply.usage["total_tokens"] == reply.usage["prompt_tokens"] + 8
    assert reply.model == MODEL


def test_json_schema_reply_is_json_valid_against_the_schema(host: HostModel) -> None:
    reply = chat(host, json_schema=PLAN_SCHEMA, schema_name="plan", max_tokens=200)
    assert reply.finish_reason == "stop"  # the grammar ended it, not max_tokens
    jsonschema.validate(json.loads(reply.text), PLAN_SCHEMA)  # raises on any violation


def test_forced_tool_call_has_arguments_matching_the_parameters(host: HostModel) -> None:
    reply = chat(host, tools=[WRITE], tool_choice="write_file", max_tokens=200)
    (call,) = reply.tool_calls
    assert call.name == "write_file"
    jsonschema.validate(json.loads(call.arguments), WRITE["function"]["parameters"])
    assert reply.finish_reason == "tool_calls"


def test_max_tokens_three_finishes_with_length(host: HostModel) -> None:
    reply = chat(host, max_tokens=3)
    assert reply.finish_reason == "length"
    assert reply.usage["completion_tokens"] == 3


def test_temperature_zero_repeats_itself(host: HostModel) -> None:
    assert chat(host, temperature=0.0, max_tokens=10).text == chat(host, temperature=0.0, max_tokens=10).text


def test_high_temperature_samples(host: HostModel) -> None:
    # near-uniform over 640 tokens: two unseeded 10-token samples agreeing is a 1e-28 event
    assert chat(host, temperature=2.0, max_tokens=10).text != chat(host, temperature=2.0, max_tokens=10).text


def test_engine_host_and_server_give_the_same_greedy_reply(service: ChatService, base_url: str) -> None:
    local = chat(EngineHost(service), max_tokens=12)
    remote = chat(OpenAICompatibleHost(base_url, MODEL), max_tokens=12)
    assert (local.text, local.usage) == (remote.text, remote.usage)


def test_engine_host_names_a_bad_request_field(service: ChatService) -> None:
    with pytest.raises(RequestError, match=r"messages\[0\]\.role"):
        asyncio.run(EngineHost(service).chat([{"role": "robot", "content": "hi"}]))


# ---- agentos host info ------------------------------------------------------------------------------

def test_host_info_describes_a_model_folder(model_dir: Path) -> None:
    result = runner.invoke(app, ["host", "info", str(model_dir)])
    assert result.exit_code == 0, result.output
    assert "parameters, total" in result.output and "sliding window" in result.output
    assert "weights on disk" in result.output and "config only" not in result.output


def test_host_info_counts_match_the_model(model_dir: Path) -> None:
    from host_model.checkpoint import load_model

    result = runner.invoke(app, ["host", "info", str(model_dir), "--json"])
    facts = json.loads(result.stdout)
    assert facts["parameters"] == load_model(model_dir).parameter_counts()
    assert facts["layers"] | {"decoder": 8} == {"decoder": 8, "mtp": 1, "full_attention": 2, "sliding_attention": 6,
                                                "dense": 2, "moe": 6}


def test_host_info_works_from_a_config_alone(tmp_path: Path) -> None:
    config = Step3p5Config.scaled(hidden_size=128, vocab_size=1000, moe_num_experts=16, moe_top_k=4)
    config.save(tmp_path)
    result = runner.invoke(app, ["host", "info", str(tmp_path / "config.json")])
    assert result.exit_code == 0, result.output
    assert "none (config only)" in result.output and "16 routed, top-4" in result.output


def test_host_info_of_step3p5_flash_needs_no_weights() -> None:
    flash = Path(__file__).resolve().parents[1] / "host_model" / "configs" / "step3p5_flash.json"
    facts = json.loads(runner.invoke(app, ["host", "info", str(flash), "--json"]).stdout)
    assert 190e9 < facts["parameters"]["total"] < 210e9
    assert 10e9 < facts["parameters"]["active_per_token"] < 13e9
    sizes = facts["kv_bytes_per_sequence_bf16"]["262144"]
    assert sizes["sliding"] < sizes["all_full_attention"] / 3


def test_host_info_of_a_missing_folder_exits_2() -> None:
    result = runner.invoke(app, ["host", "info", "/no/such/model"])
    assert result.exit_code == 2
    assert "/no/such/model: no such model folder" in result.stderr


def test_host_info_of_a_broken_config_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"hidden_size": 64,')
    result = runner.invoke(app, ["host", "info", str(tmp_path)])
    assert result.exit_code == 2
    assert "config.json:1:" in result.stderr and "not valid JSON" in result.stderr


def test_host_info_of_a_config_missing_fields_names_them(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"hidden_size": 64}')
    result = runner.invoke(app, ["host", "info", str(tmp_path)])
    assert result.exit_code == 2
    assert "num_hidden_layers" in result.stderr and "Traceback" not in result.output


# ---- agentos host generate --------------------------------------------------------------------------

def test_host_generate_streams_text_and_reports_the_finish(model_dir: Path) -> None:
    result = runner.invoke(app, ["host", "generate", "--model", str(model_dir), "Say hello", "--max-tokens", "6",
                                 "--no-thinking"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()
    assert "finish: length · " in result.stderr and "6 completion tokens" in result.stderr


def test_host_generate_with_a_json_schema_prints_valid_json(model_dir: Path, tmp_path: Path) -> None:
    schema = tmp_path / "plan.json"
    schema.write_text(json.dumps(PLAN_SCHEMA))
    result = runner.invoke(app, ["host", "generate", "--model", str(model_dir), "Plan it", "--json-schema",
                                 str(schema), "--max-tokens", "200"])
    assert result.exit_code == 0, result.output
    jsonschema.validate(json.loads(result.stdout), PLAN_SCHEMA)


def test_host_generate_with_a_broken_schema_file_exits_2(model_dir: Path, tmp_path: Path) -> None:
    schema = tmp_path / "plan.json"
    schema.write_text("{oops")
    result = runner.invoke(app, ["host", "generate", "--model", str(model_dir), "x", "--json-schema", str(schema)])
    assert result.exit_code == 2
    assert f"--json-schema {schema}:1:2: not valid JSON" in result.stderr


def test_host_generate_from_a_folder_without_weights_exits_2(model_dir: Path, tmp_path: Path) -> None:
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(model_dir / name, tmp_path / name)
    result = runner.invoke(app, ["host", "generate", "--model", str(tmp_path), "x"])
    assert result.exit_code == 2
    assert "no model.safetensors" in result.stderr and "Traceback" not in result.output


def test_host_serve_of_a_missing_folder_exits_2() -> None:
    result = runner.invoke(app, ["host", "serve", "--model", "/no/such/model"])
    assert result.exit_code == 2
    assert "no such model folder" in result.stderr
