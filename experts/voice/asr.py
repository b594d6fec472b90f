"""Speech recognition: three backends behind one interface, each a candidate the router can pick.

- `PocketSphinx` (the offline default: its wheel ships the CMU en-us acoustic model, a 3-gram LM and
  CMUdict) in three modes: `open` (any English, the LM), `grammar` (only the command phrases it is given,
  compiled to a JSGF grammar) and `keywords` (spots the keyphrases it is given, each with its threshold).
- `Whisper` (openai-whisper) from a local `.pt` checkpoint, and `FasterWhisper` (CTranslate2) from a local
  model folder. Nothing is downloaded at run time: a missing path fails at construction with what to put
  there. Both packages (and torch) are imported on first use.

All three return a `Transcript`: segments with start, end, text, confidence and words with their own
times and confidence. What confidence means differs by backend and is said on each field; compare it
within a backend, not across.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, Field

from agentos.errors import ExpertError
from experts.voice.audio import RATE, Audio, check, load

Progress = Callable[[float, str], None]  # (fraction of the audio done, 0..1; what is happening)
SphinxMode = Literal["open", "grammar", "keywords"]

WHISPER_ENV = "AGENTOS_WHISPER_MODEL"  # a .pt checkpoint file
FASTER_WHISPER_ENV = "AGENTOS_FASTER_WHISPER_MODEL"  # a CTranslate2 model folder
DEFAULT_KWS_THRESHOLD = 1e-20  # pocketsphinx's suggestion for a 2-3 syllable phrase; longer ones want smaller


class Word(BaseModel):
    """One recognised word (for keyword spotting: one detected keyphrase) and where it is, in seconds."""

    text: str
    start: float
    end: float
    confidence: float | None = Field(None, description=(
        "pocketsphinx open/grammar: the word's posterior probability in the decoder's lattice (1.0 when "
        "nothing competed); keywords: the detection score (keyphrase against a free phone loop, 0..1, "
        "higher is surer, not calibrated); whisper and faster-whisper: the word's token probability"))


class Segment(BaseModel):
    """A stretch of speech: an utterance between pauses (pocketsphinx open mode), the whole command
    (grammar), one detection (keywords), or a decoded window (whisper)."""

    start: float
    end: float
    text: str
    confidence: float | None = Field(None, description=(
        "pocketsphinx: the mean of its words' confidences; whisper and faster-whisper: exp(avg_logprob), "
        "the geometric mean probability of its tokens"))
    words: list[Word] = Field(default_factory=list)


class Transcript(BaseModel):
    """What a recogniser heard in one piece of audio, and which backend and mode heard it."""

    backend: str
    mode: str
    text: str
    segments: list[Segment]
    duration: float  # seconds of audio
    audio: str | None = None  # the file, when it came from one
    language: str | None = None
    phrase: str | None = Field(None, description=(
        "grammar mode: the allowed phrase (as given) that the whole audio matched; None when the decoder "
        "ended part-way through the grammar or heard nothing, i.e. no command was recognised"))


class Recognizer(ABC):
    """A speech-recognition backend in one configuration."""

    name: ClassVar[str]
    description: ClassVar[str]

    @property
    def mode(self) -> str:
        return "transcribe"

    @property
    def label(self) -> str:
        """`backend/mode`, how tables and the router name this candidate."""
        return f"{self.name}/{self.mode}"

    @classmethod
    def unavailable(cls) -> str | None:
        """Why this backend cannot run here (a package missing), or None."""
        return None

    @abstractmethod
    def transcribe(self, audio: Audio | str | Path, *, progress: Progress | None = None) -> Transcript:
        """Recognise the speech in `audio` (a file, or samples at any rate)."""


def plain_words(text: str) -> list[str]:
    """Lower-case words of `text` without punctuation: how grammar phrases are compiled and WER is scored."""
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)*", text.lower())


def mean_confidence(transcript: Transcript) -> float | None:
    """The segments' mean confidence (None when the backend gives none): one number for a command."""
    return _mean([s.confidence for s in transcript.segments])


def _as_audio(audio: Audio | str | Path) -> Audio:
    """16 kHz samples. A file is checked as it loads (empty or silent fails with its name); samples made in
    code were checked when made, where the caller chose whether silence is allowed, so only emptiness is."""
    return check(audio, allow_silent=True).resampled(RATE) if isinstance(audio, Audio) else load(audio, rate=RATE)


def _report(progress: Progress | None, done: float, what: str) -> None:
    if progress is not None:
        progress(min(max(done, 0.0), 1.0), what)


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _exp_logprob(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else _unit(math.exp(value))


def _unit(value: float) -> float:
    """A probability clipped to [0, 1]: pocketsphinx's fixed-point log maths gives 1.0002 for a sure word."""
    return min(max(float(value), 0.0), 1.0)


# ---------------------------------------------------------------------------------------------- pocketsphinx

# Silence around a command (grammar, keywords): TTS clips start on the first phone and the decoder needs
# frames on both sides of a word to enter and leave it (14 espeak commands: 11 recognised without, 12 with).
# Open speech gets none: recordings have their own pauses, and padding there makes the LM insert words.
COMMAND_PAD_S = 0.3
_FILLER = re.compile(r"^(<s>|</s>|<sil>|\[.*\]|\+\+.*\+\+)$")


class PocketSphinx(Recognizer):
    """CMU PocketSphinx with the en-us model its wheel ships: small, fast, fully offline.

    `mode="open"` recognises any English with the bundled 3-gram LM (poor on synthetic speech, usable on
    clear read speech); `mode="grammar"` only ever answers one of `phrases` (or a part of one when it gives
    up, which `Transcript.phrase` marks as no match); `mode="keywords"` reports where each of `keyphrases`
    (phrase -> threshold; smaller thresholds detect more, and more falsely) occurs. Words that CMUdict lacks
    need their phones in `pronunciations` (ARPAbet as in CMUdict: {"northwind": "N AO R TH W IH N D"}).
    """

    name = "pocketsphinx"
    description = ("offline CMU PocketSphinx (en-us): open vocabulary, a grammar of allowed commands, or keyword "
                   "spotting; fast on CPU, weak on unusual voices")

    def __init__(self, mode: SphinxMode = "open", *, phrases: Sequence[str] | None = None,
                 keyphrases: Mapping[str, float] | Sequence[str] | None = None,
                 pronunciations: Mapping[str, str] | None = None, model_dir: str | Path | None = None,
                 dictionary: str | Path | None = None, lm: str | Path | None = None):
        why = self.unavailable()
        if why:
            raise ExpertError(why)
        if mode not in ("open", "grammar", "keywords"):
            raise ExpertError(f"pocketsphinx: unknown mode {mode!r}; the modes are open, grammar and keywords")
        if mode == "grammar" and not phrases:
            raise ExpertError("pocketsphinx grammar mode needs `phrases`: the command phrases it may recognise")
        if mode == "keywords" and not keyphrases:
            raise ExpertError("pocketsphinx keywords mode needs `keyphrases`: phrase -> threshold (or a list)")
        if mode != "grammar" and phrases:
            raise ExpertError(f"pocketsphinx: `phrases` is for grammar mode, not {mode}")
        if mode != "keywords" and keyphrases:
            raise ExpertError(f"pocketsphinx: `keyphrases` is for keywords mode, not {mode}")
        self._mode: SphinxMode = mode
        self._config = self._decoder_config(model_dir, dictionary, lm)
        self._pronunciations = {w.lower(): ph.upper() for w, ph in (pronunciations or {}).items()}
        self.phrases: dict[str, str] = {}  # normalised -> as given
        self.keyphrases: dict[str, float] = {}  # normalised -> threshold
        self._lock = threading.Lock()  # a Decoder is not thread-safe
        self._decoder = self._new_decoder()
        for word, phones in self._pronunciations.items():
            self._add_word(word, phones)
        if mode == "grammar":
            self._check_grammar(list(phrases or []))
        elif mode == "keywords":
            self._check_keyphrases(keyphrases or {})
        self._search()
        self._frate = int(self._decoder.config["frate"])

    @property
    def mode(self) -> str:
        return self._mode

    @classmethod
    def unavailable(cls) -> str | None:
        if find_spec("pocketsphinx") is None:
            return "pocketsphinx is not installed: pip install 'agentos[voice]'"
        return None

    def _decoder_config(self, model_dir: str | Path | None, dictionary: str | Path | None,
                        lm: str | Path | None) -> dict[str, Any]:
        # batch CMN: each utterance is normalised by its own mean, as offline decoding allows
        config: dict[str, Any] = {"samprate": RATE, "loglevel": "FATAL", "cmn": "batch"}
        if model_dir is not None:
            config["hmm"] = str(self._existing(model_dir, "acoustic model folder"))
        if dictionary is not None:
            config["dict"] = str(self._existing(dictionary, "pronunciation dictionary"))
        if self._mode != "open":
            config["lm"] = None  # the grammar or keyword search replaces the LM: skip loading it
        elif lm is not None:
            config["lm"] = str(self._existing(lm, "language model"))
        return config

    def _new_decoder(self) -> Any:
        from pocketsphinx import Decoder, get_model_path

        try:
            return Decoder(**self._config)
        except (RuntimeError, ValueError) as exc:
            raise ExpertError(f"pocketsphinx could not start with {self._config} (default model folder "
                              f"{get_model_path()}): {exc}") from None

    @staticmethod
    def _existing(path: str | Path, what: str) -> Path:
        p = Path(path).expanduser()
        if not p.exists():
            raise ExpertError(f"pocketsphinx: no {what} at {p}")
        return p

    def _add_word(self, word: str, phones: str) -> None:
        try:
            self._decoder.add_word(word, phones, True)
        except (RuntimeError, ValueError, KeyError) as exc:
            raise ExpertError(f"pocketsphinx: cannot add the pronunciation {word!r} = {phones!r} ({exc}); "
                              "phones are ARPAbet as in CMUdict, e.g. 'N AO R TH W IH N D'") from None
        if self._decoder.lookup_word(word) is None:
            raise ExpertError(f"pocketsphinx: the pronunciation {word!r} = {phones!r} was not accepted; "
                              "phones are ARPAbet as in CMUdict, e.g. 'N AO R TH W IH N D'")

    def _check_words(self, what: str, phrases: list[str]) -> list[list[str]]:
        """Each phrase's words; an error naming the phrases whose words CMUdict lacks."""
        out, problems = [], []
        for phrase in phrases:
            words = plain_words(phrase)
            if not words:
                problems.append(f"{phrase!r} has no words")
                continue
            unknown = [w for w in words if self._decoder.lookup_word(w) is None]
            if unknown:
                problems.append(f"{phrase!r}: {', '.join(repr(w) for w in unknown)} not in the dictionary")
            out.append(words)
        if problems:
            raise ExpertError(f"pocketsphinx {what}: " + "; ".join(problems) + " (spell numbers and symbols as "
                              "words, or give their phones in `pronunciations`)")
        return out

    def _check_grammar(self, phrases: list[str]) -> None:
        words = self._check_words("grammar", phrases)
        self.phrases = {" ".join(w): p for w, p in zip(words, phrases, strict=True)}

    def _check_keyphrases(self, keyphrases: Mapping[str, float] | Sequence[str]) -> None:
        given = (dict(keyphrases) if isinstance(keyphrases, Mapping)
                 else dict.fromkeys(keyphrases, DEFAULT_KWS_THRESHOLD))
        bad = [f"{k!r}: {t}" for k, t in given.items() if not 0.0 < float(t) < 1.0]
        if bad:
            raise ExpertError(f"pocketsphinx keyphrase thresholds must lie strictly between 0 and 1 (1e-20 is "
                              f"typical; smaller detects more): {', '.join(bad)}")
        words = self._check_words("keyphrases", list(given))
        self.keyphrases = {" ".join(w): float(t) for w, t in zip(words, given.values(), strict=True)}

    def _search(self) -> None:
        """Switch the decoder to this mode's search: the LM (as built), the JSGF grammar, or the keyphrases."""
        d = self._decoder
        try:
            if self._mode == "grammar":
                alternatives = " | ".join(f"( {key} )" for key in self.phrases)
                d.add_jsgf_string("commands", f"#JSGF V1.0;\ngrammar commands;\npublic <command> = {alternatives};\n")
                d.activate_search("commands")
            elif self._mode == "keywords":
                with tempfile.TemporaryDirectory() as tmp:  # add_kws reads a file
                    kws = Path(tmp) / "keyphrases.kws"
                    kws.write_text("".join(f"{k} /{t:g}/\n" for k, t in self.keyphrases.items()), encoding="utf-8")
                    d.add_kws("keywords", str(kws))
                d.activate_search("keywords")
        except (RuntimeError, ValueError) as exc:
            what = f"grammar of {len(self.phrases)} phrases" if self._mode == "grammar" else "keyphrases"
            raise ExpertError(f"pocketsphinx: the {what} did not load: {exc}") from None

    def transcribe(self, audio: Audio | str | Path, *, progress: Progress | None = None) -> Transcript:
        clip = _as_audio(audio)
        # a command, or a stream to spot keyphrases in, is one utterance; open speech is split at its pauses
        spans = _speech_spans(clip) if self._mode == "open" else [(0, len(clip.samples))]
        segments: list[Segment] = []
        _report(progress, 0.0, f"{self.label}: {len(spans)} utterance(s) in {clip.duration:.1f} s")
        with self._lock:
            for start, end in spans:
                segments += self._decode(clip.samples[start:end], start / clip.rate)
                _report(progress, end / len(clip.samples), f"{self.label}: decoded to {end / clip.rate:.1f} s")
        segments = [s for s in segments if s.text]
        text = " ".join(s.text for s in segments)
        phrase = self.phrases.get(text) if self._mode == "grammar" else None
        return Transcript(backend=self.name, mode=self._mode, text=text, segments=segments, duration=clip.duration,
                          audio=str(clip.path) if clip.path else None, language="en", phrase=phrase)

    def _decode(self, samples: np.ndarray, offset: float) -> list[Segment]:
        """Decode one utterance; times are seconds in the whole audio."""
        pad_s = 0.0 if self._mode == "open" else COMMAND_PAD_S
        pad = np.zeros(int(pad_s * RATE), np.float32)
        pcm = Audio(np.concatenate([pad, samples, pad]), RATE).pcm16()
        d = self._decoder
        # pocketsphinx's front end carries state from one utterance into the next, so the same audio decoded
        # after another would come out a little different; reset it (0.1 ms) so each decodes alike
        d.reinit_feat()
        d.start_utt()
        d.process_raw(_dither(pcm), full_utt=True)
        d.end_utt()
        if d.hyp() is None:
            return []
        shift = offset - pad_s
        words = [Word(text=re.sub(r"\(\d+\)$", "", s.word.strip()),  # "result(2)": CMUdict's second pronunciation
                      start=round(max(s.start_frame / self._frate + shift, 0.0), 3),
                      end=round((s.end_frame + 1) / self._frate + shift, 3), confidence=_unit(s.prob))
                 for s in (d.seg() or []) if not _FILLER.match(s.word.strip())]
        if self._mode == "keywords":  # each detection is its own segment
            return [Segment(start=w.start, end=w.end, text=w.text, confidence=w.confidence, words=[w]) for w in words]
        if not words:
            return []
        return [Segment(start=words[0].start, end=words[-1].end, text=" ".join(w.text for w in words),
                        confidence=_mean([w.confidence for w in words]), words=words)]


def _dither(pcm: bytes) -> bytes:
    """±1 LSB of noise: digital silence (exact zeros, as TTS writes) throws pocketsphinx's features off
    (12 of 14 espeak commands recognised with it, 7 without). Like its own `dither` option, but seeded, so
    every call sees the same samples."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.int32)
    noise = np.random.default_rng(0).integers(-1, 2, size=samples.shape)
    return np.clip(samples + noise, -32768, 32767).astype("<i2").tobytes()


MAX_SPAN_S = 30.0  # one utterance at most; longer speech without a pause is cut here


def _speech_spans(clip: Audio) -> list[tuple[int, int]]:
    """Sample ranges of speech found by pocketsphinx's endpointer (WebRTC VAD with hangover); the whole
    clip when it finds none, so that quiet or synthetic speech still gets decoded."""
    from pocketsphinx import Endpointer

    ep = Endpointer(sample_rate=RATE)
    size = ep.frame_bytes // 2
    pcm = _dither(clip.pcm16())
    n = len(clip.samples)
    spans: list[tuple[int, int]] = []
    begin: float | None = None
    for i in range(0, n - size + 1, size):
        was = ep.in_speech
        if ep.process(pcm[2 * i: 2 * (i + size)]) is not None:
            if not was:
                begin = ep.speech_start
            if not ep.in_speech and begin is not None:
                spans.append((int(begin * RATE), int(ep.speech_end * RATE)))
                begin = None
    if ep.in_speech and begin is not None:
        ep.end_stream(pcm[2 * (n - n % size):])
        spans.append((int(begin * RATE), n))
    out = []
    for a, b in spans or [(0, n)]:
        step = int(MAX_SPAN_S * RATE)
        out += [(s, min(s + step, b)) for s in range(max(a, 0), min(b, n), step)]
    return out


# ---------------------------------------------------------------------------------------------- whisper

def _hint(backend: str) -> str:
    if backend == "whisper":
        return ("put a whisper checkpoint file there: on a machine with internet, `pip install openai-whisper` and "
                "`python -c \"import whisper; whisper.load_model('base.en', download_root='DIR')\"` writes "
                "DIR/base.en.pt (tiny.en, base.en, small.en, medium.en, large-v3, turbo are the usual sizes); copy it "
                f"here and pass it as `model` or ${WHISPER_ENV}")
    return ("put a CTranslate2 Whisper folder there (model.bin, config.json, tokenizer.json, vocabulary.*): on a "
            "machine with internet, `huggingface-cli download Systran/faster-whisper-base.en --local-dir DIR`, or "
            "`ct2-transformers-converter --model openai/whisper-base.en --output_dir DIR --copy_files tokenizer.json "
            f"preprocessor_config.json`; copy DIR here and pass it as `model` or ${FASTER_WHISPER_ENV}")


def _resolve(model: str | Path | None, env: str, backend: str) -> Path:
    value = str(model) if model is not None else os.environ.get(env, "").strip()
    if not value:
        raise ExpertError(f"{backend}: no model configured: pass `model` or set ${env}; nothing is downloaded at "
                          f"run time. {_hint(backend)}")
    return Path(value).expanduser()


class Whisper(Recognizer):
    """openai-whisper from a local checkpoint file, as `whisper.load_model(path)` reads it (dims and
    model_state_dict). Word timestamps come from its cross-attention alignment."""

    name = "whisper"
    description = "OpenAI Whisper (PyTorch) from a local checkpoint: accurate open-vocabulary speech, slow on CPU"

    def __init__(self, model: str | Path | None = None, *, language: str | None = "en", device: str = "cpu",
                 beam_size: int | None = None, temperature: float = 0.0, max_new_tokens: int | None = None):
        path = _resolve(model, WHISPER_ENV, self.name)
        if path.is_dir():
            raise ExpertError(f"whisper: {path} is a folder; openai-whisper loads one checkpoint file (such as "
                              "DIR/base.en.pt); a folder with model.bin is a CTranslate2 model, for faster-whisper. "
                              + _hint("whisper"))
        if not path.is_file():
            raise ExpertError(f"whisper: no checkpoint at {path}. {_hint('whisper')}")
        why = self.unavailable()
        if why:
            raise ExpertError(why)
        self.path = path.resolve()
        self.language, self.device = language, device
        self.options: dict[str, Any] = {"temperature": temperature, "beam_size": beam_size}
        if max_new_tokens is not None:
            self.options["sample_len"] = max_new_tokens

    @classmethod
    def unavailable(cls) -> str | None:
        if find_spec("whisper") is None or find_spec("torch") is None:
            return "openai-whisper is not installed: pip install 'agentos[voice]' (after torch)"
        return None

    def load(self) -> Any:
        """The loaded model (cached per file and device)."""
        return _load_whisper(str(self.path), self.device, self.path.stat().st_mtime_ns)

    def transcribe(self, audio: Audio | str | Path, *, progress: Progress | None = None) -> Transcript:
        clip = _as_audio(audio)
        _report(progress, 0.0, f"whisper: loading {self.path.name}")
        model = self.load()
        _report(progress, 0.05, f"whisper: decoding {clip.duration:.1f} s")
        result = model.transcribe(clip.samples, language=self.language, word_timestamps=True,
                                  fp16=self.device != "cpu", condition_on_previous_text=False, verbose=None,
                                  **self.options)
        segments = []
        for s in result["segments"]:
            words = [Word(text=w["word"].strip(), start=round(float(w["start"]), 3), end=round(float(w["end"]), 3),
                          confidence=float(w["probability"])) for w in s.get("words", [])]
            segments.append(Segment(start=round(float(s["start"]), 3), end=round(float(s["end"]), 3),
                                    text=s["text"].strip(), confidence=_exp_logprob(s.get("avg_logprob")),
                                    words=words))
        _report(progress, 1.0, f"whisper: {len(segments)} segment(s)")
        segments = [s for s in segments if s.text]
        return Transcript(backend=self.name, mode=self.mode, text=" ".join(s.text for s in segments),
                          segments=segments, duration=clip.duration, audio=str(clip.path) if clip.path else None,
                          language=result.get("language") or self.language)


@lru_cache(maxsize=2)
def _load_whisper(path: str, device: str, _mtime: int) -> Any:
    import whisper

    try:
        return whisper.load_model(path, device=device)
    except Exception as exc:  # a truncated or foreign file: torch and whisper raise many kinds
        raise ExpertError(f"whisper: {path} is not a loadable whisper checkpoint ({type(exc).__name__}: {exc}). "
                          f"{_hint('whisper')}") from None


FASTER_WHISPER_FILES = ("model.bin", "config.json", "tokenizer.json")  # tokenizer.json: else it asks the hub


class FasterWhisper(Recognizer):
    """faster-whisper (CTranslate2) from a local model folder; several times faster than PyTorch whisper on
    CPU, with int8 weights. Word timestamps from the same alignment as whisper."""

    name = "faster-whisper"
    description = "Whisper on CTranslate2 from a local model folder: accurate open-vocabulary speech, faster on CPU"

    def __init__(self, model: str | Path | None = None, *, language: str | None = "en", device: str = "cpu",
                 compute_type: str = "default", beam_size: int = 5, temperature: float = 0.0,
                 max_new_tokens: int | None = None, vad_filter: bool = False):
        path = _resolve(model, FASTER_WHISPER_ENV, self.name)
        if not path.is_dir():
            what = "is a file; faster-whisper loads a folder" if path.is_file() else "does not exist"
            raise ExpertError(f"faster-whisper: {path} {what}. {_hint('faster-whisper')}")
        missing = [f for f in FASTER_WHISPER_FILES if not (path / f).is_file()]
        if missing:
            raise ExpertError(f"faster-whisper: {path} lacks {', '.join(missing)}. {_hint('faster-whisper')}")
        why = self.unavailable()
        if why:
            raise ExpertError(why)
        self.path = path.resolve()
        self.language, self.device, self.compute_type = language, device, compute_type
        self.options: dict[str, Any] = {"beam_size": beam_size, "temperature": temperature, "vad_filter": vad_filter}
        if max_new_tokens is not None:
            self.options["max_new_tokens"] = max_new_tokens

    @classmethod
    def unavailable(cls) -> str | None:
        if find_spec("faster_whisper") is None:
            return "faster-whisper is not installed: pip install 'agentos[voice]'"
        return None

    def load(self) -> Any:
        """The loaded model (cached per folder, device and compute type)."""
        return _load_faster_whisper(str(self.path), self.device, self.compute_type,
                                    (self.path / "model.bin").stat().st_mtime_ns)

    def transcribe(self, audio: Audio | str | Path, *, progress: Progress | None = None) -> Transcript:
        clip = _as_audio(audio)
        _report(progress, 0.0, f"faster-whisper: loading {self.path.name}")
        model = self.load()
        pieces, info = model.transcribe(clip.samples, language=self.language, word_timestamps=True,
                                        condition_on_previous_text=False, **self.options)
        segments = []
        for s in pieces:  # a generator: each segment is decoded as it is asked for
            words = [Word(text=w.word.strip(), start=round(float(w.start), 3), end=round(float(w.end), 3),
                          confidence=float(w.probability)) for w in (s.words or [])]
            segments.append(Segment(start=round(float(s.start), 3), end=round(float(s.end), 3), text=s.text.strip(),
                                    confidence=_exp_logprob(s.avg_logprob), words=words))
            _report(progress, float(s.end) / max(clip.duration, 1e-9), f"faster-whisper: decoded to {s.end:.1f} s")
        _report(progress, 1.0, f"faster-whisper: {len(segments)} segment(s)")
        segments = [s for s in segments if s.text]
        return Transcript(backend=self.name, mode=self.mode, text=" ".join(s.text for s in segments),
                          segments=segments, duration=clip.duration, audio=str(clip.path) if clip.path else None,
                          language=info.language or self.language)


@lru_cache(maxsize=2)
def _load_faster_whisper(path: str, device: str, compute_type: str, _mtime: int) -> Any:
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(path, device=device, compute_type=compute_type, local_files_only=True)
    except Exception as exc:  # CTranslate2 raises RuntimeError and ValueError for bad folders
        raise ExpertError(f"faster-whisper: {path} is not a loadable CTranslate2 Whisper model "
                          f"({type(exc).__name__}: {exc}). {_hint('faster-whisper')}") from None


BACKENDS: dict[str, type[Recognizer]] = {"pocketsphinx": PocketSphinx, "whisper": Whisper,
                                         "faster-whisper": FasterWhisper}
