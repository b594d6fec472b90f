"""Tiny Whisper models in the two on-disk forms the voice experts load: an openai-whisper checkpoint
file and a CTranslate2 folder converted by faster-whisper's own converter.

No real weights can be fetched here, so the tests load these through the same paths as real models. The
weights are random except for a script: every decoding step's logits favour one word by a wide margin
(see `_script_one_word`), so the transcript is that word repeated, the same on every CPU and thread count.
Purely random weights gave near-ties that flipped between machines, sometimes to no words at all. The
models exercise loading, decoding, word timestamps, progress and the command matching, never accuracy.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

SAID = " hello"  # the word the tiny models say; one token in whisper's vocabulary
TIMESTAMP_ZERO = 50364  # <|0.00|> in the multilingual vocabulary (51865 tokens)


def _script_one_word(embedding: Any, final_norm: Any, token: int) -> None:
    """Make a decoder with tied output embeddings say `token` at every text step, after <|0.00|>.

    Every embedding row is made orthogonal to a random unit vector u; then the token's row gets d·u and
    <|0.00|>'s 0.6·d·u, and the final layer norm's weight is zeroed and its bias set to (100 / d)·u. The
    logits are 100 for the token, 60 for <|0.00|> (the only allowed first step) and 0 for all others. d is
    small next to a row's length, so the decoder's inputs (and the cross-attention that word timestamps
    read) stay as random as before."""
    import torch

    with torch.no_grad():
        weight = embedding.weight
        u = torch.randn(weight.shape[1])
        u /= u.norm()
        weight -= (weight @ u)[:, None] * u
        d = 0.05 * weight.norm(dim=1).mean().item()
        weight[token] += d * u
        weight[TIMESTAMP_ZERO] += 0.6 * d * u
        final_norm.weight.zero_()
        final_norm.bias.copy_(100 / d * u)


def tiny_whisper_checkpoint(path: Path) -> Path:
    """A tiny Whisper that says SAID, in the file format `whisper.load_model(path)` reads."""
    import torch
    from whisper.model import ModelDimensions
    from whisper.model import Whisper as WhisperModel
    from whisper.tokenizer import get_tokenizer

    dims = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=1,
                           n_vocab=51865, n_text_ctx=448, n_text_state=64, n_text_head=2, n_text_layer=1)
    torch.manual_seed(0)
    model = WhisperModel(dims)
    with torch.no_grad():  # whisper leaves it torch.empty (real checkpoints overwrite it): garbage, at times NaN
        model.decoder.positional_embedding.normal_(std=0.02)
    (said,) = get_tokenizer(multilingual=True).encode(SAID)
    _script_one_word(model.decoder.token_embedding, model.decoder.ln, said)
    torch.save({"dims": dataclasses.asdict(dims), "model_state_dict": model.state_dict()}, path)
    return path


def whisper_tokenizer(path: Path) -> Path:
    """Whisper's multilingual tokenizer as a Hugging Face tokenizer.json, built from the tiktoken ranks that
    openai-whisper ships (the same ids: 50257 BPE tokens, then the special and timestamp tokens)."""
    import whisper
    from tokenizers import AddedToken, Tokenizer, decoders, pre_tokenizers
    from tokenizers.models import BPE
    from transformers.convert_slow_tokenizer import TikTokenConverter
    from whisper.tokenizer import LANGUAGES

    ranks = Path(whisper.__file__).parent / "assets" / "multilingual.tiktoken"
    vocab, merges = TikTokenConverter(vocab_file=str(ranks)).extract_vocab_merges_from_model(str(ranks))
    tok = Tokenizer(BPE(vocab, merges, fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    languages = [f"<|{code}|>" for code in list(LANGUAGES)[:99]]  # the 99 of whisper v1/v2 (vocabulary 51865)
    specials = ["<|endoftext|>", "<|startoftranscript|>", *languages, "<|translate|>", "<|transcribe|>",
                "<|startoflm|>", "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>",
                *[f"<|{i * 0.02:.2f}|>" for i in range(1501)]]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    assert tok.get_vocab_size() == 51865
    tok.save(str(path))
    return path


def tiny_faster_whisper(folder: Path) -> Path:
    """A tiny Whisper that says SAID, saved by transformers and converted by CTranslate2's own converter,
    as real faster-whisper models are made (`ct2-transformers-converter --model openai/whisper-...`)."""
    import torch
    from ctranslate2.converters import TransformersConverter
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast, WhisperConfig, WhisperForConditionalGeneration
    from whisper.tokenizer import LANGUAGES

    hf = folder / "hf"
    hf.mkdir(parents=True)
    tok = Tokenizer.from_file(str(whisper_tokenizer(hf / "tokenizer.json")))
    eot, sot = tok.token_to_id("<|endoftext|>"), tok.token_to_id("<|startoftranscript|>")
    config = WhisperConfig(vocab_size=51865, num_mel_bins=80, encoder_layers=1, decoder_layers=1,
                           encoder_attention_heads=2, decoder_attention_heads=2, d_model=64, encoder_ffn_dim=128,
                           decoder_ffn_dim=128, max_source_positions=1500, max_target_positions=448,
                           bos_token_id=eot, eos_token_id=eot, pad_token_id=eot, decoder_start_token_id=sot)
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config).eval()
    assert tok.token_to_id("<|0.00|>") == TIMESTAMP_ZERO
    (said,) = tok.encode(SAID, add_special_tokens=False).ids
    _script_one_word(model.model.decoder.embed_tokens, model.model.decoder.layer_norm, said)
    gen = model.generation_config
    gen.suppress_tokens, gen.begin_suppress_tokens = [], [220, eot]
    gen.lang_to_id = {f"<|{code}|>": tok.token_to_id(f"<|{code}|>") for code in list(LANGUAGES)[:99]}
    model.save_pretrained(hf)
    PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                            unk_token="<|endoftext|>", pad_token="<|endoftext|>").save_pretrained(hf)
    out = folder / "ct2"
    TransformersConverter(str(hf), copy_files=["tokenizer.json"]).convert(str(out), force=True)
    return out
