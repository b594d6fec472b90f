"""Train a byte-level BPE tokenizer and write it in Hugging Face's layout.

Tests need tiny real tokenizers, and the project's small host model needs its own; both must load
in our `Tokenizer` and in `transformers.AutoTokenizer` alike. The chat-format tokens take the first
ids in a fixed order, so their ids do not depend on the training text or the vocabulary size.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from host_model.chat_template import default_chat_template
from host_model.errors import ChatFormatError
from host_model.parsers import THINK_END, THINK_START, TOOL_CALL_END, TOOL_CALL_START
from host_model.tokenizer import CONFIG_FILE, IM_END, IM_START, TOKENIZER_FILE

PAD_TOKEN = "<|endoftext|>"
BOS_TOKEN = "<|begin_of_text|>"
EOS_TOKEN = IM_END  # a chat model's generation ends with its turn


class SpecialToken(BaseModel):
    """An added token; `special=False` keeps it in decoded text, which the reasoning and tool parsers read."""

    content: str
    special: bool


# id = position; reserved slots let later versions add tokens without moving the byte ids
SPECIAL_TOKENS: tuple[SpecialToken, ...] = (
    SpecialToken(content=PAD_TOKEN, special=True),
    SpecialToken(content=BOS_TOKEN, special=True),
    SpecialToken(content=IM_START, special=True),
    SpecialToken(content=IM_END, special=True),
    SpecialToken(content=THINK_START, special=False),
    SpecialToken(content=THINK_END, special=False),
    SpecialToken(content=TOOL_CALL_START, special=False),
    SpecialToken(content=TOOL_CALL_END, special=False),
    SpecialToken(content="<tool_response>", special=False),
    SpecialToken(content="</tool_response>", special=False),
    *(SpecialToken(content=f"<|reserved_{n}|>", special=True) for n in range(6)),
)
_BYTE_ALPHABET = 256


def train_bpe_tokenizer(texts: Iterable[str], vocab_size: int, out_dir: Path, *, chat_template: str | None = None,
                        min_frequency: int = 2, model_max_length: int = 65536) -> Path:
    """Train on `texts`, write `tokenizer.json` + `tokenizer_config.json` into `out_dir`, return `out_dir`.

    `chat_template` defaults to our Step 3.5 template. The vocabulary may come out smaller than
    `vocab_size` when the texts have fewer useful merges.
    """
    smallest = len(SPECIAL_TOKENS) + _BYTE_ALPHABET
    if vocab_size < smallest:
        raise ChatFormatError(f"vocab_size {vocab_size} is too small: the {len(SPECIAL_TOKENS)} special tokens "
                              f"and {_BYTE_ALPHABET} byte tokens alone need {smallest}")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, show_progress=False,
        special_tokens=[token.content for token in SPECIAL_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(_checked_texts(texts), trainer=trainer)
    model = json.loads(tokenizer.to_str())
    flags = {token.content: token.special for token in SPECIAL_TOKENS}
    for added in model["added_tokens"]:
        added["special"] = flags[added["content"]]  # the trainer marks every one of them special
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / TOKENIZER_FILE).write_text(json.dumps(model, ensure_ascii=False), encoding="utf-8")
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": BOS_TOKEN,
        "eos_token": EOS_TOKEN,
        "pad_token": PAD_TOKEN,
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": model_max_length,
        "added_tokens_decoder": {
            str(added["id"]): {key: added[key] for key in
                               ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}
            for added in model["added_tokens"]},
        "chat_template": default_chat_template() if chat_template is None else chat_template,
    }
    (out_dir / CONFIG_FILE).write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
    return out_dir


def _checked_texts(texts: Iterable[str]) -> Iterable[str]:
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise ChatFormatError(f"training text {index} is {type(text).__name__}, not str")
        yield text
