"""The OpenAI-compatible server on the tiny model, driven by the official `openai` client over real HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import openai
import pytest

from host_model.chat_service import ChatService

MODEL = "tiny"
CONTEXT = 1024
HELLO = [{"role": "user", "content": "Hello! What is the weather in Paris?"}]
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "maxLength": 12},
        "days": {"type": "integer", "minimum": 0, "maximum": 7},
        "unit": {"enum": ["celsius", "fahrenheit"]}},
        "required": ["city", "days", "unit"], "additionalProperties": False}}}
ADD = {"type": "function", "function": {
    "name": "add", "parameters": {"type": "object", "properties": {
        "a": {"type": "integer", "minimum": 0, "maximum": 99}, "b": {"type": "boolean"}},
        "required": ["a", "b"], "additionalProperties": False}}}
ANSWER_SCHEMA = {"type": "object", "properties": {
    "answer": {"type": "string", "maxLength": 16}, "confidence": {"type": "integer", "minimum": 0, "maximum": 10},
    "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2}},
    "required": ["answer", "confidence", "tags"], "additionalProperties": False}


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=base_url, api_key="not-needed", max_retries=0, timeout=120) as c:
        yield c


def chat(client: openai.OpenAI, **kwargs: Any) -> Any:
    request: dict[str, Any] = {"model": MODEL, "messages": HELLO, "temperature": 0, "max_tokens": 8, **kwargs}
    return client.chat.completions.create(**request)


def wait_until_idle(base_url: str, timeout_s: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        health = httpx.get(base_url.removesuffix("/v1") + "/health").json()
        if (health["running"], health["waiting"]) == (0, 0) or time.monotonic() > deadline:
            return health
        time.sleep(0.05)


# ---- models, health ---------------------------------------------------------------------------------

def test_models_list_names_the_served_model(client: openai.OpenAI) -> None:
    models = client.models.list()
    assert [m.id for m in models.data] == [MODEL]


def test_health_reports_ok_and_an_idle_engine(base_url: str) -> None:
    health = wait_until_idle(base_url)
    assert health == {"status": "ok", "model": MODEL, "running": 0, "waiting": 0}


# ---- plain completions ------------------------------------------------------------------------------

def test_stream_adds_up_to_the_non_streamed_greedy_reply(client: openai.OpenAI) -> None:
    whole = chat(client, max_tokens=12)
    stream = chat(client, max_tokens=12, stream=True)
    chunks = list(stream)
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == whole.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == whole.choices[0].finish_reason


def test_usage_counts_prompt_and_completion_tokens(client: openai.OpenAI, service: ChatService) -> None:
    reply = chat(client, max_tokens=5)
    prompt_ids = service.tokenizer.encode_chat(HELLO, enable_thinking=False)
    assert reply.usage.prompt_tokens == len(prompt_ids)
    assert reply.usage.completion_tokens == 5
    assert reply.usage.total_tokens == len(prompt_ids) + 5


def test_stream_sends_usage_last_when_asked(client: openai.OpenAI) -> None:
    chunks = list(chat(client, max_tokens=5, stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == 5
    assert all(c.usage is None for c in chunks[:-1])


def test_max_tokens_cuts_the_reply_with_finish_reason_length(client: openai.OpenAI) -> None:
    reply = chat(client, max_tokens=3)
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage.completion_tokens == 3


def test_same_seed_samples_the_same_reply(client: openai.OpenAI) -> None:
    first = chat(client, temperature=1.0, seed=7, max_tokens=10)
    again = chat(client, temperature=1.0, seed=7, max_tokens=10)
    assert first.choices[0].message.content == again.choices[0].message.content


def test_stop_string_ends_the_reply_before_it(client: openai.OpenAI) -> None:
    text = chat(client, max_tokens=12).choices[0].message.content
    stop = text[3:5]
    cut = chat(client, max_tokens=12, stop=[stop])
    assert cut.choices[0].message.content == text[:text.index(stop)]
    assert cut.choices[0].finish_reason == "stop"


def test_logprobs_come_back_per_token_when_asked(client: openai.OpenAI) -> None:
    reply = chat(client, max_tokens=4, logprobs=True, top_logprobs=3)
    entries = reply.choices[0].logprobs.content
    assert len(entries) == 4
    assert all(len(e.top_logprobs) == 3 and e.logprob <= 0.0 for e in entries)
    assert all(e.top_logprobs[0].logprob >= e.logprob for e in entries)  # greedy picks the most likely token


def test_reasoning_goes_to_reasoning_content_when_thinking_is_on(client: openai.OpenAI) -> None:
    reply = chat(client, max_tokens=6, extra_body={"chat_template_kwargs": {"enable_thinking": True}})
    message = reply.choices[0].message
    assert message.model_extra["reasoning_content"]  # the prompt opened <think>; the tiny model never closes it
    assert not message.content


# ---- structured output and tools --------------------------------------------------------------------

def test_json_schema_response_format_gives_valid_json(client: openai.OpenAI) -> None:
    reply = chat(client, max_tokens=200, response_format={
        "type": "json_schema", "json_schema": {"name": "answer", "schema": ANSWER_SCHEMA}})
    jsonschema.validate(json.loads(reply.choices[0].message.content), ANSWER_SCHEMA)
    assert reply.choices[0].finish_reason == "stop"


def test_json_object_response_format_gives_a_json_object(client: openai.OpenAI) -> None:
    # free-form keys are unbounded and the model is random: this seed closes the object within the limit
    reply = chat(client, max_tokens=200, temperature=1.0, seed=1, response_format={"type": "json_object"})
    assert reply.choices[0].finish_reason == "stop"
    assert isinstance(json.loads(reply.choices[0].message.content), dict)


def test_forced_tool_call_comes_back_in_the_message(client: openai.OpenAI) -> None:
    reply = chat(client, max_tokens=200, tools=[WEATHER, ADD],
                 tool_choice={"type": "function", "function": {"name": "get_weather"}})
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.function.name == "get_weather" and call.id.startswith("call_")
    jsonschema.validate(json.loads(call.function.arguments), WEATHER["function"]["parameters"])


def test_forced_tool_call_streams_as_tool_call_deltas(client: openai.OpenAI) -> None:
    chunks = [c for c in chat(client, max_tokens=200, tools=[WEATHER], tool_choice="required", stream=True)
              if c.choices]
    deltas = [d for c in chunks for d in c.choices[0].delta.tool_calls or []]
    assert deltas[0].function.name == "get_weather" and deltas[0].id
    arguments = "".join(d.function.arguments or "" for d in deltas)
    jsonschema.validate(json.loads(arguments), WEATHER["function"]["parameters"])
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_required_tool_choice_among_several_tools_calls_one_of_them(client: openai.OpenAI) -> None:
    reply = chat(client, max_tokens=200, tools=[WEATHER, ADD], tool_choice="required")
    (call,) = reply.choices[0].message.tool_calls
    assert call.function.name in ("get_weather", "add")
    assert reply.choices[0].finish_reason == "tool_calls"
    tool = {"get_weather": WEATHER, "add": ADD}[call.function.name]
    jsonschema.validate(json.loads(call.function.arguments), tool["function"]["parameters"])  # raises if invalid


def test_tool_calls_and_results_in_the_history_render_into_the_prompt(client: openai.OpenAI,
                                                                       service: ChatService) -> None:
    history = [
        {"role": "developer", "content": "Answer briefly."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "reasoning_content": "I should look it up.", "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris", "days": 1, "unit": "celsius"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18 C, sunny"},
    ]
    reply = chat(client, messages=history, tools=[WEATHER], max_tokens=4)
    as_template_sees_it = [{**history[0], "role": "system"}, *history[1:]]
    expected = service.tokenizer.encode_chat(as_template_sees_it, tools=[WEATHER], enable_thinking=False)
    assert reply.usage.prompt_tokens == len(expected)
    assert "<parameter=city>\nParis\n</parameter>" in service.tokenizer.decode(expected)


def test_concurrent_requests_are_all_answered(client: openai.OpenAI) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=6) as pool:  # more requests than the engine's 4 slots
        replies = list(pool.map(lambda n: chat(client, max_tokens=3 + n), range(6)))
    assert [r.usage.completion_tokens for r in replies] == [3, 4, 5, 6, 7, 8]


# ---- errors -----------------------------------------------------------------------------------------

def test_bad_field_is_a_400_that_names_the_field(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        chat(client, temperature="hot")
    assert "temperature" in caught.value.message
    assert caught.value.body["param"] == "temperature"


def test_bad_message_role_is_a_400_that_names_the_message(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        chat(client, messages=[{"role": "user", "content": "hi"}, {"role": "robot", "content": "x"}])
    assert "messages[1].role" in caught.value.message


def test_more_than_one_choice_is_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        chat(client, n=2)
    assert "n: only n=1 is supported" in caught.value.message


def test_unknown_model_is_a_404_that_names_the_served_model(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        chat(client, model="gpt-17")
    assert "'gpt-17'" in caught.value.message and f"'{MODEL}'" in caught.value.message


def test_prompt_longer_than_the_context_is_a_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        chat(client, messages=[{"role": "user", "content": "Paris Tokyo Berlin " * 800}])
    assert f"context is {CONTEXT} tokens" in caught.value.message
    assert caught.value.code == "context_length_exceeded"


def test_tool_choice_naming_an_unknown_tool_is_a_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        chat(client, tools=[ADD], tool_choice={"type": "function", "function": {"name": "nope"}})
    assert "no tool named 'nope'" in caught.value.message


def test_invalid_json_schema_is_a_400_naming_response_format(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        chat(client, response_format={"type": "json_schema", "json_schema": {
            "name": "x", "schema": {"type": "object", "properties": {"a": {"type": "no-such-type"}}}}})
    assert caught.value.body["message"].startswith("response_format.json_schema.schema: invalid")


def test_body_that_is_not_json_is_an_openai_shaped_400(base_url: str) -> None:
    reply = httpx.post(f"{base_url}/chat/completions", content=b"{not json",
                       headers={"Content-Type": "application/json"})
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error" and "not valid JSON" in error["message"]


def test_unknown_route_is_an_openai_shaped_404(base_url: str) -> None:
    reply = httpx.post(f"{base_url}/completions", json={})
    assert reply.status_code == 404
    assert "/v1/chat/completions" in reply.json()["error"]["message"]


# ---- disconnects ------------------------------------------------------------------------------------

def test_closing_a_stream_aborts_the_request_in_the_engine(base_url: str, service: ChatService) -> None:
    stats = service.engine.engine.stats
    before = stats.decode_tokens
    body = {"model": MODEL, "messages": HELLO, "temperature": 0, "stream": True}  # no max_tokens: the whole context
    with httpx.stream("POST", f"{base_url}/chat/completions", json=body, timeout=60) as reply:
        lines = reply.iter_lines()
        seen = [next(lines) for _ in range(6)]
    assert seen[0].startswith("data: ")
    assert wait_until_idle(base_url)["running"] == 0
    assert stats.decode_tokens - before < CONTEXT // 2  # stopped long before the context was full


def test_a_client_that_gives_up_aborts_a_non_streamed_request(base_url: str, service: ChatService) -> None:
    stats = service.engine.engine.stats
    before = stats.decode_tokens
    body = {"model": MODEL, "messages": HELLO, "temperature": 0}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{base_url}/chat/completions", json=body, timeout=httpx.Timeout(60, read=0.5))
    assert wait_until_idle(base_url)["running"] == 0
    assert stats.decode_tokens - before < CONTEXT // 2


# ---- the CLI ----------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_agentos_host_serve_starts_and_answers(model_dir: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "agentos", "host", "serve", "--model", str(model_dir), "--port", str(port),
               "--max-context", "1024", "--max-batch", "2", "--no-thinking", "--name", "cli-tiny",
               "--log-level", "warning"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "agentos host serve did not start"
                time.sleep(0.2)
        with openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0) as c:
            reply = c.chat.completions.create(model="cli-tiny", messages=HELLO, max_tokens=4, temperature=0)
        assert reply.usage.completion_tokens == 4
        assert reply.model == "cli-tiny"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
