"""Tokenizer, chat template, reasoning split and tool-call parsing on a tiny tokenizer trained here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from host_model.chat_template import ChatTemplate, default_chat_template
from host_model.errors import ChatFormatError, HostModelError
from host_model.parsers import (
    ParsedToolCall,
    StreamParser,
    parse_tool_calls,
    prompt_ends_in_reasoning,
    render_tool_call,
    split_reasoning,
)
from host_model.tokenizer import Tokenizer
from host_model.tokenizer_train import SPECIAL_TOKENS, train_bpe_tokenizer

ENGLISH = ["the cat sat on the mat", "a quick brown fox jumps over the lazy dog", "tools return results to the model",
           "please call the weather function", "reasoning comes before the answer", "hello world and good morning"]
CHINESE = ["今天天气很好", "我们去公园散步", "模型先思考再回答", "请调用天气工具", "北京上海广州深圳", "你好世界早上好"]
CHINESE_SENTENCE = "今天北京的天气很好，我们一起去公园散步吧！"

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string"}, "days": {"type": "integer"}, "celsius": {"type": "boolean"},
        "threshold": {"type": "number"}, "hours": {"type": "array"}, "options": {"type": "object"},
        "note": {"type": ["string", "null"]}}}}}
SEARCH_TOOL = {"type": "function", "function": {
    "name": "search", "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}}
TOOLS = [WEATHER_TOOL, SEARCH_TOOL]


def _corpus() -> list[str]:
    texts = []
    for n in range(40):
        for english, chinese in zip(ENGLISH, CHINESE, strict=True):
            texts.append(f"{english} {n}")
            texts.append(f"{chinese}，第{n}次")
    return texts


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_bpe_tokenizer(_corpus(), 600, tmp_path_factory.mktemp("tok"))


@pytest.fixture(scope="module")
def tok(folder: Path) -> Tokenizer:
    return Tokenizer.from_dir(folder)


@pytest.fixture(scope="module")
def hf_tok(folder: Path) -> Any:
    import transformers  # a dev dependency: missing is a failure, not a skip
    return transformers.AutoTokenizer.from_pretrained(str(folder))


def _conversation(arguments: Any) -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "北京天气怎么样？"},
        {"role": "assistant", "content": "", "reasoning_content": "I should call the tool.",
         "tool_calls": [{"id": "call_1", "type": "function",
                         "function": {"name": "get_weather", "arguments": arguments}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "晴 25°C"},
        {"role": "tool", "tool_call_id": "call_2", "content": "wind 3 km/h"},
        {"role": "assistant", "content": "It is sunny, 25°C.", "reasoning_content": "Sunny."},
        {"role": "user", "content": "thanks"},
    ]


ARGS = {"city": "北京", "days": 3, "celsius": True, "hours": [9, 12], "options": {"unit": "metric"}}


def _stream(text: str, tools: list[dict[str, Any]] | None, *, chunk: int = 1,
            starts_in_reasoning: bool = True) -> tuple[str, str, list[ParsedToolCall], list[str]]:
    parser = StreamParser(tools, starts_in_reasoning=starts_in_reasoning)
    reasoning, content, calls, pieces = "", "", [], []
    deltas = [parser.feed(text[i:i + chunk]) for i in range(0, len(text), chunk)] + [parser.finish()]
    for delta in deltas:
        reasoning += delta.reasoning_content
        content += delta.content
        calls += delta.tool_calls
        pieces += [delta.reasoning_content, delta.content]
    return reasoning, content, calls, pieces


# --- tokenizer ---------------------------------------------------------------------------------------------------

def test_chat_tokens_take_the_first_ids_in_a_fixed_order(tok: Tokenizer) -> None:
    assert [tok.token_to_id(token.content) for token in SPECIAL_TOKENS] == list(range(len(SPECIAL_TOKENS)))
    assert (tok.special.pad, tok.bos_token_id, tok.special.im_start, tok.special.im_end) == (0, 1, 2, 3)
    assert (tok.special.think_start, tok.special.think_end) == (4, 5)
    assert (tok.special.tool_call_start, tok.special.tool_call_end) == (6, 7)
    assert tok.eos_token_ids == [3]


def test_round_trip_keeps_english_chinese_and_emoji(tok: Tokenizer) -> None:
    text = "the cat 说：你好世界 😀🚀 ok\n\tdone"
    assert tok.decode(tok.encode(text)) == text


def test_chat_markers_encode_as_single_tokens(tok: Tokenizer) -> None:
    assert tok.encode("<|im_start|>user\n<think>x</think>")[:1] == [2]
    assert tok.encode("<think>") == [4]
    assert tok.encode("</tool_call>") == [7]


def test_decode_skips_role_markers_but_keeps_think_and_tool_tags(tok: Tokenizer) -> None:
    ids = tok.encode("<|im_start|>assistant\n<think>hm</think><tool_call>x</tool_call><|im_end|>")
    assert tok.decode(ids) == "assistant\n<think>hm</think><tool_call>x</tool_call>"
    assert tok.decode(ids, skip_special_tokens=False).startswith("<|im_start|>")


def test_decode_rejects_an_id_outside_the_vocabulary(tok: Tokenizer) -> None:
    with pytest.raises(ChatFormatError, match=r"token id 99999 at position 1"):
        tok.decode([5, 99999])


def test_incremental_decoder_equals_full_decode_on_chinese(tok: Tokenizer) -> None:
    ids = tok.encode(CHINESE_SENTENCE + " 😀")
    decoder = tok.incremental_decoder()
    deltas = [decoder.step(token_id) for token_id in ids]
    assert "".join(deltas) == tok.decode(ids) == CHINESE_SENTENCE + " 😀"
    assert not any("\ufffd" in delta for delta in deltas)


def test_token_bytes_of_each_token_add_up_to_the_utf8_text(tok: Tokenizer) -> None:
    text = "机器人抓取红色方块 🤖 ok"
    assert b"".join(tok.token_bytes(i) for i in tok.encode(text)) == text.encode("utf-8")


def test_incremental_decoder_holds_back_a_character_split_over_tokens(tok: Tokenizer) -> None:
    ids = tok.encode("🚀")
    assert len(ids) > 1  # the emoji is not in the tiny vocabulary, so its bytes are separate tokens
    decoder = tok.incremental_decoder()
    assert [decoder.step(token_id) for token_id in ids] == [""] * (len(ids) - 1) + ["🚀"]


def test_incremental_decoder_emits_only_text_after_its_prefix(tok: Tokenizer) -> None:
    ids = tok.encode("你好 the cat")
    decoder = tok.incremental_decoder(prefix_ids=ids[:2])
    assert decoder.feed(ids[2:]) == tok.decode(ids)[len(tok.decode(ids[:2])):]


def test_transformers_loads_the_folder_with_the_same_ids(tok: Tokenizer, hf_tok: Any) -> None:
    text = "<|im_start|>user\n" + CHINESE_SENTENCE + " the cat 😀<|im_end|>"
    assert hf_tok(text, add_special_tokens=False)["input_ids"] == tok.encode(text)
    assert (hf_tok.bos_token_id, hf_tok.eos_token_id, hf_tok.pad_token_id) == (1, 3, 0)
    assert hf_tok.decode(tok.encode(text), skip_special_tokens=True) == tok.decode(tok.encode(text))


def test_missing_tokenizer_json_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "tokenizer_config.json").write_text("{}")
    with pytest.raises(ChatFormatError, match=r"tokenizer\.json is missing"):
        Tokenizer.from_dir(tmp_path)


def test_malformed_tokenizer_config_names_the_file(folder: Path, tmp_path: Path) -> None:
    (tmp_path / "tokenizer.json").write_bytes((folder / "tokenizer.json").read_bytes())
    (tmp_path / "tokenizer_config.json").write_text("{not json")
    with pytest.raises(ChatFormatError, match=r"tokenizer_config\.json is not readable JSON"):
        Tokenizer.from_dir(tmp_path)


def test_generation_config_adds_stop_ids(folder: Path, tmp_path: Path) -> None:
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    (tmp_path / "generation_config.json").write_text(json.dumps({"eos_token_id": [0, 3]}))
    assert Tokenizer.from_dir(tmp_path).eos_token_ids == [3, 0]


def test_too_small_vocab_size_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ChatFormatError, match=r"vocab_size 100 is too small"):
        train_bpe_tokenizer(["abc"], 100, tmp_path)


def test_chat_format_error_is_a_host_model_error() -> None:
    assert issubclass(ChatFormatError, HostModelError)


# --- chat template -----------------------------------------------------------------------------------------------

def test_template_matches_transformers_on_a_full_conversation(tok: Tokenizer, hf_tok: Any) -> None:
    messages = _conversation(ARGS)
    ours = tok.apply_chat_template(messages, tools=TOOLS)
    theirs = hf_tok.apply_chat_template(messages, tools=TOOLS, tokenize=False, add_generation_prompt=True)
    assert ours == theirs
    assert tok.encode(ours) == hf_tok.apply_chat_template(messages, tools=TOOLS, add_generation_prompt=True,
                                                          return_dict=False)


@pytest.mark.parametrize("enable_thinking", [True, False])
def test_template_matches_transformers_without_tools(tok: Tokenizer, hf_tok: Any, enable_thinking: bool) -> None:
    messages = _conversation(ARGS)[:2]
    ours = tok.apply_chat_template(messages, enable_thinking=enable_thinking)
    theirs = hf_tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True,
                                        enable_thinking=enable_thinking)
    assert ours == theirs


def test_generation_prompt_opens_a_think_block(tok: Tokenizer) -> None:
    prompt = tok.apply_chat_template([{"role": "user", "content": "hi"}])
    assert prompt == "<|begin_of_text|><|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n"
    assert prompt_ends_in_reasoning(prompt)


def test_disabled_thinking_leaves_think_out_of_the_prompt(tok: Tokenizer) -> None:
    prompt = tok.apply_chat_template([{"role": "user", "content": "hi"}], enable_thinking=False)
    assert prompt.endswith("<|im_start|>assistant\n")
    assert not prompt_ends_in_reasoning(prompt)


def test_reasoning_is_rendered_only_after_the_last_user_query(tok: Tokenizer) -> None:
    messages = [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1", "reasoning_content": "old"},
                {"role": "user", "content": "q2"}, {"role": "assistant", "content": "a2", "reasoning": "new"}]
    prompt = tok.apply_chat_template(messages, add_generation_prompt=False)
    assert "old" not in prompt
    assert "<|im_start|>assistant\na1<|im_end|>" in prompt
    assert prompt.endswith("<|im_start|>assistant\n<think>\nnew\n</think>\na2<|im_end|>\n")


def test_tool_results_share_one_tool_response_turn(tok: Tokenizer) -> None:
    prompt = tok.apply_chat_template(_conversation(ARGS))
    assert ("<|im_start|>tool_response\n<tool_response>晴 25°C</tool_response>"
            "<tool_response>wind 3 km/h</tool_response><|im_end|>\n") in prompt


def test_tools_are_listed_as_json_in_the_system_turn(tok: Tokenizer) -> None:
    prompt = tok.apply_chat_template([{"role": "user", "content": "hi"}], tools=TOOLS)
    assert prompt.startswith("<|begin_of_text|><|im_start|>system\n# Tools\n\n")
    assert "\n" + json.dumps(WEATHER_TOOL, ensure_ascii=False) + "\n" in prompt


def test_json_text_arguments_render_like_a_mapping(tok: Tokenizer) -> None:
    as_text = tok.apply_chat_template(_conversation(json.dumps(ARGS)))
    assert as_text == tok.apply_chat_template(_conversation(ARGS))


def test_template_writes_tool_calls_as_render_tool_call_does(tok: Tokenizer) -> None:
    prompt = tok.apply_chat_template(_conversation(ARGS))
    assert render_tool_call("get_weather", ARGS) in prompt


def test_invalid_json_arguments_name_the_message(tok: Tokenizer) -> None:
    with pytest.raises(ChatFormatError, match=r"messages\[2\]\.tool_calls\[0\]\.arguments is not valid JSON"):
        tok.apply_chat_template(_conversation("{city: 北京"))


def test_template_raise_exception_becomes_chat_format_error() -> None:
    template = ChatTemplate("{{ raise_exception('no system role here') }}", origin="custom")
    with pytest.raises(ChatFormatError, match=r"custom: chat template failed: no system role here"):
        template.render([{"role": "user", "content": "hi"}])


def test_template_syntax_error_names_the_line() -> None:
    with pytest.raises(ChatFormatError, match=r"syntax error at line 2"):
        ChatTemplate("ok\n{% if %}", origin="broken")


def test_unknown_role_is_named(tok: Tokenizer) -> None:
    with pytest.raises(ChatFormatError, match=r"messages\[1\]: unknown role critic"):
        tok.apply_chat_template([{"role": "user", "content": "a"}, {"role": "critic", "content": "b"}])


def test_image_content_part_is_rejected(tok: Tokenizer) -> None:
    with pytest.raises(ChatFormatError, match=r"only text content parts"):
        tok.apply_chat_template([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}])


def test_empty_message_list_is_rejected(tok: Tokenizer) -> None:
    with pytest.raises(ChatFormatError, match=r"messages is empty"):
        tok.apply_chat_template([])


def test_chat_template_file_wins_over_the_config(folder: Path, tmp_path: Path) -> None:
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    (tmp_path / "chat_template.jinja").write_text("{% for m in messages %}[{{ m.role }}]{% endfor %}")
    assert Tokenizer.from_dir(tmp_path).apply_chat_template([{"role": "user", "content": "x"}]) == "[user]"


def test_trained_folder_carries_the_default_template(folder: Path) -> None:
    config = json.loads((folder / "tokenizer_config.json").read_text())
    assert config["chat_template"] == default_chat_template()


# --- split_reasoning -----------------------------------------------------------------------------------------------

def test_text_before_end_tag_is_reasoning_without_a_start_tag() -> None:
    assert split_reasoning("plan it</think>answer") == ("plan it", "answer")


def test_one_newline_each_side_of_end_tag_is_stripped() -> None:
    assert split_reasoning("plan\n\n</think>\n\nanswer\n") == ("plan\n", "\nanswer\n")


def test_completion_without_end_tag_is_all_reasoning() -> None:
    assert split_reasoning("still thinking\n") == ("still thinking", "")


def test_no_tags_is_content_when_the_prompt_left_think_closed() -> None:
    assert split_reasoning("just an answer", starts_in_reasoning=False) == (None, "just an answer")


def test_generated_start_tag_opens_reasoning_after_content() -> None:
    assert split_reasoning("pre <think>\nhm\n</think>\npost", starts_in_reasoning=False) == ("hm", "pre post")


def test_repeated_start_tag_inside_reasoning_is_dropped() -> None:
    assert split_reasoning("<think>\nhm</think>ok") == ("hm", "ok")


def test_empty_reasoning_is_none() -> None:
    assert split_reasoning("\n</think>\nanswer") == (None, "answer")


# --- parse_tool_calls ----------------------------------------------------------------------------------------------

def _call(name: str, **parameters: str) -> str:
    body = "".join(f"<parameter={key}>\n{value}\n</parameter>\n" for key, value in parameters.items())
    return f"<tool_call>\n<function={name}>\n{body}</function>\n</tool_call>"


def test_values_are_typed_by_the_schema() -> None:
    text = _call("get_weather", city="北京", days="3", celsius="True", threshold="2.5", hours="[9, 12]",
                 options='{"unit": "metric"}', note="null")
    content, calls = parse_tool_calls(text, TOOLS)
    assert content == ""
    assert calls[0].name == "get_weather"
    assert calls[0].arguments_dict() == {"city": "北京", "days": 3, "celsius": True, "threshold": 2.5,
                                         "hours": [9, 12], "options": {"unit": "metric"}, "note": None}


def test_arguments_are_json_text_in_parameter_order() -> None:
    _, calls = parse_tool_calls(_call("get_weather", city="Paris", days="2"), TOOLS)
    assert calls[0].arguments == '{"city": "Paris", "days": 2}'


def test_value_that_does_not_fit_its_type_stays_a_string() -> None:
    _, calls = parse_tool_calls(_call("get_weather", days="three", threshold="nan"), TOOLS)
    assert calls[0].arguments_dict() == {"days": "three", "threshold": "nan"}


def test_python_literal_array_is_converted() -> None:
    _, calls = parse_tool_calls(_call("get_weather", hours="['9am', True, None]"), TOOLS)
    assert calls[0].arguments_dict() == {"hours": ["9am", True, None]}


def test_without_tools_every_value_is_a_string() -> None:
    _, calls = parse_tool_calls(_call("get_weather", days="3"))
    assert calls[0].arguments_dict() == {"days": "3"}


def test_multiline_string_keeps_inner_newlines() -> None:
    _, calls = parse_tool_calls(_call("search", query="line one\n\nline two"), TOOLS)
    assert calls[0].arguments_dict() == {"query": "line one\n\nline two"}


def test_several_calls_follow_text() -> None:
    text = "Let me check both.\n\n" + _call("get_weather", city="Paris") + "\n" + _call("search", query="news")
    content, calls = parse_tool_calls(text, TOOLS)
    assert content == "Let me check both."
    assert [(call.index, call.name) for call in calls] == [(0, "get_weather"), (1, "search")]


def test_text_without_calls_is_unchanged() -> None:
    text = "  a < b and <tool or <function but no call \n"
    assert parse_tool_calls(text, TOOLS) == (text, [])


def test_function_tag_without_equals_is_repaired_for_a_known_tool() -> None:
    _, calls = parse_tool_calls("<tool_call>\n<function search>\n<parameter=query>\nx\n</parameter>\n"
                                "</function>\n</tool_call>", TOOLS)
    assert [(call.name, call.arguments_dict()) for call in calls] == [("search", {"query": "x"})]


def test_function_tag_without_equals_is_not_trusted_for_an_unknown_tool() -> None:
    assert parse_tool_calls("<tool_call>\n<function delete_all>\n</function>\n</tool_call>", TOOLS)[1] == []


def test_missing_closing_brackets_are_repaired() -> None:
    text = "<tool_call>\n<function=get_weather\n<parameter=days:\n4\n</parameter>\n</function>\n</tool_call>"
    _, calls = parse_tool_calls(text, TOOLS)
    assert [(call.name, call.arguments_dict()) for call in calls] == [("get_weather", {"days": 4})]


def test_unclosed_parameter_ends_where_the_next_begins() -> None:
    text = "<tool_call>\n<function=get_weather>\n<parameter=city>\nOslo\n<parameter=days>\n1\n</parameter>\n"
    _, calls = parse_tool_calls(text + "</function>\n</tool_call>", TOOLS)
    assert calls[0].arguments_dict() == {"city": "Oslo", "days": 1}


def test_call_cut_off_at_the_end_is_still_parsed() -> None:
    _, calls = parse_tool_calls("<tool_call>\n<function=search>\n<parameter=query>\ncats", TOOLS)
    assert calls[0].arguments_dict() == {"query": "cats"}


def test_function_without_tool_call_wrapper_is_a_call() -> None:
    content, calls = parse_tool_calls("ok <function=search>\n<parameter=query>\nq\n</parameter>\n</function>", TOOLS)
    assert (content, [call.name for call in calls]) == ("ok", ["search"])


def test_unterminated_tool_call_tag_without_function_stays_text() -> None:
    assert parse_tool_calls("write <tool_call> tags like this", TOOLS) == ("write <tool_call> tags like this", [])


def test_call_without_function_is_dropped() -> None:
    assert parse_tool_calls("<tool_call>\nnothing here\n</tool_call>", TOOLS) == ("", [])


def test_rendered_call_parses_back_to_its_arguments() -> None:
    arguments = {"city": "北京", "days": 3, "celsius": False, "hours": [1, 2], "options": {"a": [None]},
                 "note": None}
    _, calls = parse_tool_calls(render_tool_call("get_weather", json.dumps(arguments)), TOOLS)
    assert calls[0].arguments_dict() == arguments


def test_render_tool_call_rejects_non_object_arguments() -> None:
    with pytest.raises(ChatFormatError, match=r"arguments of tool call 'search' must be a JSON object"):
        render_tool_call("search", "[1, 2]")


def test_nameless_tool_is_rejected() -> None:
    with pytest.raises(ChatFormatError, match=r"tools\[1\] has no function name"):
        parse_tool_calls("x", [SEARCH_TOOL, {"type": "function", "function": {"parameters": {}}}])


# --- StreamParser --------------------------------------------------------------------------------------------------

STREAM_CASES = [
    "plan the call\n</think>\n\nI will look it up.\n\n" + _call("get_weather", city="北京", days="3") + "\n",
    "a\n\n</think>\n" + _call("search", query="x < y </parameter") + _call("search", query="z") + " tail",
    "reasoning with <tool_call> inside</think>answer with < and <thinking> and </think> literal",
    "no end tag at all\n",
    "</think><function=search>\n<parameter=query>\nq\n</parameter>\n</function>\n</tool_call>\nafter",
    "x</think>\n<tool_call>\n<function=get_weather\n<parameter=days:\n4\n<tool_call>\n<function=search>\n",
    "😀 thinking 你好\n</think>\n你好 😀 <tool_c",
    "t</think>\nsay <tool_call> and go on",
]


@pytest.mark.parametrize("chunk", [1, 2, 5])
@pytest.mark.parametrize("text", STREAM_CASES)
def test_stream_gives_the_whole_text_result(text: str, chunk: int) -> None:
    reasoning, content = split_reasoning(text)
    expected_content, expected_calls = parse_tool_calls(content, TOOLS)
    got_reasoning, got_content, got_calls, _ = _stream(text, TOOLS, chunk=chunk)
    assert (got_reasoning or None, got_content, got_calls) == (reasoning, expected_content, expected_calls)


@pytest.mark.parametrize("text", STREAM_CASES)
def test_stream_starting_outside_reasoning_gives_the_whole_text_result(text: str) -> None:
    reasoning, content = split_reasoning(text, starts_in_reasoning=False)
    got_reasoning, got_content, got_calls, _ = _stream(text, TOOLS, starts_in_reasoning=False)
    assert (got_reasoning or None, got_content, got_calls) == (reasoning, *parse_tool_calls(content, TOOLS))


def test_stream_never_shows_part_of_a_tag() -> None:
    text = "think\n</think>\nHi <tool_call>\n<function=search>\n<parameter=query>\nq\n</parameter>\n</function>\n"
    _, _, calls, pieces = _stream(text + "</tool_call>", TOOLS)
    assert "".join(pieces) == "thinkHi"
    assert not any("<" in piece or "\n" in piece for piece in pieces)
    assert [call.name for call in calls] == ["search"]


def test_stream_holds_a_tool_call_until_it_is_complete() -> None:
    parser = StreamParser(TOOLS, starts_in_reasoning=False)
    text = _call("search", query="q")
    assert not parser.feed(text[:-1]).tool_calls
    assert [call.name for call in parser.feed(text[-1]).tool_calls] == ["search"]


def test_stream_without_tool_detection_keeps_the_xml_as_content() -> None:
    parser = StreamParser(TOOLS, starts_in_reasoning=False, detect_tool_calls=False)
    text = _call("search", query="q")
    delta = parser.feed(text)
    assert delta.content + parser.finish().content == text
    assert parser.tool_calls == []


def test_stream_parser_keeps_totals() -> None:
    parser = StreamParser(TOOLS)
    parser.feed("why\n</think>\nbecause " + _call("search", query="q"))
    parser.finish()
    assert (parser.reasoning_content, parser.content, [call.name for call in parser.tool_calls]) == (
        "why", "because", ["search"])
