"""Generate the planner's training and held-out data: (request, catalogue, inputs) -> task graph JSON.

    python -m agentos.planning.data --out build/planner-data [--train 40000] [--heldout 600] [--seed 0]

Writes `train.jsonl` and `heldout.jsonl` (one `PlanningExample` per line, with the chat `messages` the
trainer reads) and `stats.json`. Every catalogue differs: the capabilities a plan needs plus random
others, reworded descriptions, some capabilities renamed; some examples drop a needed capability
(the answer is then a refusal) or leave out the file a request is about (the answer is a question).
The held-out split uses only held-out templates and slot values.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agentos.planning.cards import ALL, SHOWCASE
from agentos.planning.format import CatalogueEntry, dump_plan, render_prompt, request_line
from agentos.planning.intents import INTENTS, Ctx, out_of_scope
from agentos.planning.slots import CLARIFY, REFUSE
from agentos.references import is_whole_reference, iter_strings

Kind = Literal["plan", "refuse", "clarify"]
Split = Literal["train", "heldout"]

P_CHINESE = 0.35
P_CLARIFY = 0.07
P_MISSING_CAPABILITY = 0.07
P_OUT_OF_SCOPE = 0.06
P_ALIAS = 0.12
P_NO_DESCRIPTION = 0.1


class PlanningExample(BaseModel):
    """One request with its catalogue and the answer a good planner gives."""

    id: str
    split: Split
    intent: str
    lang: Literal["en", "zh"]
    kind: Kind
    needs: list[str]  # capabilities the request needs (canonical names); a refusal's catalogue lacks one
    request: str
    inputs: dict[str, str]
    catalogue: list[CatalogueEntry]
    answer: dict[str, Any]
    messages: list[dict[str, str]]


def make_example(rng: random.Random, split: Split, index: int) -> PlanningExample:
    held = split == "heldout"
    lang: Literal["en", "zh"] = "zh" if rng.random() < P_CHINESE else "en"
    roll = rng.random()
    if roll < P_OUT_OF_SCOPE:
        name, intent = "out-of-scope", out_of_scope
    else:
        names = list(INTENTS)
        name = rng.choices(names, weights=[INTENTS[n][1] for n in names])[0]
        intent = INTENTS[name][0]
    kind: Kind = "plan"
    if name != "out-of-scope":
        roll = rng.random()
        kind = "clarify" if roll < P_CLARIFY else "refuse" if roll < P_CLARIFY + P_MISSING_CAPABILITY else "plan"
    ctx = Ctx(rng=rng, lang=lang, held=held, clarify=kind == "clarify")
    request = intent(ctx)
    if kind == "clarify" and ctx.missing is None:
        kind = "plan"

    used = list(dict.fromkeys(n["capability"] for n in ctx.nodes))
    names_shown = {cap: (rng.choice(ALL[cap].aliases) if ALL[cap].aliases and rng.random() < P_ALIAS else cap)
                   for cap in used}
    shown = list(used)  # a list, not a set: set order changes with the process's hash seed
    if kind == "refuse" or name == "out-of-scope":
        kind = "refuse"
        if used:  # the request is fine, but the catalogue lacks something it needs
            shown.remove(rng.choice(used))
    pool = [c for c in ALL if c not in used]
    extra = rng.sample(pool, k=min(len(pool), rng.randint(0, 12), rng.randint(0, 12)))  # mostly short
    if not shown and not extra:  # never an empty catalogue; never the capability a refusal lacks
        extra = [rng.choice([c.capability for c in SHOWCASE if c.capability not in used])]
    entries = [ALL[c].entry(_description(rng, c), names_shown.get(c)) for c in [*shown, *extra]]
    if rng.random() < 0.5:
        entries.sort(key=lambda e: e.capability)
    else:
        rng.shuffle(entries)

    answer: dict[str, Any]
    if kind == "plan":
        answer = {"nodes": [{**n, "capability": names_shown[n["capability"]]} for n in ctx.nodes]}
    elif kind == "clarify":
        answer = {"clarify": CLARIFY[ctx.missing or "document"]}
    else:
        answer = {"refuse": REFUSE}
    inputs = ctx.inputs
    prompt = render_prompt(request, entries, inputs)
    return PlanningExample(id=f"{split}-{index:06d}", split=split, intent=name, lang=lang, kind=kind,
                           needs=used, request=request, inputs=inputs, catalogue=entries, answer=answer,
                           messages=[{"role": "user", "content": prompt},
                                     {"role": "assistant", "content": dump_plan(answer)}])


def _description(rng: random.Random, capability: str) -> str:
    return "" if rng.random() < P_NO_DESCRIPTION else rng.choice(ALL[capability].descriptions)


def generate(split: Split, count: int, seed: int,
             advance: Callable[[], None] | None = None) -> list[PlanningExample]:
    """`count` examples of `split`, the same for the same seed; `advance` is called after each."""
    rng = random.Random(f"{seed}-{split}")
    examples = []
    for i in range(count):
        examples.append(make_example(rng, split, i))
        if advance:
            advance()
    return examples


def text_values(answer: dict[str, Any]) -> list[tuple[str, str]]:
    """(input field, text) for every text value a plan's node inputs hold, at any depth under the field,
    except whole `${...}` references."""
    return [(field_name, text) for node in answer.get("nodes", [])
            for field_name, value in node.get("inputs", {}).items()
            for _, text in iter_strings(value) if not is_whole_reference(text)]


def stock_values(examples: list[PlanningExample]) -> dict[str, list[str]]:
    """Per input field, the text values plans give it that their request does not hold (a planner cannot
    copy them), sorted.

    The build writes them into the planner card, so that decoding can hold the model to copying every
    other value from the request (`PlanGuard`'s copy rule)."""
    found: dict[str, set[str]] = {}
    for ex in examples:
        for field_name, value in text_values(ex.answer):
            if value not in request_line(ex.request):
                found.setdefault(field_name, set()).add(value)
    return {name: sorted(values) for name, values in sorted(found.items())}


def write_dataset(out: Path, *, train: int, heldout: int, seed: int) -> dict[str, Any]:
    """Write both splits and return their statistics (also written to stats.json), with a progress bar."""
    out.mkdir(parents=True, exist_ok=True)
    stats: dict[str, Any] = {"seed": seed}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        tasks = {split: bar.add_task(f"planning data: {split}", total=count)
                 for split, count in (("train", train), ("heldout", heldout))}
        made = {split: generate(split, count, seed, lambda s=split: bar.advance(tasks[s]))  # type: ignore[misc]
                for split, count in (("train", train), ("heldout", heldout))}
    for split, examples in made.items():
        with (out / f"{split}.jsonl").open("w", encoding="utf-8") as fh:
            for ex in examples:
                fh.write(ex.model_dump_json() + "\n")
        stats[split] = {"examples": len(examples), "kinds": Counter(e.kind for e in examples),
                        "langs": Counter(e.lang for e in examples), "intents": Counter(e.intent for e in examples)}
    train_requests = {json.loads(line)["request"] for line in (out / "train.jsonl").open(encoding="utf-8")}
    held = [json.loads(line)["request"] for line in (out / "heldout.jsonl").open(encoding="utf-8")]
    stats["heldout_requests_seen_in_train"] = sum(r in train_requests for r in held)
    stats["stock_values"] = stock_values(made["train"])
    (out / "stats.json").write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agentos.planning.data", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for train.jsonl, heldout.jsonl, stats.json")
    parser.add_argument("--train", type=int, default=40000, help="training examples")
    parser.add_argument("--heldout", type=int, default=600, help="held-out examples")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.train < 1 or args.heldout < 1:
        parser.error("--train and --heldout must be at least 1")
    stats = write_dataset(args.out, train=args.train, heldout=args.heldout, seed=args.seed)
    print(f"wrote {stats['train']['examples']} training and {stats['heldout']['examples']} held-out examples "
          f"to {args.out} ({stats['heldout_requests_seen_in_train']} held-out requests also occur in training)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
