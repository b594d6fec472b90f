"""Speech recognition on the committed voice audio: word error rate and real-time factor per backend and mode.

    python benchmarks/voice_asr.py                        # pocketsphinx; writes benchmarks/results/voice_asr.json
    python benchmarks/voice_asr.py --whisper DIR/base.en.pt --faster-whisper DIR/faster-whisper-base.en

Two sets, from showcases/voice/audio/: the fourteen espeak-ng commands (commands.jsonl, several voices,
speeds and pitches) and eleven real recordings (recordings.jsonl: CMU's test speech and five LibriVox clips).
On the commands pocketsphinx runs in all three modes: its grammar of the fourteen phrases (WER, and how many
came out as the exact command), keyword spotting with the thresholds in vocabulary.json (keyphrase recall and
false alarms; WER does not apply), and open vocabulary. The recordings are open speech: open vocabulary only.
Whisper and faster-whisper run when given local weights (or $AGENTOS_WHISPER_MODEL /
$AGENTOS_FASTER_WHISPER_MODEL); nothing is downloaded, and without weights their rows say so.

WER is jiwer's over the whole set, on lower-case words without punctuation (`asr.plain_words`), so
"Mr." and "mister" still differ. RTF is decoding time over audio time (below 1: faster than real time),
model loading excluded; wall-clock numbers from a 2-core machine shared with other work are rough.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import jiwer
from bench_util import machine, package_version
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agentos.errors import ExpertError  # noqa: E402
from experts.voice.asr import (  # noqa: E402
    FASTER_WHISPER_ENV,
    WHISPER_ENV,
    FasterWhisper,
    PocketSphinx,
    Recognizer,
    Transcript,
    Whisper,
    plain_words,
)

AUDIO = ROOT / "showcases" / "voice" / "audio"
OUT = ROOT / "benchmarks" / "results" / "voice_asr.json"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _run(recognizer: Recognizer, rows: list[dict[str, Any]]) -> tuple[list[Transcript], float]:
    """Every file of `rows` through `recognizer`, and the seconds that took."""
    out, spent = [], 0.0
    for row in rows:
        t0 = time.perf_counter()
        out.append(recognizer.transcribe(AUDIO / row["file"]))
        spent += time.perf_counter() - t0
    return out, spent


def _score(recognizer: Recognizer, rows: list[dict[str, Any]], *, keyphrases: dict[str, float] | None = None
           ) -> dict[str, Any]:
    transcripts, spent = _run(recognizer, rows)
    audio_s = sum(t.duration for t in transcripts)
    result: dict[str, Any] = {"files": len(rows), "audio_s": round(audio_s, 2), "decode_s": round(spent, 2),
                              "rtf": round(spent / audio_s, 3)}
    if keyphrases is not None:  # spotting: which keyphrases each file holds against which were reported
        wanted = [[k for k in keyphrases if f" {k} " in f" {' '.join(plain_words(r['text']))} "] for r in rows]
        found = [[s.text for s in t.segments] for t in transcripts]
        hits = sum(len(set(w) & set(f)) for w, f in zip(wanted, found, strict=True))
        result |= {"occurrences": sum(map(len, wanted)), "spotted": hits,
                   "false_alarms": sum(len(f) for f in found) - hits}
        return result
    refs = [" ".join(plain_words(r["text"])) for r in rows]
    hyps = [" ".join(plain_words(t.text)) for t in transcripts]
    result |= {"wer": round(jiwer.wer(refs, hyps), 3),
               "examples": [{"file": r["file"], "ref": ref, "hyp": hyp} for r, ref, hyp in zip(rows, refs, hyps,
                                                                                               strict=True)]}
    if recognizer.mode == "grammar":
        result["exact_commands"] = sum(t.phrase == r["text"] for t, r in zip(transcripts, rows, strict=True))
    return result


def _whisper(make: type[Whisper] | type[FasterWhisper], model: Path | None, env: str) -> Recognizer | str:
    """The recogniser for the given weights, or the reason its rows are empty."""
    if model is None and not os.environ.get(env):
        return f"no weights (--{make.name} or ${env})"
    why = make.unavailable()
    if why:
        return why
    try:
        recognizer = make(model)
        recognizer.load()  # outside the timed decoding
    except ExpertError as exc:
        return str(exc).split(". ")[0]
    return recognizer


def asr_benchmark(whisper_model: Path | None = None, faster_whisper_model: Path | None = None,
                  console: Console | None = None) -> dict[str, Any]:
    """Every available backend and mode on both sets, printed as one table; the numbers as a dict."""
    console = console or Console(width=150)
    commands = read_jsonl(AUDIO / "commands.jsonl")
    recordings = read_jsonl(AUDIO / "recordings.jsonl")
    vocabulary = json.loads((AUDIO / "vocabulary.json").read_text(encoding="utf-8"))
    say = vocabulary["pronunciations"]
    rows: dict[str, dict[str, Any]] = {}

    grammar = PocketSphinx("grammar", phrases=[c["text"] for c in commands], pronunciations=say)
    keywords = PocketSphinx("keywords", keyphrases=vocabulary["keyphrases"], pronunciations=say)
    open_vocabulary = PocketSphinx(pronunciations=say)
    rows["commands: pocketsphinx/grammar"] = _score(grammar, commands)
    rows["commands: pocketsphinx/keywords"] = _score(keywords, commands, keyphrases=keywords.keyphrases)
    rows["commands: pocketsphinx/open"] = _score(open_vocabulary, commands)
    rows["recordings: pocketsphinx/open"] = _score(open_vocabulary, recordings)
    backends: list[tuple[type[Whisper] | type[FasterWhisper], Path | None, str]] = [
        (Whisper, whisper_model, WHISPER_ENV), (FasterWhisper, faster_whisper_model, FASTER_WHISPER_ENV)]
    for make, model, env in backends:
        recognizer = _whisper(make, model, env)
        for name, data in (("commands", commands), ("recordings", recordings)):
            key = f"{name}: {make.name}/transcribe"
            rows[key] = (_score(recognizer, data) if isinstance(recognizer, Recognizer)
                         else {"skipped": recognizer})

    table = Table(title=f"Speech recognition: {len(commands)} espeak-ng commands, {len(recordings)} real recordings")
    for col in ("set: backend/mode", "WER", "exact commands", "keyphrases spotted", "false alarms", "RTF",
                "audio s", "note"):
        table.add_column(col, justify="left" if col in ("set: backend/mode", "note") else "right")
    for key, r in rows.items():
        if "skipped" in r:
            table.add_row(key, *["—"] * 6, r["skipped"])
            continue
        exact = f"{r['exact_commands']}/{r['files']}" if "exact_commands" in r else ""
        spotted = f"{r['spotted']}/{r['occurrences']}" if "spotted" in r else ""
        table.add_row(key, f"{r['wer']:.3f}" if "wer" in r else "n/a", exact, spotted,
                      str(r.get("false_alarms", "")), f"{r['rtf']:.3f}", f"{r['audio_s']:.1f}", "")
    console.print(table)
    return {"machine": machine(), "pocketsphinx": package_version("pocketsphinx"),
            "openai-whisper": package_version("openai-whisper"), "faster-whisper": package_version("faster-whisper"),
            "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--whisper", type=Path, help="a whisper checkpoint file (.pt)")
    ap.add_argument("--faster-whisper", type=Path, help="a CTranslate2 Whisper folder")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    report = asr_benchmark(args.whisper, args.faster_whisper)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
