"""Tiny randomly initialised Whisper models in the two on-disk forms the voice experts load: an
openai-whisper checkpoint file and a CTranslate2 folder converted by faster-whisper's own converter.

No real weights can be fetched here, so the tests load these through the same paths as real models.
Their transcripts are noise (the weights are random): they exercise loading, decoding, word timestamps,
progress and the command matching, never accuracy.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path


def tiny_whisper_checkpoint(path: Path) -> Path:
    """A randomly initialised Whisper in the file format `whisper.load_model(path)` reads."""
    import torch
    from whisper.model import ModelDimensions
    from whisper.model import Whisper as WhisperModel

    dims = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=1,
                           n_vocab=51865, n_text_ctx=448, n_text_state=64, n_text_head=2, n_text_layer=1)
    torch.manual_seed(0)
    torch.save({"dims": dataclasses.asdict(dims), "model_state_dict": WhisperModel(dims).state_dict()}, path)
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
    """A random Whisper saved by transformers and converted by CTranslate2's own converter, as real
    faster-whisper models are made (`ct2-transformers-converter --model openai/whisper-...`)."""
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
    gen = model.generation_config
    gen.suppress_tokens, gen.begin_suppress_tokens = [], [220, eot]
    gen.lang_to_id = {f"<|{code}|>": tok.token_to_id(f"<|{code}|>") for code in list(LANGUAGES)[:99]}
    model.save_pretrained(hf)
    PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                            unk_token="<|endoftext|>", pad_token="<|endoftext|>").save_pretrained(hf)
    out = folder / "ct2"
    TransformersConverter(str(hf), copy_files=["tokenizer.json"]).convert(str(out), force=True)
    return out
