"""The planner's data, prompt format and catalogue registry: what step3p5-mini learns from and sees."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

from agentos.errors import UserError
from agentos.planning.cards import ALL
from agentos.planning.catalogue import load_catalogue, parse_line, registry_from_entries
from agentos.planning.data import generate, make_example, stock_values, text_values, write_dataset
from agentos.planning.format import CatalogueEntry, dump_plan, entries_from_registry, render_prompt, show_value
from agentos.planning.intents import INTENTS, Ctx, Unplannable, out_of_scope
from agentos.planning.schema import plan_schema
from agentos.planning.slots import CLARIFY, pool
from agentos.registry import Registry
from agentos.taskspec import parse_task

ROOT = Path(__file__).resolve().parents[1]


def _validate(example: dict) -> None:
    """A plan example must pass the same validator as a hand-written task file, against its own catalogue."""
    registry = registry_from_entries([CatalogueEntry.model_validate(e) for e in example["catalogue"]])
    parse_task({"goal": example["request"], "inputs": example["inputs"], "graph": example["answer"]["nodes"]},
               registry, base_dir=Path.cwd())


def test_every_generated_plan_validates_against_its_own_catalogue() -> None:
    for ex in generate("train", 400, seed=3) + generate("heldout", 200, seed=3):
        data = ex.model_dump()
        if ex.kind == "plan":
            _validate(data)
        assert json.loads(ex.messages[1]["content"]) == ex.answer


def test_every_intent_writes_both_languages_in_both_splits() -> None:
    for name, (intent, _) in INTENTS.items():
        for lang in ("en", "zh"):
            for held in (False, True):
                ctx = Ctx(rng=random.Random(1), lang=lang, held=held)  # type: ignore[arg-type]
                request = intent(ctx)
                assert request and ctx.nodes, name
                if lang == "zh":
                    assert any("\u4e00" <= ch <= "\u9fff" for ch in request), (name, request)


def test_heldout_requests_never_occur_in_training(tmp_path: Path) -> None:
    stats = write_dataset(tmp_path, train=3000, heldout=300, seed=0)
    assert stats["heldout_requests_seen_in_train"] == 0
    assert set(stats["heldout"]["kinds"]) == {"plan", "refuse", "clarify"}
    assert stats["heldout"]["langs"]["zh"] > 50 and stats["heldout"]["langs"]["en"] > 100


def test_generation_is_reproducible_from_the_seed_in_any_process() -> None:
    probe = ("import json; from agentos.planning.data import generate; "
             "print(json.dumps([e.model_dump() for e in generate('train', 60, seed=7)]))")
    runs = [subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True,
                           env={**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}).stdout
            for hash_seed in ("1", "2")]
    assert runs[0] == runs[1] == json.dumps([e.model_dump() for e in generate("train", 60, seed=7)]) + "\n"
    assert [e.model_dump() for e in generate("train", 60, seed=8)] != json.loads(runs[0])


def test_a_refusal_leaves_a_needed_capability_out_of_the_catalogue() -> None:
    rng = random.Random(0)
    refusals = [ex for ex in (make_example(rng, "train", i) for i in range(1500))
                if ex.kind == "refuse" and ex.intent != "out-of-scope"]
    assert refusals
    canonical = {alias: card.capability for card in ALL.values() for alias in card.aliases}
    for ex in refusals:
        shown = {canonical.get(e.capability, e.capability) for e in ex.catalogue}
        assert ex.answer == {"refuse": "no capability in the catalogue can do this"}
        assert ex.needs and not set(ex.needs) <= shown, ex.id


def test_a_clarification_names_what_is_missing_and_the_request_has_no_file_for_it() -> None:
    rng = random.Random(0)
    asks = [ex for ex in (make_example(rng, "train", i) for i in range(1500)) if ex.kind == "clarify"]
    assert asks
    kind_of = {question: kind for kind, question in CLARIFY.items()}
    for ex in asks:
        kind = kind_of[ex.answer["clarify"]]  # the question names one kind of missing thing
        named = [v for v in pool(kind, ex.lang, held=False) if v in ex.request or v in ex.inputs.values()]
        assert not named, (ex.id, kind, named)  # and the task really gives no such thing


def test_compact_prompt_lists_catalogue_inputs_and_request() -> None:
    registry = Registry.discover()
    prompt = render_prompt("Summarise   the notes", entries_from_registry(registry), {"notes": "notes/"})
    lines = prompt.splitlines()
    assert lines[0] == "catalogue:"
    assert any(line.startswith("text.summarize(text, max_sentences?) -> summary, sentences") for line in lines)
    assert lines[-2:] == ["inputs: notes=notes/", "request: Summarise the notes"]


def test_a_resolved_folder_input_is_shown_by_its_name_with_a_slash(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "a.wav").write_bytes(b"")
    assert show_value(str(tmp_path / "notes")) == "notes/"
    assert show_value(str(tmp_path / "a.wav")) == "a.wav"
    assert show_value({"k": 1}) == '{"k": 1}'


def test_plans_are_dumped_compactly_in_schema_key_order() -> None:
    plan = {"nodes": [{"inputs": {"a": 1}, "capability": "x.y", "id": "n", "after": []}]}
    assert dump_plan(plan) == '{"nodes":[{"id":"n","capability":"x.y","inputs":{"a":1}}]}'
    assert dump_plan({"clarify": "which file?"}) == '{"clarify":"which file?"}'


def test_catalogue_lines_parse_into_a_registry_the_planner_can_validate_against() -> None:
    entry = parse_line("voice.transcribe(audio, speakers?) -> segments, text | speech to text")
    assert entry.inputs == ["audio", "speakers?"] and entry.outputs == ["segments", "text"]
    registry = registry_from_entries([entry])
    assert entries_from_registry(registry) == [entry]
    spec = parse_task({"goal": "x", "graph": [{"id": "t", "capability": "voice.transcribe",
                                                "inputs": {"audio": "a.wav"}}]}, registry, base_dir=Path.cwd())
    assert spec.graph[0].capability == "voice.transcribe"


def test_a_catalogue_registry_rejects_a_missing_required_field() -> None:
    registry = registry_from_entries([parse_line("voice.transcribe(audio) -> text")])
    with pytest.raises(UserError) as exc:
        parse_task({"goal": "x", "graph": [{"id": "t", "capability": "voice.transcribe", "inputs": {}}]},
                   registry, base_dir=Path.cwd())
    assert "audio" in str(exc.value)


def test_a_bad_catalogue_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "cat.txt"
    path.write_text("# comment\ntext.load(path) -> text\nnot a capability line\n", encoding="utf-8")
    with pytest.raises(UserError) as exc:
        load_catalogue(path)
    assert f"{path}:3" in str(exc.value)


def test_plan_schema_narrows_each_node_to_one_capability_and_its_fields() -> None:
    registry = registry_from_entries([parse_line("voice.transcribe(audio, speakers?) -> text"),
                                      parse_line("text.load(path) -> text")])
    schema = plan_schema(registry)
    plan, refuse, clarify = schema["anyOf"]
    assert refuse["required"] == ["refuse"] and clarify["required"] == ["clarify"]
    variants = plan["properties"]["nodes"]["items"]["anyOf"]
    by_cap = {v["properties"]["capability"]["const"]: v for v in variants}
    assert set(by_cap) == {"voice.transcribe", "text.load"}
    inputs = by_cap["voice.transcribe"]["properties"]["inputs"]
    assert list(inputs["properties"]) == ["audio", "speakers"] and inputs["required"] == ["audio"]
    assert inputs["additionalProperties"] is False
    assert "anyOf" not in plan_schema(registry, decisions=False)


def test_plan_schema_lets_typed_fields_hold_their_type_or_one_reference() -> None:
    from experts.text import EXPERTS

    variants = plan_schema(Registry(EXPERTS))["anyOf"][0]["properties"]["nodes"]["items"]["anyOf"]
    fields = {v["properties"]["capability"]["const"]: v["properties"]["inputs"]["properties"] for v in variants}
    top_k = fields["text.keywords"]["top_k"]["anyOf"]
    assert top_k[0] == {"type": "integer", "minimum": 1, "maximum": 100}
    assert top_k[1]["pattern"].startswith("^\\$\\{")
    assert fields["text.load"]["path"] == {"type": "string"}  # text holds references anyway
    assert fields["text.keywords"]["documents"] == {}  # a list of models: left to the validator


def test_plan_schema_binds_input_references_to_the_tasks_own_inputs() -> None:
    import re

    registry = registry_from_entries([parse_line("voice.transcribe(audio) -> text"),
                                      parse_line("text.summarize(text) -> summary")])
    schema = plan_schema(registry, inputs=["meeting"])
    variants = schema["anyOf"][0]["properties"]["nodes"]["items"]["anyOf"]
    audio = next(v for v in variants if v["properties"]["capability"]["const"] == "voice.transcribe")
    text_pattern = audio["properties"]["inputs"]["properties"]["audio"]["anyOf"][0]["pattern"]
    assert re.match(text_pattern, "${inputs.meeting}") and re.match(text_pattern, "standup.wav")
    assert re.match(text_pattern, "notes: ${load.text} and ${inputs.meeting}")
    assert not re.match(text_pattern, "${inputs.recording}")  # no such task input
    assert not re.match(text_pattern, "see ${inputs.recording} here")
    no_inputs = plan_schema(registry, inputs=[])["anyOf"][0]["properties"]["nodes"]["items"]["anyOf"]
    pattern = no_inputs[0]["properties"]["inputs"]["properties"]["text"]["anyOf"][0]["pattern"]
    assert not re.match(pattern, "${inputs.meeting}") and re.match(pattern, "${load.text}")


class _RecordingCtx(Ctx):
    """A Ctx that keeps every template list an intent offers (both languages, both splits)."""

    offered: ClassVar[list[tuple[str, tuple[str, ...]]]] = []

    def say(self, en: list[str], zh: list[str], **slots: str) -> str:
        self.offered.extend([("en", tuple(en)), ("zh", tuple(zh))])
        return super().say(en, zh, **slots)


def _phrasings(template: str) -> set[str]:
    """Every text a template can expand to, slots left as `{name}`."""
    parts = [p[1:-1].split("|") if p.startswith("[") else [p] for p in re.split(r"(\[[^\[\]]*\])", template)]
    return {" ".join("".join(combo).split()) for combo in itertools.product(*parts)}


def test_no_held_out_phrasing_is_one_training_can_write() -> None:
    for intent in [*(fn for fn, _ in INTENTS.values()), out_of_scope]:
        for seed in range(40):  # enough draws to reach every branch of an intent
            for lang in ("en", "zh"):
                with contextlib.suppress(Unplannable):
                    intent(_RecordingCtx(rng=random.Random(seed), lang=lang, held=False))
    assert _RecordingCtx.offered
    for lang, templates in set(_RecordingCtx.offered):
        trained = set().union(*(_phrasings(t) for t in templates if not t.startswith("H:")))
        for held in (t for t in templates if t.startswith("H:")):
            assert not _phrasings(held[2:]) & trained, f"{lang}: {held} is also a training phrasing"


def _leaves(value: object, key: str = "") -> list[tuple[str, object]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, k)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v, key)]
    return [(key, value)]


def test_every_value_a_plan_passes_is_copied_from_the_request() -> None:
    """What a plan passes to an expert (files, titles, questions, counts) is written in the request, so the
    model can learn to copy it; only section headings and an e-mail subject are the planner's own words."""
    for ex in generate("train", 600, seed=5) + generate("heldout", 200, seed=5):
        if ex.kind != "plan":
            continue
        for node in ex.answer["nodes"]:
            for key, value in _leaves(node["inputs"]):
                if key in ("heading", "subject") or (isinstance(value, str) and value.startswith("${")):
                    continue
                assert str(value) in ex.request, f"{ex.id}: {key}={value!r} is not in {ex.request!r}"


def test_the_values_no_request_holds_are_a_few_headings_and_a_subject_and_the_card_lists_them() -> None:
    """The copy rule lets a compact planner write a value only if the request holds it or its field's stock
    values list it: the stock values are few, and the bundled planner's card lists today's."""
    from agentos.local_host import bundled_model_dir, read_planner_card

    examples = generate("train", 800, seed=7)
    stock = stock_values(examples)
    assert stock == {"sections": ["First", "Keywords", "Meeting", "Research", "Second", "Summary"],
                     "subject": ["Summary"]}
    assert ("title", "Renewable power notes") in text_values(
        {"nodes": [{"inputs": {"title": "Renewable power notes", "sections": [{"body": "${s.summary}"}]}}]})
    folder = bundled_model_dir()
    assert folder is not None
    card = read_planner_card(folder)
    assert card is not None and card.stock_values == stock


def test_training_values_are_mostly_made_up_and_held_out_values_come_from_their_pool() -> None:
    train = [ex for ex in generate("train", 400, seed=6) if ex.intent == "research-a" and ex.kind == "plan"]
    questions = [n["inputs"]["question"] for ex in train for n in ex.answer["nodes"]]
    assert len(set(questions)) > 0.5 * len(questions)  # a pool of ten could not give this many
    held = [n["inputs"]["question"] for ex in generate("heldout", 400, seed=6)
            if ex.intent == "research-a" and ex.kind == "plan" for n in ex.answer["nodes"]]
    assert held and set(held) <= set(pool("question", "en", True)) | set(pool("question", "zh", True))
