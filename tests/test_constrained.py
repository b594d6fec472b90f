"""Constrained decoding with a real byte-level BPE tokenizer trained here (~500 tokens).

Random decoding driven only by the mask must always give valid output: if any allowed token could lead outside
the schema, some seed would find it.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import jsonschema
import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from host_model.constrained import (
    GrammarConstraint,
    cache_stats,
    grammar_constraint,
    json_schema_constraint,
    xml_tool_call_grammar,
)
from host_model.errors import ConstraintError

EOS = "<|eos|>"
WORDS = ("plan", "the", "task", "write", "a", "summary", "of", "each", "file", "then", "check", "tests", "run",
         "code", "image", "search", "web", "fetch", "page", "answer", "user", "goal", "node", "kind", "deps",
         "params", "retries", "note", "text", "null", "true", "false")

TASK_GRAPH_SCHEMA = {
    "$defs": {
        "node": {
            "type": "object",
            "properties": {
                "id": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,7}$"},
                "kind": {"enum": ["text", "image", "code"]},
                "deps": {"type": "array", "items": {"type": "string", "maxLength": 6}, "maxItems": 2},
                "params": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/params"}]},
            },
            "required": ["id", "kind", "deps"],
            "additionalProperties": False,
        },
        "params": {
            "type": "object",
            "properties": {
                "retries": {"type": "integer", "minimum": 0, "maximum": 5},
                "note": {"type": "string", "maxLength": 8},
            },
            "additionalProperties": False,
        },
    },
    "type": "object",
    "properties": {
        "goal": {"type": "string", "maxLength": 12},
        "nodes": {"type": "array", "items": {"$ref": "#/$defs/node"}, "minItems": 1, "maxItems": 3},
    },
    "required": ["goal", "nodes"],
    "additionalProperties": False,
}


def _corpus(rng: random.Random) -> list[str]:
    lines = []
    for _ in range(150):
        node = {"id": rng.choice(WORDS), "kind": rng.choice(["text", "image", "code"]),
                "deps": rng.sample(WORDS, 2), "params": {"retries": rng.randint(0, 5), "note": rng.choice(WORDS)}}
        doc = {"goal": " ".join(rng.sample(WORDS, 3)), "nodes": [node]}
        lines.append(json.dumps(doc, indent=rng.choice([None, 2])))
        lines.append(" ".join(rng.choice(WORDS) for _ in range(10)) + ".")
        lines.append(f"<tool_call>\n<function={rng.choice(WORDS)}>\n<parameter=city>\n{rng.choice(WORDS)}\n"
                     "</parameter>\n</function>\n</tool_call>")
    return lines


def _train(special_tokens: list[str]) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=500, special_tokens=special_tokens, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(_corpus(random.Random(0)), trainer)
    return tokenizer


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return _train([EOS])


@pytest.fixture(scope="module")
def tokenizer_file(tokenizer: Tokenizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tokenizer.save(str(path))
    return path


@pytest.fixture(scope="module")
def eos(tokenizer: Tokenizer) -> int:
    return tokenizer.token_to_id(EOS)


def _random_decode(constraint: GrammarConstraint, vocab_size: int, eos: int, seed: int,
                   check_mask=None, max_steps: int = 3000) -> list[int]:
    """Pick uniformly among the allowed tokens until the constraint finishes or EOS is picked."""
    rng = random.Random(seed)
    chosen: list[int] = []
    for _ in range(max_steps):
        if constraint.is_finished():
            return chosen
        mask = constraint.allowed_mask(vocab_size)
        if check_mask is not None:
            check_mask(mask)
        token = rng.choice(mask.nonzero().view(-1).tolist())
        constraint.advance(token)
        if token == eos:
            return chosen
        chosen.append(token)
    raise AssertionError(f"seed {seed}: no end after {max_steps} steps")


@pytest.mark.parametrize("seed", range(8))
def test_random_decoding_under_the_mask_yields_json_valid_against_the_schema(tokenizer, tokenizer_file, eos, seed):
    constraint = json_schema_constraint(TASK_GRAPH_SCHEMA, tokenizer_file, eos_token_ids=[eos])
    text = tokenizer.decode(_random_decode(constraint, tokenizer.get_vocab_size(), eos, seed))
    assert constraint.is_finished()
    jsonschema.validate(json.loads(text), TASK_GRAPH_SCHEMA)  # raises on any violation


def test_random_decoding_compact_mode_has_no_whitespace_outside_strings(tokenizer, eos):
    constraint = json_schema_constraint(TASK_GRAPH_SCHEMA, tokenizer, eos_token_ids=[eos], max_whitespace_run=0)
    text = tokenizer.decode(_random_decode(constraint, tokenizer.get_vocab_size(), eos, seed=1))
    assert text == json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)


def test_eos_is_masked_until_the_json_is_complete_then_is_the_only_token(tokenizer, eos):
    document = '{"goal": "plan", "nodes": [{"id": "a1", "kind": "code", "deps": [], "params": null}]}'
    constraint = json_schema_constraint(TASK_GRAPH_SCHEMA, tokenizer, eos_token_ids=[eos])
    for token in tokenizer.encode(document).ids:
        mask = constraint.allowed_mask(tokenizer.get_vocab_size())
        assert mask[token] and not mask[eos]
        assert not constraint.is_finished()
        constraint.advance(token)
    assert constraint.is_finished()
    assert constraint.allowed_mask(tokenizer.get_vocab_size()).nonzero().view(-1).tolist() == [eos]


def test_eos_is_allowed_beside_more_text_when_the_grammar_may_end_or_go_on(tokenizer, eos):
    constraint = grammar_constraint('start: /[a-z]+/', tokenizer, eos_token_ids=[eos])
    constraint.advance(tokenizer.token_to_id("a"))
    mask = constraint.allowed_mask(tokenizer.get_vocab_size())
    assert mask[eos] and mask[tokenizer.token_to_id("b")]
    assert not constraint.is_finished()
    constraint.advance(eos)
    assert constraint.is_finished()


def test_json_object_mode_accepts_any_object_and_rejects_a_top_level_array(tokenizer, eos):
    constraint = json_schema_constraint(None, tokenizer, eos_token_ids=[eos])
    first = constraint.allowed_mask(tokenizer.get_vocab_size())
    assert not first[tokenizer.token_to_id("[")]
    for token in tokenizer.encode('{"note": [1, {"x": null}], "ok": true}').ids:
        constraint.advance(token)
    assert constraint.is_finished()


def test_schema_with_an_unknown_type_raises_constraint_error_naming_it(tokenizer, eos):
    with pytest.raises(ConstraintError, match="foo"):
        json_schema_constraint({"type": "foo"}, tokenizer, eos_token_ids=[eos])


def test_schema_with_a_dangling_ref_raises_constraint_error_naming_the_pointer(tokenizer, eos):
    with pytest.raises(ConstraintError, match="/\\$defs/missing"):
        json_schema_constraint({"$ref": "#/$defs/missing"}, tokenizer, eos_token_ids=[eos])


def test_schema_that_is_not_an_object_raises_constraint_error(tokenizer, eos):
    with pytest.raises(ConstraintError, match="must be a JSON object"):
        json_schema_constraint(["type", "object"], tokenizer, eos_token_ids=[eos])  # type: ignore[arg-type]


def test_schema_with_an_unsupported_regex_raises_constraint_error(tokenizer, eos):
    with pytest.raises(ConstraintError, match="look-around"):
        json_schema_constraint({"type": "string", "pattern": "(?=a)b"}, tokenizer, eos_token_ids=[eos])


def test_eos_id_outside_the_tokenizer_raises_constraint_error(tokenizer):
    with pytest.raises(ConstraintError, match="eos_token_ids"):
        json_schema_constraint(None, tokenizer, eos_token_ids=[10_000])


def test_missing_tokenizer_file_raises_constraint_error_naming_the_path(tmp_path, eos):
    missing = tmp_path / "nope.json"
    with pytest.raises(ConstraintError, match=r"nope\.json"):
        json_schema_constraint(None, missing, eos_token_ids=[eos])


def test_advancing_with_a_disallowed_token_raises_constraint_error(tokenizer, eos):
    constraint = json_schema_constraint(TASK_GRAPH_SCHEMA, tokenizer, eos_token_ids=[eos])
    with pytest.raises(ConstraintError, match="not allowed"):
        constraint.advance(tokenizer.token_to_id("["))


def test_mask_never_allows_padding_rows_past_the_tokenizer_vocab(tokenizer, eos):
    model_rows = tokenizer.get_vocab_size() + 37
    constraint = json_schema_constraint(TASK_GRAPH_SCHEMA, tokenizer, eos_token_ids=[eos], vocab_size=model_rows)

    def check(mask: torch.Tensor) -> None:
        assert mask.shape == (model_rows,) and mask.dtype == torch.bool
        assert not mask[tokenizer.get_vocab_size():].any()

    _random_decode(constraint, model_rows, eos, seed=3, check_mask=check)


def test_second_constraint_for_the_same_schema_reuses_the_compiled_grammar(tokenizer, eos):
    json_schema_constraint(TASK_GRAPH_SCHEMA, tokenizer, eos_token_ids=[eos])
    before = cache_stats()
    json_schema_constraint(TASK_GRAPH_SCHEMA, tokenizer, eos_token_ids=[eos])
    after = cache_stats()
    assert after.grammar_hits == before.grammar_hits + 1
    assert after.grammar_misses == before.grammar_misses
    assert after.tokenizer_misses == before.tokenizer_misses


def test_constraints_sharing_a_compiled_grammar_advance_independently(tokenizer, eos):
    first = json_schema_constraint(None, tokenizer, eos_token_ids=[eos])
    second = json_schema_constraint(None, tokenizer, eos_token_ids=[eos])
    for token in tokenizer.encode("{}").ids:
        first.advance(token)
    assert first.is_finished() and not second.is_finished()
    assert second.allowed_mask(tokenizer.get_vocab_size())[tokenizer.token_to_id("{")]


TOOL_CALL = ("<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n"
             "<parameter=unit>\ncelsius\n</parameter>\n</function>\n</tool_call>")


def test_xml_tool_call_grammar_accepts_a_well_formed_call_and_then_finishes(tokenizer, eos):
    lark = xml_tool_call_grammar("get_weather", ["city", "unit"])
    constraint = grammar_constraint(lark, tokenizer, eos_token_ids=[eos])
    for token in tokenizer.encode(TOOL_CALL).ids:
        assert constraint.allowed_mask(tokenizer.get_vocab_size())[token]
        constraint.advance(token)
    assert constraint.is_finished()


def test_xml_tool_call_grammar_allows_only_the_named_function(tokenizer, eos):
    constraint = grammar_constraint(xml_tool_call_grammar("get_weather", ["city"]), tokenizer, eos_token_ids=[eos])
    for token in tokenizer.encode("<tool_call>\n<function=").ids:
        constraint.advance(token)
    allowed = constraint.allowed_mask(tokenizer.get_vocab_size()).nonzero().view(-1).tolist()
    assert allowed
    assert all("get_weather>\n".startswith(tokenizer.decode([t])) for t in allowed)


def test_xml_tool_call_grammar_rejects_an_undeclared_parameter(tokenizer, eos):
    constraint = grammar_constraint(xml_tool_call_grammar("get_weather", ["city"]), tokenizer, eos_token_ids=[eos])
    prefix = tokenizer.encode("<tool_call>\n<function=get_weather>\n<parameter=").ids
    for token in prefix:
        constraint.advance(token)
    allowed = constraint.allowed_mask(tokenizer.get_vocab_size()).nonzero().view(-1).tolist()
    assert all("city>\n".startswith(tokenizer.decode([t])) for t in allowed)


def test_xml_tool_call_grammar_uses_special_tag_tokens_when_the_tokenizer_has_them():
    tokenizer = _train([EOS, "<tool_call>", "</tool_call>"])
    eos = tokenizer.token_to_id(EOS)
    lark = xml_tool_call_grammar("get_weather", ["city"], special_tokens={"<tool_call>", "</tool_call>"})
    constraint = grammar_constraint(lark, tokenizer, eos_token_ids=[eos])
    first = constraint.allowed_mask(tokenizer.get_vocab_size()).nonzero().view(-1).tolist()
    assert first == [tokenizer.token_to_id("<tool_call>")]


def test_xml_tool_call_grammar_rejects_a_name_that_would_break_the_grammar():
    with pytest.raises(ConstraintError, match="get>weather"):
        xml_tool_call_grammar("get>weather", ["city"])


def test_invalid_lark_grammar_raises_constraint_error(tokenizer, eos):
    with pytest.raises(ConstraintError, match="Lark grammar"):
        grammar_constraint("start: undefined_rule", tokenizer, eos_token_ids=[eos])


def test_a_format_the_library_cannot_enforce_is_dropped_and_known_ones_are_kept(tokenizer, eos):
    from pathlib import Path as P

    from pydantic import BaseModel

    class WithPaths(BaseModel):
        corpus: list[P]
        report: P
        when: str

    schema = WithPaths.model_json_schema()
    schema["properties"]["when"]["format"] = "date"
    assert schema["properties"]["report"]["format"] == "path"  # what pydantic writes for a Path
    constraint = json_schema_constraint(schema, tokenizer, eos_token_ids=[eos])
    text = tokenizer.decode(_random_decode(constraint, tokenizer.get_vocab_size(), eos, seed=3))
    doc = json.loads(text)
    WithPaths.model_validate(doc)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", doc["when"]), doc["when"]  # `date` is still enforced
