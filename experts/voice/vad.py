"""Voice activity detection: where in a recording someone speaks, in seconds.

Silero VAD is the backend: a small neural detector whose TorchScript weights ship inside the `silero-vad`
wheel, so it runs offline. When it cannot (the package or torch missing), WebRTC's GMM detector
(`webrtcvad`) runs, and failing that an energy threshold; the result names the backend that ran and why
the better ones did not, so a caller never mistakes an energy gate for a neural detector.
"""

from __future__ import annotations

import functools
import threading
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentos.errors import ExpertError
from experts.voice.audio import RATE, Audio, check, from_samples, load

SAMPLE_RATE = RATE  # 16 kHz: every backend here, and the speaker encoder, work at it
VadBackend = Literal["silero", "webrtcvad", "energy"]
BACKENDS: tuple[VadBackend, ...] = ("silero", "webrtcvad", "energy")  # best first

WEBRTC_FRAME_S = 0.03
WEBRTC_MODE = 2  # 0 (lenient) .. 3 (strict); 2 keeps quiet word endings without taking in steady noise
ENERGY_FRAME_S = 0.03
ENERGY_FLOOR_DBFS = -50.0  # below this a frame is silence whatever the recording's level
ENERGY_ABOVE_NOISE_DB = 12.0  # speech frames stand this far above the quietest tenth of the frames


class SpeechRegion(BaseModel):
    """One stretch of speech, in seconds from the start of the recording."""

    model_config = ConfigDict(frozen=True)

    start: float = Field(ge=0)
    end: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> SpeechRegion:
        if self.end < self.start:
            raise ValueError(f"a speech region ends ({self.end}) before it starts ({self.start})")
        return self

    @property
    def duration(self) -> float:
        return self.end - self.start


class VadResult(BaseModel):
    """The speech regions of one recording and the detector that found them."""

    backend: VadBackend
    fallback_reason: str | None = Field(None, description="why a better backend did not run (None: the first "
                                        "choice ran)")
    sample_rate: int
    duration_s: float
    regions: list[SpeechRegion]

    @property
    def speech_s(self) -> float:
        return sum(region.duration for region in self.regions)


class VadSettings(BaseModel):
    """How regions are cut: the same meaning for every backend."""

    threshold: float = Field(0.5, gt=0, lt=1, description="silero: speech probability a frame needs")
    min_speech_s: float = Field(0.25, ge=0, description="shorter bursts are dropped")
    min_silence_s: float = Field(0.2, ge=0, description="shorter pauses do not split a region")
    pad_s: float = Field(0.03, ge=0, description="added on both sides of a region (clipped to the recording)")


AudioInput = np.ndarray | str | Path | Audio  # a file, samples (with their rate), or audio already loaded


def load_audio(audio: AudioInput, sample_rate: int | None = None) -> tuple[np.ndarray, str]:
    """Mono float32 samples at 16 kHz from any AudioInput, and the name errors should give it. Reading and
    resampling are `experts.voice.audio`'s; silence is allowed here (finding none is the VAD's answer)."""
    if isinstance(audio, Audio):
        loaded = check(audio, allow_silent=True).resampled(SAMPLE_RATE)
    elif isinstance(audio, (str, Path)):
        loaded = load(audio, rate=SAMPLE_RATE, allow_silent=True)
    elif sample_rate is None:
        raise ExpertError("voice: an audio array needs its sample_rate")
    else:
        loaded = from_samples(audio, sample_rate, to_rate=SAMPLE_RATE, allow_silent=True)
    return loaded.samples, loaded.name


def detect_speech(audio: AudioInput, sample_rate: int | None = None, *,
                  backend: VadBackend | Literal["auto"] = "auto", settings: VadSettings | None = None) -> VadResult:
    """The speech regions of a recording (a path, or samples with their rate).

    `backend="auto"` takes the best backend that can run here and records why the others did not; naming
    a backend runs that one or raises `ExpertError` saying why it cannot. A silent recording gives no
    regions (that is an answer, not an error); an empty one is an error.
    """
    samples, source = load_audio(audio, sample_rate)
    settings = settings or VadSettings()
    order = BACKENDS if backend == "auto" else (backend,)
    skipped: list[str] = []
    for name in order:
        reason = unavailable(name)
        if reason is not None:
            skipped.append(f"{name}: {reason}")
            continue
        spans = _DETECTORS[name](samples, settings)
        duration = len(samples) / SAMPLE_RATE
        regions = [SpeechRegion(start=round(max(0.0, s - settings.pad_s), 3),
                                end=round(min(duration, e + settings.pad_s), 3)) for s, e in spans]
        return VadResult(backend=name, fallback_reason="; ".join(skipped) or None, sample_rate=SAMPLE_RATE,
                         duration_s=round(duration, 4), regions=_merge_touching(regions))
    raise ExpertError(f"voice.vad: no backend can run on {source}: " + "; ".join(skipped))


def unavailable(backend: VadBackend) -> str | None:
    """Why `backend` cannot run here, or None."""
    if backend == "silero":
        try:
            _silero_model()
        except ImportError as exc:
            return f"silero-vad is not installed ({exc.name or exc}): pip install 'agentos[voice]'"
        except (RuntimeError, OSError) as exc:
            return f"silero-vad's bundled model does not load ({exc})"
        return None
    if backend == "webrtcvad":
        try:
            import webrtcvad  # noqa: F401
        except ImportError:
            return "webrtcvad is not installed: pip install webrtcvad-wheels"
        return None
    return None


# ---- backends: each returns (start, end) spans in seconds, before padding ------------------------------------

_SILERO_LOCK = threading.Lock()  # the TorchScript model keeps recurrent state between calls


@functools.cache
def _silero_model() -> Any:
    """Silero's TorchScript model from the wheel's data folder (no download). Importing `silero_vad` sets
    torch to one thread process-wide; the setting is put back so the rest of the process keeps its cores."""
    import torch

    threads = torch.get_num_threads()
    try:
        with warnings.catch_warnings():  # its loader uses importlib.resources.path and torch.jit.load, both deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            from silero_vad import load_silero_vad

            return load_silero_vad(onnx=False)
    finally:
        torch.set_num_threads(threads)


def _silero(samples: np.ndarray, settings: VadSettings) -> list[tuple[float, float]]:
    import torch
    from silero_vad import get_speech_timestamps

    model = _silero_model()
    with _SILERO_LOCK, torch.inference_mode():
        # the model runs once per 32 ms chunk: on ops that small, a second thread costs more than it gives
        # (48 s of audio: 1.8 s on one thread, 11 s on two)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            stamps = get_speech_timestamps(
                torch.from_numpy(np.ascontiguousarray(samples)), model, threshold=settings.threshold,
                sampling_rate=SAMPLE_RATE, min_speech_duration_ms=round(settings.min_speech_s * 1000),
                min_silence_duration_ms=round(settings.min_silence_s * 1000), speech_pad_ms=0)
        finally:
            torch.set_num_threads(threads)
    return [(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]


def _webrtc(samples: np.ndarray, settings: VadSettings) -> list[tuple[float, float]]:
    import webrtcvad

    vad = webrtcvad.Vad(WEBRTC_MODE)
    frame = round(WEBRTC_FRAME_S * SAMPLE_RATE)
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    flags = [vad.is_speech(pcm[i: i + frame].tobytes(), SAMPLE_RATE) for i in range(0, len(pcm) - frame + 1, frame)]
    return _spans_from_flags(np.array(flags, dtype=bool), WEBRTC_FRAME_S, settings)


def _energy(samples: np.ndarray, settings: VadSettings) -> list[tuple[float, float]]:
    frame = round(ENERGY_FRAME_S * SAMPLE_RATE)
    count = len(samples) // frame
    if count == 0:
        return []
    frames = samples[: count * frame].reshape(count, frame).astype(np.float64)
    level = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
    noise = np.percentile(level, 10)
    flags = level > max(ENERGY_FLOOR_DBFS, noise + ENERGY_ABOVE_NOISE_DB)
    return _spans_from_flags(flags, ENERGY_FRAME_S, settings)


_DETECTORS = {"silero": _silero, "webrtcvad": _webrtc, "energy": _energy}


def _spans_from_flags(flags: np.ndarray, frame_s: float, settings: VadSettings) -> list[tuple[float, float]]:
    """Runs of speech frames as spans, pauses shorter than min_silence_s bridged, bursts under min_speech_s dropped."""
    spans: list[list[float]] = []
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    for begin, end in zip(edges[::2], edges[1::2], strict=True):
        start_s, end_s = begin * frame_s, end * frame_s
        if spans and start_s - spans[-1][1] < settings.min_silence_s:
            spans[-1][1] = end_s
        else:
            spans.append([start_s, end_s])
    return [(s, e) for s, e in spans if e - s >= settings.min_speech_s]


def _merge_touching(regions: list[SpeechRegion]) -> list[SpeechRegion]:
    """Padding can make neighbours meet; one region is what a reader expects then."""
    merged: list[SpeechRegion] = []
    for region in regions:
        if merged and region.start <= merged[-1].end:
            merged[-1] = SpeechRegion(start=merged[-1].start, end=max(merged[-1].end, region.end))
        else:
            merged.append(region)
    return merged
