"""Audio in: any WAV, FLAC, MP3 or OGG file to mono float32 samples at the rate a recogniser wants.

libsndfile (through `soundfile`; the wheel bundles libsndfile 1.2 with MP3 and Vorbis/Opus) reads every
format, so no ffmpeg is needed; `soxr` resamples (its high-quality mode, as whisper and torchaudio do).
A file that cannot be used fails here, with its name, before any model is loaded: missing, not audio,
empty, or silent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agentos.errors import ExpertError

RATE = 16_000  # what pocketsphinx's en-us model, whisper and faster-whisper all take
FORMATS = ("WAV", "FLAC", "MP3", "OGG")  # tested; libsndfile reads others too (AIFF, AU, CAF, ...)
SILENCE_DBFS = -60.0  # peak below this is silence: 16-bit dither sits near -90, quiet speech near -30


@dataclass(frozen=True)
class Audio:
    """Mono float32 samples in [-1, 1] at `rate` Hz, and the file they came from."""

    samples: np.ndarray
    rate: int
    path: Path | None = None

    @property
    def duration(self) -> float:
        """Seconds."""
        return len(self.samples) / self.rate

    @property
    def name(self) -> str:
        """How messages name this audio: its file, or `<samples>` when it came from code."""
        return str(self.path) if self.path else "<samples>"

    def pcm16(self) -> bytes:
        """Signed 16-bit little-endian PCM, what pocketsphinx's `process_raw` reads."""
        return (np.clip(self.samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()

    def resampled(self, rate: int) -> Audio:
        """The same audio at `rate` Hz (itself when it is already there)."""
        if rate == self.rate:
            return self
        return Audio(resample(self.samples, self.rate, rate), rate, self.path)


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """`samples` (mono) from `from_rate` to `to_rate` Hz, float32."""
    if from_rate <= 0 or to_rate <= 0:
        raise ExpertError(f"cannot resample from {from_rate} Hz to {to_rate} Hz: rates must be positive")
    if from_rate == to_rate:
        return samples.astype(np.float32, copy=False)
    import soxr

    return soxr.resample(samples.astype(np.float32, copy=False), from_rate, to_rate, quality="HQ")


def peak_dbfs(samples: np.ndarray) -> float:
    """The loudest sample in dB relative to full scale (-inf for all zeros)."""
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def check(audio: Audio, *, allow_silent: bool = False) -> Audio:
    """`audio` itself, or an ExpertError naming it when it holds nothing to recognise."""
    if len(audio.samples) == 0:
        raise ExpertError(f"{audio.name}: the audio is empty (0 samples)")
    if not np.all(np.isfinite(audio.samples)):
        raise ExpertError(f"{audio.name}: the audio has samples that are not numbers (NaN or infinite)")
    level = peak_dbfs(audio.samples)
    if not allow_silent and level < SILENCE_DBFS:
        shown = "-inf" if level == -math.inf else f"{level:.0f}"
        raise ExpertError(f"{audio.name}: the audio is silent ({audio.duration:.2f} s, peak {shown} dBFS, "
                          f"below {SILENCE_DBFS:.0f} dBFS): nothing to recognise")
    return audio


def from_samples(samples: np.ndarray, rate: int, *, to_rate: int | None = RATE, path: Path | None = None,
                 allow_silent: bool = False) -> Audio:
    """Audio from an array in code (mono, or frames x channels; any numeric dtype), checked like a file."""
    data = np.asarray(samples)
    if data.ndim == 2:
        data = data.mean(axis=1)
    elif data.ndim != 1:
        raise ExpertError(f"{path or '<samples>'}: audio must be 1-D (mono) or 2-D (frames x channels), "
                          f"not shape {data.shape}")
    if np.issubdtype(data.dtype, np.integer):
        data = data / float(np.iinfo(data.dtype).max)
    audio = Audio(data.astype(np.float32, copy=False), rate, path)
    check(audio, allow_silent=allow_silent)
    return audio.resampled(to_rate) if to_rate else audio


def load(path: str | Path, *, rate: int | None = RATE, allow_silent: bool = False) -> Audio:
    """Read `path` (WAV, FLAC, MP3, OGG, ...), mix it to mono and resample to `rate` Hz (None: keep its own)."""
    import soundfile as sf

    file = Path(path).expanduser()
    if not file.exists():
        raise ExpertError(f"audio file not found: {file}")
    if not file.is_file():
        raise ExpertError(f"{file} is not a file (an audio file such as .wav, .flac, .mp3 or .ogg was expected)")
    try:
        samples, file_rate = sf.read(file, dtype="float32", always_2d=True)
    except RuntimeError as exc:  # soundfile.LibsndfileError is one; older soundfile raised RuntimeError itself
        size = file.stat().st_size
        raise ExpertError(f"{file}: cannot be read as audio ({size} bytes; {exc}); the readable formats are "
                          f"{', '.join(FORMATS)} and the others libsndfile {sf.__libsndfile_version__} reads") from None
    return from_samples(samples, int(file_rate), to_rate=rate, path=file, allow_silent=allow_silent)
