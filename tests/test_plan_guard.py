"""The plan guard: references and ids checked while a plan is decoded, on top of its JSON Schema.

Text-level checks of `PlanGuard`, then the guarded constraint with a real tokenizer and the real
plan schema: random decoding driven only by the mask must always give a plan the task validator
accepts (if any allowed token could break a reference, some seed would find it), while the
schema's grammar alone lets such plans through.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Literal

import pytest
import torch
from pydantic import BaseModel

from agentos import ExpertContext, expert
from agentos.errors import TaskFileError
from agentos.planning.catalogue import registry_from_entries
from agentos.planning.format import CatalogueEntry
from agentos.planning.guard import PlanGuard
from agentos.planning.schema import plan_schema
from agentos.registry import Registry
from agentos.taskspec import parse_task
from host_model.constrained import json_schema_constraint, token_byte_strings
from host_model.testing import make_tiny_model
from host_model.text_guard import GuardedConstraint

OUTPUTS = {"text.load": ["text", "documents"], "text.summarize": ["summary"]}
LOAD = '{"id":"load","capability":"text.load","inputs":{"path":"${inputs.docs}"}}'


def accepts(text: str) -> bool:
    return PlanGuard(OUTPUTS, ["docs"]).accepts(text)


def test_a_sound_plan_passes_and_its_nodes_are_recorded() -> None:
    plan = ('{"nodes":[' + LOAD + ',{"id":"s","capability":"text.summarize","inputs":{"text":"see ${load.text} '
            'and ${load.documents.0}","max_sentences":3},"after":["load"]}]}')
    guard = PlanGuard(OUTPUTS, ["docs"])
    guard.feed(plan)
    assert guard.state.nodes == (("load", "text.load"), ("s", "text.summarize"))


@pytest.mark.parametrize(("case", "before", "breaking"), [
    ("a repeated id", '{"nodes":[' + LOAD + ',{"id":"load', '"'),
    ("the id `inputs`", '{"nodes":[{"id":"inputs', '"'),
    ("a node not written yet", '{"nodes":[{"id":"a","capability":"text.load","inputs":{"path":"${', "summary"),
    ("the node itself", '{"nodes":[{"id":"load","capability":"text.load","inputs":{"path":"${', "load"),
    ("a field the capability lacks",
     '{"nodes":[' + LOAD + ',{"id":"s","capability":"text.summarize","inputs":{"text":"${load.', "summary"),
    ("a task input that does not exist",
     '{"nodes":[{"id":"a","capability":"text.load","inputs":{"path":"${inputs.', "corpus"),
    ("an `after` naming no earlier node",
     '{"nodes":[' + LOAD + ',{"id":"s","capability":"text.summarize","inputs":{"text":"x"},"after":["', "zz"),
    ("a reference left open", '{"nodes":[{"id":"a","capability":"text.load","inputs":{"path":"${inputs.docs', '"'),
])
def test_a_broken_reference_or_id_is_refused_where_it_happens(case: str, before: str, breaking: str) -> None:
    assert accepts(before), f"{case}: refused too early"
    assert not accepts(before + breaking), case


def test_text_outside_references_and_declines_are_free() -> None:
    assert accepts('{"refuse":"no ${x} here, nor $ signs"}')
    assert accepts('{"nodes":[{"id":"a","capability":"text.load","inputs":{"path":"costs in $ and {braces}"}}]}')


def test_a_reference_is_checked_as_it_is_written() -> None:
    guard = PlanGuard(OUTPUTS, ["docs"])
    assert not guard.checks_every_token()
    guard.feed('{"nodes":[' + LOAD + ',{"id":"s","capability":"text.summarize","inputs":{"text":"${')
    assert guard.checks_every_token()
    assert guard.accepts("lo") and guard.accepts("inp") and guard.accepts("load.te")
    assert not guard.accepts("x") and not guard.accepts("load.x") and not guard.accepts("s.")


# ---- the copy rule -------------------------------------------------------------------------------

GOAL = "Read notes/ and speak 'Fresh start' aloud"
SPEAK = '{"nodes":[' + LOAD + ',{"id":"say","capability":"voice.speak","inputs":{"text":"'
OUTPUTS_SPEAK = {**OUTPUTS, "voice.speak": ["audio"]}


def copying(before: str, *, fixed: dict[str, list[str]] | None = None) -> PlanGuard:
    guard = PlanGuard(OUTPUTS_SPEAK, ["docs"], copy_from=[GOAL], stock_values={"text": ["Summary"]}, fixed=fixed)
    guard.feed(before)
    return guard


def test_a_copied_value_passes_and_one_that_leaves_the_request_is_refused_where_it_leaves() -> None:
    guard = copying(SPEAK)
    assert guard.checks_every_token()  # any character of a copied value can leave the request
    assert guard.accepts("Fresh start") and guard.accepts('Fresh start"}}]}') and guard.accepts("notes/")
    assert guard.accepts('Summary"') and not guard.accepts('Summ"')  # a stock value, whole
    assert guard.accepts("Fresh") and not guard.accepts("Fresh update") and not guard.accepts("Parking")
    guard.feed("Fre")
    assert guard.accepts("sh") and not guard.accepts("e")


def test_under_the_copy_rule_a_reference_stands_alone() -> None:
    guard = copying(SPEAK)
    assert guard.accepts('${load.text}"}}]}')
    assert not guard.accepts("${load.text} and more") and not guard.accepts("${load.x")
    assert not guard.accepts("$x")  # a `$` that opens no reference must be in the request itself


def test_escapes_are_copied_as_the_characters_they_stand_for() -> None:
    guard = PlanGuard(OUTPUTS_SPEAK, ["docs"], copy_from=['say "hi" now'])
    guard.feed(SPEAK)
    assert guard.accepts('say \\"hi\\""') and not guard.accepts('say \\n')
    assert not guard.accepts("\\u0041")  # \\u escapes are not copied: a planner writes the character


def test_fields_fixed_by_their_schema_and_keys_are_not_copied() -> None:
    guard = copying(SPEAK[:-len('text":"')] + 'voice":"', fixed={"voice.speak": ["voice"]})
    assert guard.accepts('en-GB"')
    assert copying('{"nodes":[{"id":"anything","capability":"text.load","inputs":{"path":"notes/"}}]}').state.nodes


class _SayIn(BaseModel):
    text: str
    voice: Literal["en-GB", "en-US"] = "en-GB"


class _SayOut(BaseModel):
    audio: str


@expert(name="sayer", domain="test", capability="test.say")
async def _sayer(inputs: _SayIn, ctx: ExpertContext) -> _SayOut:
    """Stands in nowhere: only its card is read (the fields its schema fixes)."""
    return _SayOut(audio=inputs.text)


def test_for_registry_leaves_a_field_its_schema_lists_the_values_of_to_the_schema() -> None:
    registry = Registry()
    registry.register(_sayer)
    guard = PlanGuard.for_registry(registry, {}, copy_from=["say hello"])
    guard.feed('{"nodes":[{"id":"a","capability":"test.say","inputs":{"voice":"')
    assert guard.accepts('en-US"')  # an enum value, though not in the request
    guard = PlanGuard.for_registry(registry, {}, copy_from=["say hello"])
    guard.feed('{"nodes":[{"id":"a","capability":"test.say","inputs":{"text":"')
    assert guard.accepts('hello"') and not guard.accepts('en-US"')


def test_without_copy_from_values_are_free() -> None:
    guard = PlanGuard(OUTPUTS_SPEAK, ["docs"])
    guard.feed(SPEAK)
    assert not guard.checks_every_token() and guard.accepts("Parking update")


# ---- with a real tokenizer and the real plan schema -------------------------------------------------

CATALOGUE = [
    CatalogueEntry(capability="text.load", inputs=["path"], outputs=["text", "documents"], description="read files"),
    CatalogueEntry(capability="text.summarize", inputs=["text", "max_sentences?"], outputs=["summary"],
                   description="summarise"),
    CatalogueEntry(capability="voice.speak", inputs=["text"], outputs=["audio"], description="speak"),
]
INPUTS = {"docs": "notes/"}


@pytest.fixture(scope="module")
def tokenizer_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("guard") / "tiny") / "tokenizer.json"


def _random_plan(tokenizer_json: Path, seed: int, *, guarded: bool,
                 copy_from: list[str] | None = None, stock: dict[str, list[str]] | None = None) -> str | None:
    """Decode with only the mask choosing (random among allowed tokens, leaning towards closing
    strings and containers so walks end); the text, or None if it did not finish in 600 tokens."""
    registry = registry_from_entries(CATALOGUE)
    schema = plan_schema(registry, decisions=False, inputs=list(INPUTS))
    eos = [0]
    constraint = json_schema_constraint(schema, tokenizer_json, eos_token_ids=eos, max_whitespace_run=0)
    tokens = token_byte_strings(tokenizer_json, eos_token_ids=eos)
    if guarded:
        guard = PlanGuard.for_registry(registry, INPUTS, copy_from=copy_from, stock_values=stock)
        constraint = GuardedConstraint(constraint, guard, tokens)
    rng = random.Random(seed)
    out = b""
    for _ in range(600):
        if constraint.is_finished():
            return out.decode("utf-8")  # a character split across tokens came out whole
        mask = constraint.allowed_mask(len(tokens))
        allowed = torch.nonzero(mask).flatten().tolist()
        closing = [t for t in allowed if any(c in tokens[t] for c in b'"}]$')]
        token = rng.choice(closing if closing and rng.random() < 0.5 else allowed)
        constraint.advance(token)
        out += tokens[token]
    return None


def _problems(text: str) -> str | None:
    """What the task validator says about a plan, or None when it accepts it."""
    try:
        parse_task({"goal": "g", "inputs": INPUTS, "graph": json.loads(text)["nodes"]},
                   registry_from_entries(CATALOGUE), base_dir=Path.cwd())
    except TaskFileError as exc:
        return str(exc)
    return None


def test_every_guarded_random_plan_passes_the_validator(tokenizer_json: Path) -> None:
    finished = 0
    for seed in range(30):
        text = _random_plan(tokenizer_json, seed, guarded=True)
        if text is None:
            continue
        finished += 1
        assert _problems(text) is None, f"seed {seed}: {text}"
    assert finished >= 10


def test_every_random_plan_under_the_copy_rule_copies_its_values(tokenizer_json: Path) -> None:
    """Mask-driven walks with the copy rule: every text value is a substring of the goal (or a stock
    value) or one whole reference, and the plan still passes the validator."""
    from agentos.planning.data import text_values

    goal, stock = "Read notes/ and say 'Fresh start' twice, 再说“实地笔记”", {"text": ["Summary"]}
    finished = 0
    for seed in range(24):
        text = _random_plan(tokenizer_json, seed, guarded=True, copy_from=[goal], stock=stock)
        if text is None:
            continue
        finished += 1
        assert _problems(text) is None, f"seed {seed}: {text}"
        values = text_values(json.loads(text))
        assert all(v in goal or v in stock.get(f, []) for f, v in values), f"seed {seed}: {values}"
    assert finished >= 8


def test_a_character_split_across_tokens_is_copied_byte_by_byte(tokenizer_json: Path) -> None:
    """The tiny tokenizer writes most Chinese characters in single-byte pieces: 实 (e5 ae 9e) as three
    tokens. Under the copy rule from a goal holding 实地, every piece of 实地 passes; after 实, the byte e5
    passes (地 starts with it) and then 天's second byte a4 is refused while 地's 9c passes."""
    from tokenizers import Tokenizer

    registry = registry_from_entries(CATALOGUE)
    eos = [0]
    tokens = token_byte_strings(tokenizer_json, eos_token_ids=eos)
    encoder = Tokenizer.from_file(str(tokenizer_json))

    def guarded() -> GuardedConstraint:
        schema = plan_schema(registry, decisions=False, inputs=list(INPUTS))
        base = json_schema_constraint(schema, tokenizer_json, eos_token_ids=eos, max_whitespace_run=0)
        guard = PlanGuard.for_registry(registry, INPUTS, copy_from=["念出“实地”"])
        return GuardedConstraint(base, guard, tokens)

    def refused(constraint: GuardedConstraint, text: str) -> list[bytes]:
        """Write `text` token by token (its canonical tokens) up to the first the mask refuses: [it] or []."""
        out = []
        for token in encoder.encode(text, add_special_tokens=False).ids:
            if not bool(constraint.allowed_mask(len(tokens))[token]):
                out.append(tokens[token])
                break
            constraint.advance(token)
        return out

    start = '{"nodes":[{"id":"a","capability":"voice.speak","inputs":{"text":"'
    assert len(encoder.encode("实", add_special_tokens=False).ids) == 3  # the premise: split characters
    ok = guarded()
    assert refused(ok, start + '实地"}}]}') == [] and ok.is_finished()
    bad = guarded()
    assert refused(bad, start + "实") == []
    piece = {t: i for i, t in reversed(list(enumerate(tokens)))}  # bytes -> first token holding exactly them
    first, second = piece["天".encode()[:1]], piece["天".encode()[1:2]]  # byte tokens: e5, then a4
    assert bool(bad.allowed_mask(len(tokens))[first])
    bad.advance(first)
    mask = bad.allowed_mask(len(tokens))
    assert not bool(mask[second]) and bool(mask[piece["地".encode()[1:2]]])
    assert refused(guarded(), start + "地”") == []  # any part of the goal, not only its start


def test_the_schema_alone_lets_broken_references_through(tokenizer_json: Path) -> None:
    """The control: without the guard, the same walks write plans the validator rejects."""
    plans = [t for seed in range(30) if (t := _random_plan(tokenizer_json, seed, guarded=False)) is not None]
    problems = [p for t in plans if (p := _problems(t)) is not None]
    assert any(word in p for p in problems for word in ("unknown node", "no node", "has no field", "duplicate"))


def test_max_text_bounds_every_text_value_of_a_plan() -> None:
    """A compact-prompt planner's strings are copied from the request: `max_text` ends one that runs away."""
    schema = plan_schema(registry_from_entries(CATALOGUE), inputs=list(INPUTS), max_text=70)
    limits = [s["maxLength"] for s in _string_schemas(schema["anyOf"][0])]
    assert limits and set(limits) == {70}
    assert not [s for s in _string_schemas(plan_schema(registry_from_entries(CATALOGUE))["anyOf"][0])
                if "maxLength" in s]


def _string_schemas(schema: object) -> list[dict]:
    """The text schemas of the nodes' input fields (not those that hold one reference and nothing else)."""
    found: list[dict] = []
    if isinstance(schema, dict):
        if schema.get("type") == "string" and schema.get("pattern", "").startswith("^(?:[^$]"):
            found.append(schema)
        for value in schema.values():
            found += _string_schemas(value)
    elif isinstance(schema, list):
        for value in schema:
            found += _string_schemas(value)
    return found
