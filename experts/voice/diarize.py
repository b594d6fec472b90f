"""Speaker diarization: who spoke when, with the number of speakers estimated from the recording.

The pipeline is the classic one (VAD, embed, cluster, resegment):
1. voice activity detection (`vad.detect_speech`) finds the speech;
2. Resemblyzer's GE2E speaker encoder (its pretrained weights ship in the `resemblyzer` wheel) embeds
   sliding windows inside each speech region;
3. the windows' embeddings are averaged over segments of about 2.5 s (one window is too noisy), and
   agglomerative clustering (average linkage on cosine distance) cut at a distance threshold groups the
   segments, so the number of speakers is an output, not an input; clusters too small to be a speaker
   are folded into their nearest neighbour;
4. every 10 ms of speech takes the label of the window centred nearest to it, and runs of one label,
   bridged over short pauses, become turns.

`diarization_error_rate` scores turns against a reference the way NIST's md-eval does: missed speech,
false alarm and speaker confusion over the reference's speech time, with the speaker mapping that
maximises overlap (Hungarian algorithm) and an optional no-score collar around reference boundaries.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from agentos.errors import ExpertError
from experts.voice.vad import (
    SAMPLE_RATE,
    AudioInput,
    SpeechRegion,
    VadResult,
    VadSettings,
    detect_speech,
    load_audio,
)

EMBEDDING_BACKEND = "resemblyzer-ge2e"
FRAME_S = 0.01  # resolution of the turn boundaries
ENCODER_HOP_S = 0.01  # the encoder's mel frames (10 ms hop, 25 ms window, 40 bands)
LEVEL_DBFS = -30.0  # the loudness the encoder was trained at; quieter recordings are raised to it


class DiarizeSettings(BaseModel):
    """The knobs. segment_s and threshold were chosen on random tuning meetings, never on the committed test
    set (`python benchmarks/voice_diarize.py --dev 48 --sweep` reproduces the grid)."""

    window_s: float = Field(1.6, gt=0.2, description="embedding window (GE2E was trained on 1.6 s partials)")
    step_s: float = Field(0.4, gt=0.05, description="hop between windows")
    segment_s: float = Field(2.5, gt=0, description="speech regions are cut into segments this long; each segment's "
                             "mean window embedding is one point to cluster")
    threshold: float = Field(0.22, gt=0, lt=2, description="cosine distance at which clusters stop merging")
    min_cluster_share: float = Field(0.05, ge=0, lt=1, description="a cluster with less of the windows than this "
                                     "is not a speaker: its windows go to the nearest real cluster")
    min_gap_s: float = Field(0.5, ge=0, description="pauses shorter than this inside one speaker's speech stay "
                             "in the turn")
    max_speakers: int = Field(8, ge=1, le=32)


class SpeakerTurn(SpeechRegion):
    """One speaker speaking without a break, in seconds: a speech region with its speaker."""

    speaker: str = Field(min_length=1)


class Diarization(BaseModel):
    """Who spoke when in one recording, and how that was found."""

    num_speakers: int = Field(ge=0, description="estimated from the recording unless one was given")
    turns: list[SpeakerTurn]
    speech: list[SpeechRegion] = Field(description="what the VAD found")
    vad_backend: str
    vad_fallback_reason: str | None = None
    embedding_backend: str = EMBEDDING_BACKEND
    clustering: str = Field(description="how the speakers were grouped, with its threshold")
    windows: int = Field(description="embedding windows clustered")
    duration_s: float


class DerResult(BaseModel):
    """Diarization error rate and its parts, as shares of the scored reference speech and in seconds."""

    der: float
    missed: float
    false_alarm: float
    confusion: float
    reference_s: float = Field(description="scored reference speech (each overlapping speaker counts)")
    missed_s: float
    false_alarm_s: float
    confusion_s: float
    collar: float
    mapping: dict[str, str] = Field(description="hypothesis speaker -> reference speaker")


# ---- diarization -----------------------------------------------------------------------------------------------

_ENCODER_LOCK = threading.Lock()


@functools.cache
def _encoder() -> Any:
    """Resemblyzer's GE2E encoder with the weights from its wheel (`pretrained.pt`), on the CPU."""
    try:
        with warnings.catch_warnings():  # it imports binary_dilation from a deprecated scipy namespace
            warnings.simplefilter("ignore", DeprecationWarning)
            from resemblyzer import VoiceEncoder
    except ImportError as exc:
        raise ExpertError(f"voice.diarize: resemblyzer is not installed ({exc.name or exc}): "
                          "pip install 'agentos[voice]'") from None
    return VoiceEncoder("cpu", verbose=False)


def unavailable() -> str | None:
    """Why diarization cannot run here, or None."""
    try:
        _encoder()
    except ExpertError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class SpeechEmbeddings:
    """Step one of diarizing a recording: its speech and one GE2E embedding per window of it. Kept apart
    from the clustering so that several clusterings (a threshold sweep, a given speaker count) can reuse it."""

    vad: VadResult
    windows: list[tuple[float, float]]  # (start, end) in seconds
    regions: list[int]  # for each window, the index of its speech region in vad.regions
    vectors: np.ndarray  # (windows, 256), unit length
    duration_s: float


def diarize(audio: AudioInput, sample_rate: int | None = None, *, num_speakers: int | None = None,
            settings: DiarizeSettings | None = None, vad: VadResult | None = None,
            vad_settings: VadSettings | None = None) -> Diarization:
    """Who spoke when in a recording (a path, or samples with their rate).

    The number of speakers is estimated unless `num_speakers` is given. `vad` reuses a VAD result for the
    same recording. Raises `ExpertError` for empty audio and for audio in which the VAD finds no speech.
    """
    settings = settings or DiarizeSettings()
    return cluster_speakers(embed_speech(audio, sample_rate, settings=settings, vad=vad, vad_settings=vad_settings),
                            settings=settings, num_speakers=num_speakers)


def embed_speech(audio: AudioInput, sample_rate: int | None = None, *,
                 settings: DiarizeSettings | None = None, vad: VadResult | None = None,
                 vad_settings: VadSettings | None = None) -> SpeechEmbeddings:
    """The VAD's speech regions and a GE2E embedding for every window_s window (step_s apart) inside them."""
    settings = settings or DiarizeSettings()
    samples, source = load_audio(audio, sample_rate)
    vad = vad or detect_speech(samples, SAMPLE_RATE, settings=vad_settings)
    if not vad.regions:
        raise ExpertError(f"voice.diarize: {source} has no speech ({vad.backend} VAD found none in "
                          f"{vad.duration_s:.1f} s; peak level {_dbfs(float(np.abs(samples).max()))})")
    windows, owners, vectors = _embed_windows(samples, vad.regions, settings)
    return SpeechEmbeddings(vad=vad, windows=windows, regions=owners, vectors=vectors,
                            duration_s=round(len(samples) / SAMPLE_RATE, 4))


def cluster_speakers(embedded: SpeechEmbeddings, *, settings: DiarizeSettings | None = None,
                     num_speakers: int | None = None) -> Diarization:
    """Speaker turns from embedded speech: segments clustered (k estimated unless num_speakers is given),
    then every 10 ms of speech labelled and runs of a label merged into turns."""
    settings = settings or DiarizeSettings()
    if num_speakers is not None and not 1 <= num_speakers <= settings.max_speakers:
        raise ExpertError(f"voice.diarize: num_speakers={num_speakers} is outside 1..{settings.max_speakers}")
    regions = embedded.vad.regions
    groups = _segments(embedded.regions, regions, settings.segment_s)
    labels = _cluster(embedded.vectors, groups, settings, num_speakers)
    how = (f"agglomerative (average linkage, cosine) over {len(groups)} segments of ~{settings.segment_s:g} s, "
           + (f"cut at distance {settings.threshold:g}" if num_speakers is None else f"{num_speakers} speakers given"))
    turns = _turns(regions, embedded.windows, embedded.regions, labels, settings.min_gap_s)
    return Diarization(num_speakers=len({t.speaker for t in turns}), turns=turns, speech=regions,
                       vad_backend=embedded.vad.backend, vad_fallback_reason=embedded.vad.fallback_reason,
                       clustering=how, windows=len(embedded.windows), duration_s=embedded.duration_s)


def _dbfs(peak: float) -> str:
    return "-inf dBFS (digital silence)" if peak <= 0 else f"{20 * np.log10(peak):.1f} dBFS"


def _embed_windows(samples: np.ndarray, regions: Sequence[SpeechRegion],
                   settings: DiarizeSettings) -> tuple[list[tuple[float, float]], list[int], np.ndarray]:
    """(start, end) of every window, the index of its speech region, and its L2-normalised GE2E embedding."""
    import torch

    encoder = _encoder()  # first: it imports resemblyzer with its deprecation warning silenced
    from resemblyzer import normalize_volume, wav_to_mel_spectrogram

    wav = normalize_volume(samples.astype(np.float32), LEVEL_DBFS, increase_only=True)
    width = round(settings.window_s / ENCODER_HOP_S)
    hop = max(1, round(settings.step_s / ENCODER_HOP_S))
    windows: list[tuple[float, float]] = []
    owners: list[int] = []
    mels: list[np.ndarray] = []
    for number, region in enumerate(regions):
        mel = wav_to_mel_spectrogram(wav[round(region.start * SAMPLE_RATE): round(region.end * SAMPLE_RATE)])
        if len(mel) <= width:
            offsets = [0]
        else:
            offsets = list(range(0, len(mel) - width + 1, hop))
            if offsets[-1] + width < len(mel):
                offsets.append(len(mel) - width)  # the region's tail gets a window of its own
        for offset in offsets:
            chunk = mel[offset: offset + width]
            start = region.start + offset * ENCODER_HOP_S
            mels.append(chunk)
            owners.append(number)
            windows.append((start, min(region.end, start + len(chunk) * ENCODER_HOP_S)))
    embeddings = np.zeros((len(mels), encoder.linear.out_features), dtype=np.float32)
    by_length: dict[int, list[int]] = {}
    for index, chunk in enumerate(mels):
        by_length.setdefault(len(chunk), []).append(index)
    with _ENCODER_LOCK, torch.inference_mode():
        for indices in by_length.values():
            embeddings[indices] = encoder(torch.from_numpy(np.stack([mels[i] for i in indices]))).cpu().numpy()
    return windows, owners, _unit(embeddings)


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=-1, keepdims=True), 1e-9)


def _segments(owners: Sequence[int], regions: Sequence[SpeechRegion], segment_s: float) -> list[np.ndarray]:
    """Window indices grouped into segments: each speech region cut into about segment_s long pieces. One
    window's embedding is noisy; the mean over a segment is what gets clustered."""
    groups: list[np.ndarray] = []
    owner_array = np.asarray(owners)
    for number, region in enumerate(regions):
        members = np.flatnonzero(owner_array == number)
        pieces = max(1, round(region.duration / segment_s))
        groups.extend(part for part in np.array_split(members, min(pieces, len(members))) if len(part))
    return groups


def _cluster(embeddings: np.ndarray, groups: Sequence[np.ndarray], settings: DiarizeSettings,
             num_speakers: int | None = None) -> np.ndarray:
    """A label 0..k-1 per window. The segments' mean embeddings are clustered by average linkage on cosine
    distance, cut at the threshold (k estimated) or into num_speakers clusters; clusters holding fewer
    than min_cluster_share of the windows then go to the nearest remaining centroid."""
    from scipy.cluster.hierarchy import fcluster, linkage

    means = _unit(np.stack([embeddings[group].mean(axis=0) for group in groups]))
    if len(means) == 1 or num_speakers == 1:
        segment_labels = np.zeros(len(means), dtype=int)
    else:
        tree = linkage(means, method="average", metric="cosine")
        if num_speakers is None:
            segment_labels = fcluster(tree, t=settings.threshold, criterion="distance") - 1
            if segment_labels.max() + 1 > settings.max_speakers:
                segment_labels = fcluster(tree, t=settings.max_speakers, criterion="maxclust") - 1
        else:
            segment_labels = _cut_into(tree, groups, num_speakers, settings.min_cluster_share)
    labels = np.zeros(len(embeddings), dtype=int)
    for group, label in zip(groups, segment_labels, strict=True):
        labels[group] = label
    return _relabel_by_appearance(_fold_small(embeddings, labels, settings.min_cluster_share))


def _cut_into(tree: np.ndarray, groups: Sequence[np.ndarray], k: int, min_share: float) -> np.ndarray:
    """Segment labels with k clusters big enough to be speakers: cutting the tree into exactly k clusters
    would spend some of them on single odd segments, so the cut goes lower until k clusters each hold
    min_share of the windows; the rest are folded into those k afterwards."""
    from scipy.cluster.hierarchy import fcluster

    sizes = np.array([len(group) for group in groups])
    labels = fcluster(tree, t=k, criterion="maxclust") - 1
    for m in range(k, len(groups) + 1):
        labels = fcluster(tree, t=m, criterion="maxclust") - 1
        weight = np.bincount(labels, weights=sizes)
        if np.sum(weight >= min_share * sizes.sum()) >= k:
            break
    weight = np.bincount(labels, weights=sizes)
    keep = np.argsort(-weight)[:k]
    return np.where(np.isin(labels, keep), labels, -1)


def _fold_small(embeddings: np.ndarray, labels: np.ndarray, min_share: float) -> np.ndarray:
    """Windows of clusters under min_share of all windows (and windows labelled -1) moved to the nearest
    centroid of the clusters that remain."""
    counts = np.bincount(labels[labels >= 0], minlength=max(1, labels.max() + 1))
    big = np.flatnonzero(counts >= max(1.0, min_share * len(labels)))
    if len(big) == 0:
        big = np.array([int(np.argmax(counts))])
    centroids = np.stack([embeddings[labels == c].mean(axis=0) for c in big])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    small = ~np.isin(labels, big)
    out = labels.copy()
    out[small] = big[np.argmax(embeddings[small] @ centroids.T, axis=1)]
    return out


def _relabel_by_appearance(labels: np.ndarray) -> np.ndarray:
    """SPEAKER_00 is whoever speaks first, SPEAKER_01 the next new voice, and so on."""
    order: dict[int, int] = {}
    for label in labels:
        order.setdefault(int(label), len(order))
    return np.array([order[int(label)] for label in labels])


def _turns(regions: Sequence[SpeechRegion], windows: Sequence[tuple[float, float]], owners: Sequence[int],
           labels: np.ndarray, min_gap_s: float) -> list[SpeakerTurn]:
    """Each 10 ms of speech labelled by the window of its region centred nearest to it; runs of a label are
    turns, and a speaker's turns separated by less than min_gap_s of silence are one turn."""
    centres = np.array([(s + e) / 2 for s, e in windows])
    owner_array = np.asarray(owners)
    runs: list[list[Any]] = []  # [label, start, end]
    for number, region in enumerate(regions):
        n = max(1, round(region.duration / FRAME_S))
        times = region.start + (np.arange(n) + 0.5) * FRAME_S
        inside = np.flatnonzero(owner_array == number)
        nearest = inside[np.argmin(np.abs(times[:, None] - centres[inside][None, :]), axis=1)]
        frame_labels = labels[nearest]
        cuts = np.flatnonzero(np.diff(frame_labels)) + 1
        for begin, end in zip(np.concatenate([[0], cuts]), np.concatenate([cuts, [n]]), strict=True):
            start = region.start + begin * FRAME_S
            stop = region.end if end == n else region.start + end * FRAME_S
            label = int(frame_labels[begin])
            if runs and runs[-1][0] == label and start - runs[-1][2] < min_gap_s:
                runs[-1][2] = stop
            else:
                runs.append([label, start, stop])
    return [SpeakerTurn(speaker=f"SPEAKER_{label:02d}", start=round(start, 3), end=round(end, 3))
            for label, start, end in runs]


# ---- RTTM ------------------------------------------------------------------------------------------------------

def read_rttm(path: str | Path, recording: str | None = None) -> list[SpeakerTurn]:
    """The SPEAKER lines of an RTTM file (of one recording, if named) as turns."""
    path = Path(path)
    turns = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0] != "SPEAKER":
            continue
        if len(fields) < 8:
            raise ExpertError(f"{path}:{number}: an RTTM SPEAKER line needs 8 or more fields, "
                              f"this one has {len(fields)}")
        if recording is not None and fields[1] != recording:
            continue
        try:
            start, duration = float(fields[3]), float(fields[4])
        except ValueError:
            raise ExpertError(f"{path}:{number}: onset {fields[3]!r} and duration {fields[4]!r} "
                              "must be numbers") from None
        turns.append(SpeakerTurn(speaker=fields[7], start=start, end=start + duration))
    return turns


def to_rttm(turns: Sequence[SpeakerTurn], recording: str) -> str:
    return "".join(f"SPEAKER {recording} 1 {t.start:.3f} {t.duration:.3f} <NA> <NA> {t.speaker} <NA> <NA>\n"
                   for t in turns)


# ---- diarization error rate ------------------------------------------------------------------------------------

def diarization_error_rate(reference: Sequence[SpeakerTurn], hypothesis: Sequence[SpeakerTurn], *,
                           collar: float = 0.0) -> DerResult:
    """DER = (missed + false alarm + confusion) / reference speech, as NIST md-eval computes it.

    Time is cut at every turn boundary into pieces where the same speakers talk; in a piece of length d
    with R reference and H hypothesis speakers, of whom C are matched under the mapping, missed speech is
    d*max(0, R-H), false alarm d*max(0, H-R) and confusion d*(min(R, H) - C). The mapping pairs each
    hypothesis speaker with at most one reference speaker so that the matched time is largest (Hungarian
    algorithm). `collar` is md-eval's: that many seconds either side of every reference boundary are not
    scored (0.25 is the usual value), forgiving boundaries a human annotator could not place better.
    """
    from scipy.optimize import linear_sum_assignment

    if collar < 0:
        raise ExpertError(f"voice.der: collar {collar} is negative")
    if not reference:
        raise ExpertError("voice.der: the reference has no turns, so the error rate is undefined")
    edges = [edge for turn in reference for edge in (turn.start, turn.end)]
    holes = _merge_spans([(max(0.0, edge - collar), edge + collar) for edge in edges]) if collar else []
    bounds = np.unique([x for t in (*reference, *hypothesis) for x in (t.start, t.end)] + [x for h in holes for x in h])
    middles, lengths = (bounds[:-1] + bounds[1:]) / 2, np.diff(bounds)
    if holes:  # a piece whose middle lies in a collar is not scored
        starts = np.array([lo for lo, _ in holes])
        ends = np.array([hi for _, hi in holes])
        at = np.searchsorted(starts, middles, side="right") - 1
        lengths = np.where((at >= 0) & (middles < ends[np.maximum(at, 0)]), 0.0, lengths)
    ref_names, ref_active = _activity(reference, middles)
    hyp_names, hyp_active = _activity(hypothesis, middles)
    overlap = (hyp_active * lengths) @ ref_active.T  # seconds each hypothesis speaker shares with each reference one
    rows, cols = linear_sum_assignment(overlap, maximize=True) if overlap.size else ([], [])
    pairs = [(h, r) for h, r in zip(rows, cols, strict=True) if overlap[h, r] > 0]
    n_ref, n_hyp = ref_active.sum(axis=0), hyp_active.sum(axis=0)
    matched = sum((hyp_active[h] & ref_active[r] for h, r in pairs), np.zeros_like(n_ref))
    total = float(lengths @ n_ref)
    missed = float(lengths @ np.maximum(0, n_ref - n_hyp))
    false_alarm = float(lengths @ np.maximum(0, n_hyp - n_ref))
    confusion = float(lengths @ (np.minimum(n_ref, n_hyp) - matched))
    if total == 0:
        raise ExpertError(f"voice.der: the collar ({collar} s) leaves no reference speech to score")
    return DerResult(der=(missed + false_alarm + confusion) / total, missed=missed / total,
                     false_alarm=false_alarm / total, confusion=confusion / total, reference_s=round(total, 4),
                     missed_s=round(missed, 4), false_alarm_s=round(false_alarm, 4), confusion_s=round(confusion, 4),
                     collar=collar, mapping={hyp_names[h]: ref_names[r] for h, r in pairs})


def _activity(turns: Sequence[SpeakerTurn], middles: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The speakers, and for each a row telling which pieces (by their sorted middles) it speaks in."""
    names = sorted({t.speaker for t in turns})
    active = np.zeros((len(names), len(middles)), dtype=np.int64)
    for turn in turns:
        lo, hi = np.searchsorted(middles, [turn.start, turn.end], side="left")
        active[names.index(turn.speaker), lo:hi] = 1
    return names, active


def _merge_spans(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged
