"""A tiny randomly initialised Stable Diffusion pipeline, saved with `save_pretrained`: what the tests and
the benchmark load through the same path as real weights, since no real weights can be fetched here.

Its pictures are noise (the weights are random); it exercises the plumbing (loading, the three pipeline
forms, seeds, steps, progress) and, in `benchmarks/image.py`, the pipeline's own overhead per step.
"""

from __future__ import annotations

import json
import string
from pathlib import Path


def _tokenizer_files(folder: Path) -> tuple[Path, Path]:
    """A CLIP BPE vocabulary of single letters (plus their word-final forms) and no merges: tiny, no hub."""
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in string.ascii_lowercase + string.digits + ".,!?'-":
        vocab[ch] = len(vocab)
        vocab[ch + "</w>"] = len(vocab)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return folder / "vocab.json", folder / "merges.txt"


def build_tiny_pipeline(folder: Path) -> Path:
    """A randomly initialised StableDiffusionPipeline (UNet 8/16 channels, VAE 8/16, CLIP 2×32) saved to `folder`."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16), layers_per_block=1, sample_size=16, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, attention_head_dim=2, norm_num_groups=4)
    vae = AutoencoderKL(block_out_channels=(8, 16), in_channels=3, out_channels=3, latent_channels=4,
                        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                        norm_num_groups=4, sample_size=32)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=1000, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
        bos_token_id=0, eos_token_id=1, pad_token_id=1, layer_norm_eps=1e-5))
    vocab, merges = _tokenizer_files(folder.parent / f"{folder.name}-tokenizer")
    tokenizer = CLIPTokenizer(str(vocab), str(merges), model_max_length=16)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False, steps_offset=1)
    pipe = StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.save_pretrained(folder)
    return folder
