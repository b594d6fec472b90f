"""Spoken replies: text to a WAV file with espeak-ng (a Debian package; scripts/setup.sh installs it).

espeak-ng is formant synthesis: robotic, but offline, instant and in dozens of voices, so a reply
can be heard at once and the test audio of the showcases can be regenerated anywhere.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import wave
from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field

from agentos.errors import ExpertError

WORDS_PER_MINUTE = 160  # espeak-ng's default speed


class Spoken(BaseModel):
    wav: Path
    seconds: float
    voice: str
    words: int


def espeak() -> str:
    """The espeak-ng program, or a clear error saying how to install it."""
    found = shutil.which("espeak-ng")
    if found is None:
        raise ExpertError("speaking needs espeak-ng: run scripts/setup.sh, or apt-get install espeak-ng")
    return found


@cache
def voices() -> tuple[set[str], set[str]]:
    """The languages espeak-ng speaks (en-us, en-gb, de, ...) and its voice variants (f3, m2, ...): a voice is
    a language, or language+variant (en+f3). espeak-ng itself falls back silently on a name it does not know."""
    def table(option: str) -> list[list[str]]:
        out = subprocess.run([espeak(), option], capture_output=True, text=True, check=True).stdout
        return [line.split() for line in out.splitlines()[1:] if len(line.split()) > 3]

    languages = {row[1] for row in table("--voices")}
    languages |= {m for row in table("--voices") for m in re.findall(r"\(([\w-]+) \d+\)", " ".join(row[5:]))}
    variants = {row[4].split("/")[-1] for row in table("--voices=variant")}
    return languages, variants


def check_voice(voice: str) -> str:
    language, _, variant = voice.partition("+")
    languages, variants = voices()
    if language not in languages:
        near = sorted(v for v in languages if v.split("-")[0] == language.split("-")[0])[:6]
        raise ExpertError(f"espeak-ng has no voice {language!r}" + (f"; close: {', '.join(near)}" if near else "")
                          + " (espeak-ng --voices lists them)")
    if variant and variant not in variants:
        raise ExpertError(f"espeak-ng has no voice variant {variant!r}; some: {', '.join(sorted(variants)[:8])}")
    return voice


def speak(text: str, out: Path, *, voice: str = "en-us", speed: int = WORDS_PER_MINUTE, pitch: int = 50) -> Spoken:
    """Say `text` into `out` (22.05 kHz mono WAV)."""
    if not text.strip():
        raise ExpertError("there is nothing to say: the text is empty")
    check_voice(voice)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([espeak(), "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(out), "--", text],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0 or not out.is_file():
        why = (done.stderr or done.stdout).strip().splitlines()
        raise ExpertError(f"espeak-ng could not speak with voice {voice!r}: {why[-1] if why else 'no output'} "
                          "(espeak-ng --voices lists the voices)")
    with wave.open(str(out)) as w:
        seconds = w.getnframes() / w.getframerate()
    return Spoken(wav=out, seconds=round(seconds, 3), voice=voice, words=len(text.split()))


class SpeakInput(BaseModel):
    text: str = Field(min_length=1, description="what to say")
    voice: str = Field("en-us", description="an espeak-ng voice (en-us, en-gb, en+f3, de, fr, ...)")
    speed: int = Field(WORDS_PER_MINUTE, ge=80, le=450, description="words per minute")
    pitch: int = Field(50, ge=0, le=99)
