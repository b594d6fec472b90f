"""The voice benchmark: recognition, diarization, spoken commands, action items and spoken goals, in one run.

    python benchmarks/voice.py                     # everything; writes benchmarks/results/voice.json
    python benchmarks/voice.py --quick             # no noise table, no planning (about a minute)
    python benchmarks/voice.py --whisper DIR/base.en.pt --faster-whisper DIR/faster-whisper-base.en

Tables, each side by side with its baseline, all on the committed audio in showcases/voice/audio/:
1. Speech recognition (benchmarks/voice_asr.py): WER (jiwer) and real-time factor per backend and mode, on
   fourteen espeak-ng commands and eleven real recordings.
2. Speaker diarization (benchmarks/voice_diarize.py): DER against the reference turns of each meeting,
   against one-speaker baselines; and the same meeting under pink noise.
3. Spoken instructions (voice-b's grammar: intents with slots): how many clips were heard as the right
   intent and slots, as a wrong one, or as none; pocketsphinx's grammar against its open vocabulary
   matched to the nearest phrase.
4. Action items from the reference meetings: precision, recall and F1 (experts/voice/action_score.py) on
   the punctuated reference text and on the same text as a recogniser writes it (lower case, no punctuation).
5. Command to graph: six spoken goals, each planned by the bundled planner (step3p5-mini) from the typed
   words and from the words each recogniser heard, against the same catalogue; node F1 of each heard plan
   against the typed plan (the issue's measure), and of both against the reference graph.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from bench_util import machine, write_report
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voice_asr import AUDIO, asr_benchmark, read_jsonl  # noqa: E402
from voice_diarize import diarization_benchmark  # noqa: E402

from agentos.errors import AgentOSError, ExpertError  # noqa: E402
from experts.voice.action_score import score_meetings  # noqa: E402
from experts.voice.asr import FASTER_WHISPER_ENV, WHISPER_ENV, FasterWhisper, PocketSphinx, Recognizer, Whisper  # noqa: E402
from experts.voice.commands import Grammar, understand  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "voice.json"
console = Console(width=150)

RUN_SCRIPT = {"run_script": ["open the project {project} and run {script}", "run {script} in the project {project}"]}
SLOTS: dict[str, list[str] | dict[str, str]] = {"project": ["hello", "primes", "spin"],
                                                "script": ["main", "primes", "loop"]}
# the graphs the six spoken goals (goals.jsonl) mean, as capabilities (what node F1 counts)
REFERENCE = {
    "goals/meeting-summary.wav": ["voice.transcribe", "voice.summarize"],
    "goals/transcribe.wav": ["voice.transcribe"],
    "goals/spoken-question.wav": ["voice.command", "research.investigate", "text.summarize"],
    "goals/read-aloud.wav": ["text.load", "voice.speak"],
    "goals/notes-keywords.wav": ["text.load", "text.summarize", "text.keywords"],
    "goals/voice-app.wav": ["voice.command", "gui.do"],
}
SAY = {"summarise": "S AH M ER AY Z"}  # the British spelling the goals use is not in CMUdict
CATALOGUE = ("text.load", "text.summarize", "text.keywords", "text.report", "research.investigate",
             "voice.transcribe", "voice.command", "voice.summarize", "voice.speak", "gui.do")


def _recognisers(whisper: Path | None, faster: Path | None) -> dict[str, Recognizer | str]:
    """Open-vocabulary recognisers by name; a string says why one cannot run here."""
    import os

    out: dict[str, Recognizer | str] = {"pocketsphinx/open": PocketSphinx("open")}
    for name, make, model, env in (("whisper", Whisper, whisper, WHISPER_ENV),
                                   ("faster-whisper", FasterWhisper, faster, FASTER_WHISPER_ENV)):
        path = model or (Path(os.environ[env]) if os.environ.get(env) else None)
        if path is None:
            out[name] = f"no local model (--{name} or ${env})"
            continue
        try:
            out[name] = make(path)
        except ExpertError as exc:
            out[name] = str(exc)
    return out


# ---- 3. spoken instructions -------------------------------------------------------------------------

def instruction_rows(recognisers: dict[str, Recognizer | str]) -> dict[str, Any]:
    clips = read_jsonl(AUDIO / "instructions.jsonl")
    grammar = Grammar([], RUN_SCRIPT, SLOTS)
    contenders: dict[str, tuple[Recognizer, bool] | str] = {
        "pocketsphinx/grammar": (PocketSphinx("grammar", phrases=grammar.phrases), True)}
    for name, r in recognisers.items():
        contenders[f"{name} + nearest phrase"] = (r, False) if isinstance(r, Recognizer) else r
    rows: dict[str, Any] = {}
    for name, contender in contenders.items():
        if isinstance(contender, str):
            rows[name] = {"skipped": contender}
            continue
        recogniser, exact = contender
        right = wrong = none = 0
        started, heard_s = time.perf_counter(), 0.0
        for clip in clips:
            t = recogniser.transcribe(AUDIO / clip["file"])
            heard_s += t.duration
            meaning, _ = understand(grammar, (t.phrase or "") if exact else t.text, exact=exact)
            if meaning is None:
                none += 1
            elif (meaning.intent, meaning.slots) == (clip["intent"], clip["slots"]):
                right += 1
            else:
                wrong += 1
        rows[name] = {"clips": len(clips), "right": right, "wrong": wrong, "none": none,
                      "rtf": (time.perf_counter() - started) / heard_s}
    table = Table(title=f"Spoken instructions: {len(clips)} espeak-ng clips, voice-b's grammar "
                        f"({len(grammar.meanings)} phrases: 2 templates x 3 projects x 3 scripts)")
    for col in ("recogniser", "right intent + slots", "wrong", "none (node fails)", "RTF", "note"):
        table.add_column(col, justify="left" if col in ("recogniser", "note") else "right")
    for name, r in rows.items():
        if "skipped" in r:
            table.add_row(name, "—", "—", "—", "—", r["skipped"])
        else:
            table.add_row(name, f"{r['right']}/{r['clips']}", str(r["wrong"]), str(r["none"]), f"{r['rtf']:.3f}", "")
    console.print(table)
    return rows


# ---- 4. action items --------------------------------------------------------------------------------

def action_rows() -> dict[str, Any]:
    meetings = sorted((AUDIO / "meetings").glob("*.json"))
    rows = {}
    for form, heard in (("reference text (punctuated)", False), ("as a recogniser writes it", True)):
        s = score_meetings(meetings, heard=heard)
        rows[form] = {"expected": s.expected, "found": s.found, "matched": s.matched, "precision": s.precision,
                      "recall": s.recall, "f1": s.f1, "due_accuracy": s.due_accuracy}
    table = Table(title=f"Action items on the {len(meetings)} reference meetings (owner + task overlap >= 0.5)")
    for col in ("text form", "expected", "found", "precision", "recall", "F1", "due date right"):
        table.add_column(col, justify="left" if col == "text form" else "right")
    for form, r in rows.items():
        table.add_row(form, str(r["expected"]), str(r["found"]), f"{r['precision']:.2f}", f"{r['recall']:.2f}",
                      f"{r['f1']:.2f}", f"{r['due_accuracy']:.2f}")
    console.print(table)
    return rows


# ---- 5. command to graph ----------------------------------------------------------------------------

def _catalogue_registry() -> Any:
    from agentos.planning.cards import ALL
    from agentos.planning.catalogue import registry_from_entries

    return registry_from_entries([ALL[c].entry(ALL[c].descriptions[0]) for c in CATALOGUE])


async def _plan(agent: Any, registry: Any, request: str, inputs: dict[str, str]) -> dict[str, Any] | None:
    from planning import read_answer

    from agentos.taskspec import parse_task

    spec = parse_task({"goal": request, "inputs": inputs}, registry, base_dir=ROOT)
    return read_answer(await agent.first_answer(spec))


def graph_rows(recognisers: dict[str, Recognizer | str]) -> dict[str, Any]:
    from agentos.host_agent import HostAgent
    from agentos.local_host import LocalHost, bundled_model_dir
    from agentos.planning.metrics import aggregate, score_plan

    folder = bundled_model_dir()
    if folder is None:
        console.print("command to graph: skipped (no bundled planner in this install)")
        return {"skipped": "no bundled planner"}
    goals = read_jsonl(AUDIO / "goals.jsonl")
    registry = _catalogue_registry()
    host = LocalHost(folder)
    agent = HostAgent(host, registry)
    grammar = PocketSphinx("grammar", phrases=[g["text"] for g in goals], pronunciations=SAY)
    heard_by: dict[str, Recognizer | str] = {"pocketsphinx/grammar (the six goals)": grammar, **recognisers}
    rows: dict[str, Any] = {"goals": []}

    def reference(goal: dict[str, Any]) -> dict[str, Any]:
        return {"nodes": [{"id": f"n{i}", "capability": c} for i, c in enumerate(REFERENCE[goal["file"]])]}

    async def run() -> None:
        typed_scores, typed_plans = [], {}
        for goal in goals:
            typed_plans[goal["file"]] = await _plan(agent, registry, goal["text"], goal["inputs"])
            typed_scores.append(score_plan(reference(goal), typed_plans[goal["file"]]))
        rows["typed"] = {"vs_reference": aggregate(typed_scores).node_f1}
        for name, recogniser in heard_by.items():
            if isinstance(recogniser, str):
                rows[name] = {"skipped": recogniser}
                continue
            vs_typed, vs_ref, words = [], [], []
            for goal in goals:
                t = recogniser.transcribe(AUDIO / goal["file"])
                heard = (t.phrase or "") if t.mode == "grammar" else t.text
                words.append((goal["text"], heard))
                plan = await _plan(agent, registry, heard, goal["inputs"]) if heard else {"clarify": "heard nothing"}
                typed = typed_plans[goal["file"]] or {"nodes": []}
                vs_typed.append(score_plan(typed if "nodes" in typed else {"nodes": []}, plan))
                vs_ref.append(score_plan(reference(goal), plan))
                rows["goals"].append({"recogniser": name, "file": goal["file"], "typed": goal["text"], "heard": heard,
                                      "typed_plan": _caps(typed), "heard_plan": _caps(plan)})
            import jiwer

            rows[name] = {"wer": jiwer.wer([w for w, _ in words], [h or "<nothing>" for _, h in words]),
                          "vs_typed": aggregate(vs_typed).node_f1, "vs_reference": aggregate(vs_ref).node_f1,
                          "same_graph_as_typed": sum(s.exact for s in vs_typed)}

    try:
        asyncio.run(run())
    except AgentOSError as exc:
        return {"skipped": f"planning failed: {exc}"}
    finally:
        host.close()
    table = Table(title=f"Command to graph: {len(goals)} spoken goals planned by step3p5-mini "
                        f"({len(CATALOGUE)}-capability catalogue), heard against typed")
    for col in ("words planned", "WER", "node F1 vs typed plan", "same graph as typed", "node F1 vs reference",
                "note"):
        table.add_column(col, justify="left" if col in ("words planned", "note") else "right")
    table.add_row("typed (the baseline)", "0", "1.00", f"{len(goals)}/{len(goals)}",
                  f"{rows['typed']['vs_reference']:.2f}", "")
    for name in heard_by:
        r = rows[name]
        if "skipped" in r:
            table.add_row(f"heard: {name}", "—", "—", "—", "—", r["skipped"])
        else:
            table.add_row(f"heard: {name}", f"{r['wer']:.2f}", f"{r['vs_typed']:.2f}",
                          f"{r['same_graph_as_typed']}/{len(goals)}", f"{r['vs_reference']:.2f}", "")
    console.print(table)
    return rows


def _caps(answer: dict[str, Any] | None) -> list[str] | str:
    if not answer:
        return "no parsable answer"
    if "nodes" not in answer:
        return next(iter(answer))  # refuse / clarify
    return [str(n.get("capability")) for n in answer["nodes"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--whisper", type=Path, help="a whisper checkpoint file (.pt)")
    ap.add_argument("--faster-whisper", type=Path, help="a CTranslate2 Whisper folder")
    ap.add_argument("--quick", action="store_true", help="leave out the noise table and the planning")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    report: dict[str, Any] = {"machine": machine()}
    report["asr"] = asr_benchmark(args.whisper, args.faster_whisper, console)
    report["diarization"] = diarization_benchmark(noise=not args.quick)
    recognisers = _recognisers(args.whisper, args.faster_whisper)
    report["instructions"] = instruction_rows(recognisers)
    report["action_items"] = action_rows()
    if not args.quick:
        report["command_to_graph"] = graph_rows(recognisers)
    write_report(args.out, report, console.print)


if __name__ == "__main__":
    main()
