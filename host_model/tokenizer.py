"""The tokenizer of a checkpoint folder in Hugging Face's layout, without transformers.

`tokenizer.json` holds the model (the `tokenizers` library runs it), `tokenizer_config.json` the
special-token names and the chat template, `chat_template.jinja` (when present) a template that wins
over the config's, and `generation_config.json` (when present) more stop ids. The engine needs ids,
text and a streaming detokenizer; it never needs transformers' heavy import.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral
from pathlib import Path
from typing import Any

import tokenizers
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from tokenizers.decoders import DecodeStream

from host_model.chat_template import ChatTemplate, default_chat_template
from host_model.errors import ChatFormatError
from host_model.parsers import THINK_END, THINK_START, TOOL_CALL_END, TOOL_CALL_START

TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "tokenizer_config.json"
TEMPLATE_FILE = "chat_template.jinja"
GENERATION_CONFIG_FILE = "generation_config.json"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
# the named special tokens transformers passes to chat templates
_TEMPLATE_TOKEN_NAMES = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")


class TokenizerConfig(BaseModel):
    """The fields of `tokenizer_config.json` we read; the rest is kept but unused."""

    model_config = ConfigDict(extra="allow")

    bos_token: str | None = None
    eos_token: str | None = None
    unk_token: str | None = None
    sep_token: str | None = None
    pad_token: str | None = None
    cls_token: str | None = None
    mask_token: str | None = None
    chat_template: str | list[dict[str, str]] | None = None

    @field_validator("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token",
                     mode="before")
    @classmethod
    def _token_content(cls, value: Any) -> Any:
        # transformers saves some tokens as serialized AddedToken dicts
        return value.get("content") if isinstance(value, Mapping) else value


class SpecialTokenIds(BaseModel):
    """Ids the engine and the parsers key on; None where this vocabulary has no such single token."""

    bos: int | None = None
    eos: list[int] = []
    pad: int | None = None
    im_start: int | None = None
    im_end: int | None = None
    think_start: int | None = None
    think_end: int | None = None
    tool_call_start: int | None = None
    tool_call_end: int | None = None


class Tokenizer:
    """Encode, decode, stream-decode and render chats for one checkpoint's vocabulary."""

    def __init__(self, backend: tokenizers.Tokenizer, config: TokenizerConfig, *,
                 templates: Mapping[str, str] | None = None, extra_eos_ids: Sequence[int] = (),
                 origin: str = "<tokenizer>"):
        self.backend = backend
        self.config = config
        self.origin = origin
        self.vocab_size = backend.get_vocab_size(with_added_tokens=True)
        self.special = self._special_ids(extra_eos_ids)
        token_strings = {name: value for name in _TEMPLATE_TOKEN_NAMES if (value := getattr(config, name)) is not None}
        sources = dict(templates or {}) or {"default": default_chat_template()}
        self.templates = {name: ChatTemplate(source, special_tokens=token_strings, origin=f"{origin} template {name!r}")
                          for name, source in sources.items()}

    @classmethod
    def from_dir(cls, folder: str | Path) -> Tokenizer:
        """Load `tokenizer.json` + `tokenizer_config.json` (+ optional template and generation config)."""
        folder = Path(folder)
        model_path, config_path = folder / TOKENIZER_FILE, folder / CONFIG_FILE
        for path in (model_path, config_path):
            if not path.is_file():
                raise ChatFormatError(f"{path} is missing: a tokenizer folder needs {TOKENIZER_FILE} and {CONFIG_FILE}")
        try:
            backend = tokenizers.Tokenizer.from_file(str(model_path))
        except Exception as exc:  # the Rust side raises a bare Exception for any malformed file
            raise ChatFormatError(f"{model_path} is not a valid tokenizers file: {exc}") from exc
        raw = _read_json(config_path)
        try:
            config = TokenizerConfig.model_validate(raw)
        except ValidationError as exc:
            raise ChatFormatError(f"{config_path} is malformed: {exc}") from exc
        templates = _template_sources(config, folder / TEMPLATE_FILE, config_path)
        extra_eos = _generation_eos_ids(folder / GENERATION_CONFIG_FILE)
        return cls(backend, config, templates=templates, extra_eos_ids=extra_eos, origin=str(folder))

    def _special_ids(self, extra_eos_ids: Sequence[int]) -> SpecialTokenIds:
        def lookup(token: str | None) -> int | None:
            return None if token is None else self.backend.token_to_id(token)

        eos: list[int] = []
        # a chat model stops at the end of its turn, whatever the config names as eos
        for candidate in (lookup(self.config.eos_token), *extra_eos_ids, lookup(IM_END)):
            if candidate is not None and candidate not in eos:
                eos.append(candidate)
        return SpecialTokenIds(
            bos=lookup(self.config.bos_token), eos=eos, pad=lookup(self.config.pad_token),
            im_start=lookup(IM_START), im_end=lookup(IM_END), think_start=lookup(THINK_START),
            think_end=lookup(THINK_END), tool_call_start=lookup(TOOL_CALL_START), tool_call_end=lookup(TOOL_CALL_END))

    @property
    def bos_token_id(self) -> int | None:
        return self.special.bos

    @property
    def eos_token_ids(self) -> list[int]:
        return list(self.special.eos)

    @property
    def pad_token_id(self) -> int | None:
        return self.special.pad

    def token_to_id(self, token: str) -> int | None:
        return self.backend.token_to_id(token)

    def id_to_token(self, token_id: int) -> str | None:
        return self.backend.id_to_token(token_id)

    @functools.lru_cache(maxsize=65536)  # noqa: B019 - one Tokenizer per loaded model, kept for its life
    def token_bytes(self, token_id: int) -> bytes:
        """The bytes one token stands for (a byte-level BPE token may be part of a character): OpenAI's
        logprobs `bytes` field."""
        piece = self.id_to_token(token_id) or ""
        table = _byte_decoder()
        if piece and all(ch in table for ch in piece):
            return bytes(table[ch] for ch in piece)
        return self.decode([token_id], skip_special_tokens=False).encode("utf-8")

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        """Token ids of `text`; special-token strings in it become their single ids."""
        if not isinstance(text, str):
            raise ChatFormatError(f"encode expects str, got {type(text).__name__}")
        return self.backend.encode(text, add_special_tokens=add_special_tokens).ids

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = True) -> str:
        """Text of `ids`; an id outside the vocabulary is an error rather than silently dropped."""
        self.check_ids(ids)
        return self.backend.decode([int(token_id) for token_id in ids], skip_special_tokens=skip_special_tokens)

    def check_ids(self, ids: Iterable[int]) -> None:
        for position, token_id in enumerate(ids):
            if isinstance(token_id, bool) or not isinstance(token_id, Integral) or not 0 <= token_id < self.vocab_size:
                raise ChatFormatError(f"token id {token_id!r} at position {position} is outside the vocabulary "
                                      f"of {self.origin} (size {self.vocab_size})")

    def apply_chat_template(self, messages: Sequence[Mapping[str, Any] | BaseModel], *,
                            tools: Sequence[Mapping[str, Any]] | None = None, add_generation_prompt: bool = True,
                            enable_thinking: bool = True, **kwargs: Any) -> str:
        """The prompt text for `messages` (OpenAI shapes), as transformers would render it for this folder."""
        template = self.templates.get("tool_use") if tools is not None else None
        template = template or self.templates.get("default") or next(iter(self.templates.values()))
        return template.render(messages, tools=tools, add_generation_prompt=add_generation_prompt,
                               enable_thinking=enable_thinking, **kwargs)

    def encode_chat(self, messages: Sequence[Mapping[str, Any] | BaseModel], **kwargs: Any) -> list[int]:
        """Prompt ids: the rendered template encoded without adding anything (the template has its own bos)."""
        return self.encode(self.apply_chat_template(messages, **kwargs))

    def incremental_decoder(self, *, skip_special_tokens: bool = True,
                            prefix_ids: Sequence[int] = ()) -> IncrementalDecoder:
        return IncrementalDecoder(self, skip_special_tokens=skip_special_tokens, prefix_ids=prefix_ids)


class IncrementalDecoder:
    """Streaming detokenizer: feed ids as they are generated, get only text that is final.

    Byte-level BPE can split one character (Chinese, emoji) over several tokens; their bytes are held
    until the character is complete, so a stream never shows U+FFFD for a character still arriving.
    `prefix_ids` (the end of the prompt) are context only: vocabularies that mark word starts
    (SentencePiece's `▁`) need the token before to know whether a space comes first.
    """

    def __init__(self, tokenizer: Tokenizer, *, skip_special_tokens: bool = True, prefix_ids: Sequence[int] = ()):
        self.tokenizer = tokenizer
        tokenizer.check_ids(prefix_ids)
        self._stream = DecodeStream(ids=[int(token_id) for token_id in prefix_ids] or None,
                                    skip_special_tokens=skip_special_tokens)
        self.text = ""
        self.token_count = 0

    def step(self, token_id: int) -> str:
        """The new text this token completes ("" while a character is still incomplete)."""
        self.tokenizer.check_ids([token_id])
        self.token_count += 1
        delta = self._stream.step(self.tokenizer.backend, int(token_id)) or ""
        self.text += delta
        return delta

    def feed(self, ids: Iterable[int]) -> str:
        return "".join(self.step(token_id) for token_id in ids)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ChatFormatError(f"{path} is not readable JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ChatFormatError(f"{path} must hold a JSON object, got {type(data).__name__}")
    return data


def _template_sources(config: TokenizerConfig, template_file: Path, config_path: Path) -> dict[str, str]:
    if template_file.is_file():
        return {"default": template_file.read_text(encoding="utf-8")}
    if isinstance(config.chat_template, str):
        return {"default": config.chat_template}
    if isinstance(config.chat_template, list):
        named = {}
        for index, entry in enumerate(config.chat_template):
            if not isinstance(entry.get("name"), str) or not isinstance(entry.get("template"), str):
                raise ChatFormatError(f"{config_path}: chat_template[{index}] needs 'name' and 'template' strings")
            named[entry["name"]] = entry["template"]
        return named
    return {}


def _generation_eos_ids(path: Path) -> list[int]:
    if not path.is_file():
        return []
    value = _read_json(path).get("eos_token_id")
    ids = value if isinstance(value, list) else [value]
    if not all(isinstance(item, int) for item in ids if item is not None):
        raise ChatFormatError(f"{path}: eos_token_id must be an int or a list of ints, got {value!r}")
    return [item for item in ids if item is not None]


@functools.cache
def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-to-printable-character table, inverted (byte-level BPE vocabularies use it)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}
