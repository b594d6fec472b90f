"""Synthesise the meeting test set for the voice experts: multi-speaker conversations with exact references.

    python scripts/make_voice_meetings.py             # writes showcases/voice/audio/meetings/
    python scripts/make_voice_meetings.py --out DIR
    python scripts/make_voice_meetings.py --dev 24 --seed 7 --out /tmp/dev   # random tuning meetings

Every turn is spoken by espeak-ng (a formant synthesiser: deterministic, offline, no weights) in its
speaker's voice, resampled to 16 kHz, trimmed to its first and last audible sample, and laid on one
timeline with pauses between turns. The reference therefore comes from the sample counts themselves,
not from an annotator: each turn starts and ends exactly where its samples were placed. Beside every
WAV go `NAME.json` (speakers, turns with voice and text, action items with owner, task, due date and the
utterances that state them) and `NAME.rttm`.

The set, by design:
- `standup_2spk`: two speakers, clean;
- `project_3spk`: three speakers, clean (the voice showcase's meeting, with explicit action items);
- `planning_4spk`: four speakers, clean, two of them low male voices;
- `project_3spk_overlap`: the same turns as `project_3spk`, five of them starting before the last ends;
- `project_3spk_noisy`: the same turns as `project_3spk`, with pink noise at 0 dB SNR (as loud as the speech)
  over the whole file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "showcases" / "voice" / "audio" / "meetings"
SAMPLE_RATE = 16_000
ESPEAK_RATE = 22_050  # what espeak-ng writes; 16000/22050 = 320/441
SILENCE_FLOOR = 1e-3  # |sample| below this (-60 dBFS) counts as the synthesiser's leading/trailing silence
PEAK = 0.5  # every turn is scaled to this peak, so no speaker is the loud one
EDGE_S = 0.6  # silence before the first turn and after the last
PAUSE_S = (0.5, 1.0)  # pause between turns, drawn uniformly with the meeting's seed
NOISE_SNR_DB = 0.0  # as loud as the speech: silero still finds it, energy and WebRTC gates do not


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice (language+variant) with its pitch (0-99) and speed (words per minute)."""

    name: str
    pitch: int
    speed: int

    def label(self) -> str:
        return f"{self.name} -p {self.pitch} -s {self.speed}"


@dataclass(frozen=True)
class ActionItem:
    owner: str
    task: str
    due: str | None
    turns: tuple[int, ...]  # indices of the turns that state it (the ask, the acceptance)


@dataclass(frozen=True)
class Meeting:
    name: str
    title: str
    speakers: dict[str, Voice]
    turns: tuple[tuple[str, str], ...]  # (speaker, text)
    action_items: tuple[ActionItem, ...] = ()
    seed: int = 0
    overlaps: dict[int, float] | None = None  # turn index -> seconds it starts before the previous turn ends
    noise_snr_db: float | None = None
    description: str = ""


PROJECT_SPEAKERS = {
    "David": Voice("en-us+edward", 40, 165),
    "Maria": Voice("en-us+Alicia", 60, 160),
    "Ken": Voice("en-gb+Michael", 30, 150),
}
PROJECT_TURNS = (
    ("David", "Good morning everyone. Let's go through the launch plan for the new website."),
    ("Maria", "Thanks David. The design is finished, but the budget is still open."),
    ("David", "Maria, can you send the budget draft by Friday?"),
    ("Maria", "Sure, I'll send the budget draft by Friday."),
    ("Ken", "I will review the contract with the hosting provider. I can have it done by next Wednesday."),
    ("David", "Great. Ken, please also book the meeting room for the client demo."),
    ("Ken", "Okay, I'll book the room today."),
    ("Maria", "David, could you update the project timeline before Monday?"),
    ("David", "Yes, I will update the timeline before Monday. Thanks everyone, see you next week."),
)
PROJECT_ACTIONS = (
    ActionItem("Maria", "send the budget draft", "Friday", (2, 3)),
    ActionItem("Ken", "review the contract with the hosting provider", "next Wednesday", (4,)),
    ActionItem("Ken", "book the meeting room for the client demo", "today", (5, 6)),
    ActionItem("David", "update the project timeline", "Monday", (7, 8)),
)

MEETINGS = (
    Meeting(
        name="standup_2spk",
        title="Mobile release stand-up",
        speakers={"Lena": Voice("en-us+Andrea", 65, 165), "Omar": Voice("en-us+Lee", 35, 155)},
        turns=(
            ("Lena", "Morning Omar. Quick check on the mobile release."),
            ("Omar", "The login bug is fixed. I still need to write the release notes."),
            ("Lena", "Can you finish the release notes by Thursday?"),
            ("Omar", "Yes, I'll finish them by Thursday. Could you ask the design team for the new icons?"),
            ("Lena", "Sure, I'll ask them this afternoon."),
            ("Omar", "Great, thanks Lena."),
        ),
        action_items=(
            ActionItem("Omar", "finish the release notes", "Thursday", (2, 3)),
            ActionItem("Lena", "ask the design team for the new icons", "this afternoon", (3, 4)),
        ),
        seed=2,
        description="two speakers, clean",
    ),
    Meeting(
        name="project_3spk",
        title="Website launch project meeting",
        speakers=PROJECT_SPEAKERS,
        turns=PROJECT_TURNS,
        action_items=PROJECT_ACTIONS,
        seed=3,
        description="three speakers, clean; the voice showcase's meeting",
    ),
    Meeting(
        name="planning_4spk",
        title="Customer workshop planning",
        speakers={
            "Sofia": Voice("en-us+f5", 70, 170),
            "James": Voice("en-us", 45, 160),
            "Priya": Voice("en-us+Annie", 55, 160),
            "Alex": Voice("en-us+max", 40, 170),
        },
        turns=(
            ("Sofia", "Let's plan the customer workshop for next month."),
            ("James", "I found two venues. The one downtown is cheaper and has a good projector."),
            ("Priya", "James, please book the downtown venue by the end of the week."),
            ("James", "Okay, I'll book it by Friday."),
            ("Alex", "I can prepare the slides for the product demo."),
            ("Sofia", "Thank you Alex. Please share a first version by next Tuesday."),
            ("Alex", "Will do, you'll have it next Tuesday."),
            ("Priya", "I will send the invitations to the customers on Monday."),
            ("Sofia", "Perfect. I'll order the catering once we know the numbers."),
        ),
        action_items=(
            ActionItem("James", "book the downtown venue", "Friday", (2, 3)),
            ActionItem("Alex", "prepare the slides for the product demo", "next Tuesday", (4, 5, 6)),
            ActionItem("Priya", "send the invitations to the customers", "Monday", (7,)),
            ActionItem("Sofia", "order the catering", None, (8,)),
        ),
        seed=4,
        description="four speakers, clean; James (en-us) and Alex (en-us+max) are both low male voices",
    ),
    Meeting(
        name="project_3spk_overlap",
        title="Website launch project meeting (overlapping speech)",
        speakers=PROJECT_SPEAKERS,
        turns=PROJECT_TURNS,
        action_items=PROJECT_ACTIONS,
        seed=3,
        overlaps={1: 0.8, 3: 1.0, 4: 0.6, 6: 0.8, 8: 1.2},
        description="the turns of project_3spk, five of them starting 0.6-1.2 s before the previous one ends",
    ),
    Meeting(
        name="project_3spk_noisy",
        title="Website launch project meeting (noisy room)",
        speakers=PROJECT_SPEAKERS,
        turns=PROJECT_TURNS,
        action_items=PROJECT_ACTIONS,
        seed=3,
        noise_snr_db=NOISE_SNR_DB,
        description=f"the turns of project_3spk with pink noise at {NOISE_SNR_DB:g} dB SNR over the whole file",
    ),
)


# ---- the tuning set: random meetings, never committed ------------------------------------------------------------
# The diarizer's thresholds were chosen on these (benchmarks/voice_diarize.py --dev 48), not on the committed set.

DEV_VOICES = ("en-us", "en-us+m3", "en-us+m7", "en-us+f2", "en-us+f3", "en-us+f5", "en-us+klatt", "en-us+Annie",
              "en-us+Andy", "en-us+belinda", "en-us+aunty", "en-us+boris", "en-us+caleb", "en-us+Michael",
              "en-us+linda", "en-us+max", "en-us+john", "en-us+Alicia", "en-us+Andrea", "en-us+Denis", "en-us+Lee",
              "en-us+edward", "en-gb", "en-gb+f4", "en-gb-scotland", "en-029+m2", "en-gb-x-rp+f1")
DEV_SENTENCES = (
    "We need to finish the report before the end of the month.",
    "I talked to the supplier yesterday about the delivery.",
    "The numbers from the last quarter look better than expected.", "Can we move the review to Thursday afternoon?",
    "I think the new design is much easier to use.", "Let me check the calendar and get back to you.",
    "The test results came in this morning.", "We should ask the customer what they really need.",
    "I agree, but the budget is limited this year.", "Who is going to write the summary for the board?",
    "The server migration went smoothly over the weekend.", "I will send you the slides after the meeting.",
    "That sounds good to me.", "Do we have enough people for the trade fair?",
    "The printer on the second floor is broken again.", "Let's keep the scope small for the first release.",
    "I can take care of the travel booking.", "The training starts next Monday at nine.",
)
DEV_SPEAKER_COUNTS = (1, 2, 2, 3, 3, 3, 4, 4, 5)


def dev_meetings(count: int, seed: int = 7) -> list[Meeting]:
    """`count` random meetings of 1-5 speakers drawn from DEV_VOICES with random pitch and speed (a voice may
    come twice at different settings), 7-12 turns of stock sentences; every 4th has one overlap, every 5th
    pink noise at 15 dB SNR."""
    import random

    rng = random.Random(seed)
    meetings = []
    for i in range(count):
        names = [f"S{j}" for j in range(DEV_SPEAKER_COUNTS[i % len(DEV_SPEAKER_COUNTS)])]
        speakers = {n: Voice(rng.choice(DEV_VOICES), rng.randint(25, 75), rng.randint(130, 180)) for n in names}
        turns: list[tuple[str, str]] = []
        previous = None
        for _ in range(rng.randint(7, 12)):
            speaker = rng.choice([n for n in names if n != previous] or names)
            previous = speaker
            turns.append((speaker, " ".join(rng.sample(DEV_SENTENCES, rng.randint(1, 2)))))
        turns += [(n, rng.choice(DEV_SENTENCES)) for n in names if n not in {s for s, _ in turns}]
        meetings.append(Meeting(name=f"dev{seed}_{i:02d}", title="tuning meeting", speakers=speakers,
                                turns=tuple(turns), seed=1000 * seed + i, overlaps={2: 0.5} if i % 4 == 3 else None,
                                noise_snr_db=15.0 if i % 5 == 4 else None, description="random tuning meeting"))
    return meetings


def espeak_version() -> str:
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True).stdout
    return out.split("Data at")[0].strip()


def synthesise(text: str, voice: Voice, work: Path) -> np.ndarray:
    """One utterance as float32 at 16 kHz, cut to its audible samples and scaled to PEAK."""
    wav = work / "turn.wav"
    command = ["espeak-ng", "-v", voice.name, "-p", str(voice.pitch), "-s", str(voice.speed), "-w", str(wav), text]
    subprocess.run(command, check=True, capture_output=True)
    audio, rate = sf.read(wav, dtype="float64")
    if rate != ESPEAK_RATE:
        raise RuntimeError(f"espeak-ng wrote {rate} Hz, expected {ESPEAK_RATE}")
    audio = resample_poly(audio, SAMPLE_RATE // 50, ESPEAK_RATE // 50)
    loud = np.flatnonzero(np.abs(audio) > SILENCE_FLOOR)
    audio = audio[loud[0]: loud[-1] + 1]
    return (audio * (PEAK / np.abs(audio).max())).astype(np.float32)


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Noise with a 1/f power spectrum (an air-conditioned room more than a hiss), unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, d=1.0 / SAMPLE_RATE)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0.0
    noise = np.fft.irfft(spectrum, n)
    return noise / np.sqrt(np.mean(noise ** 2))


def render(meeting: Meeting, work: Path) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """The meeting's samples and its reference turns, placed from the samples' own lengths."""
    rng = np.random.default_rng(meeting.seed)
    clips = [synthesise(text, meeting.speakers[speaker], work) for speaker, text in meeting.turns]
    pauses = rng.uniform(*PAUSE_S, size=len(clips))  # drawn for every meeting alike, so variants share them
    starts: list[int] = []
    cursor = round(EDGE_S * SAMPLE_RATE)
    for index in range(len(clips)):
        if index > 0:
            gap = round(pauses[index] * SAMPLE_RATE)
            overlap = (meeting.overlaps or {}).get(index)
            if overlap is not None:
                gap = -round(overlap * SAMPLE_RATE)
            cursor = starts[-1] + len(clips[index - 1]) + gap
        starts.append(cursor)
    total = max(s + len(c) for s, c in zip(starts, clips, strict=True)) + round(EDGE_S * SAMPLE_RATE)
    audio = np.zeros(total, dtype=np.float64)
    for start, clip in zip(starts, clips, strict=True):
        audio[start: start + len(clip)] += clip
    if meeting.noise_snr_db is not None:
        speech = np.concatenate(clips).astype(np.float64)
        speech_rms = np.sqrt(np.mean(speech ** 2))
        noise_rms = speech_rms / 10 ** (meeting.noise_snr_db / 20)
        audio += noise_rms * pink_noise(total, np.random.default_rng(meeting.seed + 1000))
    peak = np.abs(audio).max()
    if peak > 0.99:
        audio *= 0.99 / peak
    turns = [
        {"speaker": speaker, "voice": meeting.speakers[speaker].label(), "start": round(start / SAMPLE_RATE, 4),
         "end": round((start + len(clip)) / SAMPLE_RATE, 4), "text": text}
        for (speaker, text), start, clip in zip(meeting.turns, starts, clips, strict=True)
    ]
    return audio.astype(np.float32), turns


def rttm(name: str, turns: list[dict[str, Any]]) -> str:
    return "".join(f"SPEAKER {name} 1 {t['start']:.4f} {t['end'] - t['start']:.4f} <NA> <NA> {t['speaker']} <NA> <NA>\n"
                   for t in turns)


def write(meeting: Meeting, out: Path, version: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        audio, turns = render(meeting, Path(tmp))
    sf.write(out / f"{meeting.name}.wav", audio, SAMPLE_RATE, subtype="PCM_16")
    reference = {
        "name": meeting.name,
        "title": meeting.title,
        "description": meeting.description,
        "audio": f"{meeting.name}.wav",
        "sample_rate": SAMPLE_RATE,
        "duration_s": round(len(audio) / SAMPLE_RATE, 4),
        "num_speakers": len(meeting.speakers),
        "synthesiser": version,
        "generator": "scripts/make_voice_meetings.py",
        "overlap": bool(meeting.overlaps),
        "noise_snr_db": meeting.noise_snr_db,
        "speakers": [{"name": name, "voice": voice.label()} for name, voice in meeting.speakers.items()],
        "turns": turns,
        "action_items": [
            {"owner": item.owner, "task": item.task, "due": item.due, "turns": list(item.turns),
             "utterances": [f"{turns[i]['speaker']}: {turns[i]['text']}" for i in item.turns]}
            for item in meeting.action_items
        ],
    }
    (out / f"{meeting.name}.json").write_text(json.dumps(reference, indent=2) + "\n")
    (out / f"{meeting.name}.rttm").write_text(rttm(meeting.name, turns))
    return reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--dev", type=int, default=0, metavar="N",
                        help="write N random tuning meetings instead of the test set (use another --out)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the tuning meetings")
    args = parser.parse_args()
    if args.dev and args.out.resolve() == OUT.resolve():
        parser.error("--dev writes tuning meetings: give an --out folder outside the committed test set")
    args.out.mkdir(parents=True, exist_ok=True)
    version = espeak_version()
    for meeting in dev_meetings(args.dev, args.seed) if args.dev else MEETINGS:
        ref = write(meeting, args.out, version)
        print(f"{meeting.name}: {ref['duration_s']:.1f} s, {ref['num_speakers']} speakers, {len(ref['turns'])} turns")


if __name__ == "__main__":
    main()
