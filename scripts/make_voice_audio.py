"""Writes the voice showcases' test audio into showcases/voice/audio/, reproducibly.

    python scripts/make_voice_audio.py            # spoken commands, questions and instructions (espeak-ng)
    python scripts/make_voice_audio.py --real     # also the real recordings, from pocketsphinx's sdist

Commands: each line of COMMANDS is spoken by espeak-ng (Debian package `espeak-ng`) with its own voice,
speed and pitch, resampled to 16 kHz mono 16-bit WAV; commands.jsonl holds file, text, voice, intent;
vocabulary.json the pronunciations and keyphrase thresholds pocketsphinx uses on them.
The same espeak-ng version writes the same samples, so the files only change when the list does.

Real recordings: the pocketsphinx 5.1.1 source distribution on PyPI carries CMU's test audio
(BSD licence) and five LibriVox clips (public domain) with their transcripts; `--real` fetches it with
pip and copies them here as 16 kHz FLAC. SOURCES.md says where each file comes from.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "showcases" / "voice" / "audio"
RATE = 16_000

# (file stem, text, espeak-ng voice, words per minute, pitch 0-99, intent)
COMMANDS: list[tuple[str, str, str, int, int, str]] = [
    ("search-pep8", "search the corpus for pep eight naming conventions", "en-us", 150, 50, "research.search"),
    ("ask-type-hints", "what does the corpus say about type hints", "en-gb", 145, 45, "research.ask"),
    ("compare-threads", "compare threads and processes for parallel work", "en+f3", 140, 60, "research.compare"),
    ("open-demo", "open the project demo", "en-us", 160, 40, "gui.open"),
    ("sign-in", "sign in and create a new report", "en-gb-x-rp", 150, 55, "gui.do"),
    ("download-report", "download the report for northwind traders", "en-us+m3", 135, 50, "gui.do"),
    ("create-task", "create a task called invoice", "en+f2", 150, 65, "gui.do"),
    ("go-back", "go back to the start page", "en-gb-scotland", 155, 50, "gui.do"),
    ("run-hello", "run the script hello", "en-us", 140, 35, "run.script"),
    ("show-result", "show the result", "en+f3", 150, 70, "show.result"),
    ("read-summary", "read the summary out loud", "en-gb", 160, 50, "voice.speak"),
    ("summarize-meeting", "summarize the meeting recording", "en-us+f4", 145, 60, "voice.summarize"),
    ("key-visual", "make a key visual for the product launch", "en-029", 150, 50, "image.generate"),
    ("cancel", "cancel that", "en-us", 170, 45, "control.cancel"),
]

_SDIST = "pocketsphinx-5.1.1"
# For pocketsphinx's grammar and keyword modes (vocabulary.json): the one command word CMUdict lacks, and
# keyphrase thresholds chosen per phrase by sweeping 1e-10 .. 1e-50 on these commands (the most permissive
# with no false alarm; multi-word phrases want smaller ones).
PRONUNCIATIONS = {"northwind": "N AO R TH W IH N D"}
KEYPHRASES = {"report": 1e-15, "demo": 1e-25, "result": 1e-30, "summary": 1e-20, "invoice": 1e-20, "search": 1e-15,
              "northwind traders": 1e-30, "out loud": 1e-25, "hello": 1e-10}

# (file name in recordings/, member of the sdist, its transcript there, licence)
_LIBRIVOX = "test/data/librivox/sense_and_sensibility_01_austen_64kb-{}.wav"
_CMU = "CMU Sphinx test audio, BSD-2-Clause (pocketsphinx LICENSE)"
_PD = "LibriVox recording, public domain"
REAL: list[tuple[str, str, str, str]] = [
    ("goforward.flac", "test/data/goforward.raw", "go forward ten meters", _CMU),
    ("cards-001.flac", "test/data/cards/001.wav", "ten of clubs", _CMU),
    ("cards-002.flac", "test/data/cards/002.wav", "four queen of clubs", _CMU),
    ("cards-003.flac", "test/data/cards/003.wav", "seven of clubs", _CMU),
    ("cards-004.flac", "test/data/cards/004.wav", "five five", _CMU),
    ("cards-005.flac", "test/data/cards/005.wav", "eight of spades four of clubs seven of hearts", _CMU),
    ("librivox-0870.flac", _LIBRIVOX.format("0870"), "and mister john dashwood had then leisure to consider how "
     "much there might be prudently in his power to do for them", _PD),
    ("librivox-0880.flac", _LIBRIVOX.format("0880"), "he was not an ill disposed young man", _PD),
    ("librivox-0890.flac", _LIBRIVOX.format("0890"), "unless to be rather cold hearted and rather selfish is to be "
     "ill disposed", _PD),
    ("librivox-0920.flac", _LIBRIVOX.format("0920"), "had he married a more a amiable woman he might have been made "
     "still more respectable than he was", _PD),
    ("librivox-0930.flac", _LIBRIVOX.format("0930"), "he might even have been made amiable himself", _PD),
]


def speak(text: str, voice: str, wpm: int, pitch: int, out: Path) -> None:
    """espeak-ng's 22 050 Hz speech, resampled to 16 kHz mono 16-bit."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "espeak.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(wpm), "-p", str(pitch), "-w", str(raw), text],
                       check=True, capture_output=True)
        samples, rate = sf.read(raw, dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    sf.write(out, soxr.resample(mono, rate, RATE), RATE, subtype="PCM_16")


def make_commands() -> None:
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is not installed: apt-get install -y espeak-ng (scripts/setup.sh does it)")
    make_set("commands", [(stem, text, voice, wpm, pitch, {"intent": intent})
                          for stem, text, voice, wpm, pitch, intent in COMMANDS])
    vocabulary = {"pronunciations": PRONUNCIATIONS, "keyphrases": KEYPHRASES}
    (OUT / "vocabulary.json").write_text(json.dumps(vocabulary, indent=2) + "\n", encoding="utf-8")


Spoken = tuple[str, str, str, int, int, dict[str, Any]]  # stem, text, espeak-ng voice, wpm, pitch, more fields


def make_set(name: str, items: list[Spoken]) -> None:
    """Speak each item into NAME/STEM.wav and list them in NAME.jsonl (file, text, voice, wpm, pitch, more)."""
    (OUT / name).mkdir(parents=True, exist_ok=True)
    rows = []
    for stem, text, voice, wpm, pitch, more in items:
        speak(text, voice, wpm, pitch, OUT / name / f"{stem}.wav")
        rows.append({"file": f"{name}/{stem}.wav", "text": text, "voice": voice, "wpm": wpm, "pitch": pitch, **more})
    write_jsonl(OUT / f"{name}.jsonl", rows)
    print(f"wrote {len(rows)} {name} to {OUT / name}")


# voice-a's spoken questions about the style corpus (showcases/voice/corpus)
QUESTIONS: list[Spoken] = [
    ("naming", "what does pep eight say about naming conventions", "en-us", 145, 50, {}),
    ("docstrings", "how should a docstring begin", "en-gb", 145, 50, {}),
    ("line-length", "how long should a line of code be", "en+f3", 145, 60, {}),
]


def _run(project: str, script: str) -> dict[str, Any]:
    return {"intent": "run_script", "slots": {"project": project, "script": script}}


# voice-b's spoken instructions to the project runner (showcases/voice/runner), with the intent and slots
# each one means under voice-b's grammar
INSTRUCTIONS: list[Spoken] = [
    ("primes", "open the project primes and run primes", "en+f3", 145, 60, _run("primes", "primes")),
    ("hello", "run main in the project hello", "en+f3", 145, 60, _run("hello", "main")),
    ("spin", "open the project spin and run loop", "en+f3", 145, 60, _run("spin", "loop")),
    ("primes-us", "open the project primes and run primes", "en-us", 145, 50,
     _run("primes", "primes")),
    ("hello-us", "run main in the project hello", "en-us", 145, 50, _run("hello", "main")),
    ("spin-gb", "open the project spin and run loop", "en-gb", 145, 50, _run("spin", "loop")),
]


# Spoken goals for the command-to-graph benchmark: each request is planned typed and as heard, against the
# same catalogue, with the task inputs it names (name -> example value)
GOALS: list[Spoken] = [
    ("meeting-summary", "summarise the meeting in the recording and list the action items", "en-us", 145, 50,
     {"inputs": {"meeting": "standup.wav"}}),
    ("transcribe", "transcribe the recording", "en-gb", 145, 50, {"inputs": {"audio": "memo.wav"}}),
    ("spoken-question", "answer the question asked in the recording using the documents", "en+f3", 145, 60,
     {"inputs": {"audio": "question.wav", "docs": "docs/"}}),
    ("read-aloud", "read the report aloud", "en-us", 145, 45, {"inputs": {"report": "report.md"}}),
    ("notes-keywords", "summarise the notes and pick five keywords", "en-gb", 145, 50, {"inputs": {"notes": "notes/"}}),
    ("voice-app", "carry out the spoken instruction in the recording on the site", "en+f3", 145, 60,
     {"inputs": {"audio": "instruction.wav", "site": "http://127.0.0.1:8000"}}),
]


def make_real() -> None:
    """Copy the recordings out of pocketsphinx's sdist (fetched with pip, the ordinary client)."""
    (OUT / "recordings").mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps", "-q",
                        "-d", tmp, "pocketsphinx==5.1.1"], check=True)
        with tarfile.open(next(Path(tmp).glob("pocketsphinx-*.tar.gz"))) as tar:
            for name, member, text, licence in REAL:
                data = tar.extractfile(f"{_SDIST}/{member}")
                assert data is not None, member
                raw = data.read()
                if member.endswith(".raw"):  # headerless 16 kHz signed 16-bit little-endian
                    samples, rate = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768, 16_000
                else:
                    part = Path(tmp) / "part.wav"
                    part.write_bytes(raw)
                    samples, rate = sf.read(part, dtype="float32")
                if rate != RATE:
                    samples = soxr.resample(samples, rate, RATE)
                sf.write(OUT / "recordings" / name, samples, RATE, format="FLAC", subtype="PCM_16")
                rows.append({"file": f"recordings/{name}", "text": text, "source": f"{_SDIST}.tar.gz:{member}",
                             "licence": licence})
    write_jsonl(OUT / "recordings.jsonl", rows)
    print(f"wrote {len(rows)} recordings to {OUT / 'recordings'}")


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", action="store_true", help="also copy the real recordings from pocketsphinx's sdist")
    args = parser.parse_args()
    make_commands()
    make_set("questions", QUESTIONS)
    make_set("instructions", INSTRUCTIONS)
    make_set("goals", GOALS)
    if args.real:
        make_real()


if __name__ == "__main__":
    main()
