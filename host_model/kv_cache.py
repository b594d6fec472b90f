"""The KV cache: one slot per running sequence, ring buffers on sliding-window layers.

Full-attention layers keep every position (index = position). Sliding layers keep a ring of
`window + slack` entries (index = position mod size), so their memory is fixed whatever the
context length: three of every four Step 3.5 layers stop growing at 512 tokens. The slack lets
speculative decoding write draft tokens and roll them back without overwriting an entry the
window still needs: a rejected draft at position p overwrote position p - size, which is older
than any query after the rollback can see as long as slack >= the number of draft tokens.

Every entry carries its absolute position (`pos`, -1 = empty); attention masks by position, so
entries in a ring need no order and a rollback is just "forget positions >= n".
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from host_model.config import Step3p5Config


@dataclass
class LayerKV:
    """One layer's keys, values and the absolute position of every entry, for all slots."""

    k: torch.Tensor  # [slots, kv_heads, size, head_dim]
    v: torch.Tensor
    pos: torch.Tensor  # [slots, size] int64, -1 = empty
    ring: bool

    @property
    def size(self) -> int:
        return self.pos.shape[1]

    def gather(self, slots: torch.Tensor, upto: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The cached entries of `slots` (first `upto` indices on full layers, to skip the unused tail)."""
        if not self.ring and upto is not None:
            return self.k[slots, :, :upto], self.v[slots, :, :upto], self.pos[slots, :upto]
        return self.k[slots], self.v[slots], self.pos[slots]

    def write(self, slots: torch.Tensor, positions: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> None:
        """Store new entries: `positions` [B, T], k/v [B, kv_heads, T, head_dim]."""
        if self.ring and positions.shape[1] > self.size:  # only the newest `size` tokens can still be seen
            positions, k, v = positions[:, -self.size:], k[:, :, -self.size:], v[:, :, -self.size:]
        index = positions % self.size if self.ring else positions
        rows = slots.unsqueeze(1)
        self.k[rows, :, index] = k.permute(0, 2, 1, 3).to(self.k.dtype)
        self.v[rows, :, index] = v.permute(0, 2, 1, 3).to(self.v.dtype)
        self.pos[rows, index] = positions

    def truncate(self, slot: int, length: int) -> None:
        """Forget every entry of `slot` at position >= length (rollback after rejected drafts)."""
        row = self.pos[slot]
        row.masked_fill_(row >= length, -1)


class KVCache:
    """The cache of every decoder and MTP layer for up to `num_slots` concurrent sequences."""

    def __init__(self, config: Step3p5Config, *, num_slots: int, max_context: int, dtype: torch.dtype,
                 device: torch.device | str = "cpu", slack: int = 0, with_mtp: bool = True) -> None:
        if max_context > config.max_position_embeddings:
            raise ValueError(f"max_context {max_context} is more than the model's max_position_embeddings "
                             f"({config.max_position_embeddings})")
        self.config = config
        self.num_slots = num_slots
        self.max_context = max_context
        self.slack = slack
        count = config.num_layers_with_mtp if with_mtp else config.num_hidden_layers
        self.layers: list[LayerKV] = []
        for i in range(count):
            spec = config.layer(i)
            ring = spec.window is not None and spec.window + slack < max_context
            size = spec.window + slack if ring and spec.window is not None else max_context
            shape = (num_slots, spec.num_kv_heads, size, spec.head_dim)
            self.layers.append(LayerKV(
                k=torch.zeros(shape, dtype=dtype, device=device), v=torch.zeros(shape, dtype=dtype, device=device),
                pos=torch.full((num_slots, size), -1, dtype=torch.long, device=device), ring=ring))

    def free(self, slot: int) -> None:
        for layer in self.layers:
            layer.pos[slot] = -1

    def truncate(self, slot: int, length: int, *, layers: range | None = None) -> None:
        for i in layers if layers is not None else range(len(self.layers)):
            self.layers[i].truncate(slot, length)

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for layer in self.layers for t in (layer.k, layer.v))


def kv_bytes_per_token(config: Step3p5Config, *, bytes_per_value: int = 2) -> dict[str, int]:
    """KV bytes one token adds, per layer type, summed over the decoder layers (MTP excluded)."""
    out = {"full_attention": 0, "sliding_attention": 0}
    for i in range(config.num_hidden_layers):
        spec = config.layer(i)
        out[spec.attention] += 2 * spec.num_kv_heads * spec.head_dim * bytes_per_value
    return out


def kv_bytes_at(config: Step3p5Config, context: int, *, bytes_per_value: int = 2,
                sliding: bool = True) -> int:
    """KV-cache bytes of one sequence of `context` tokens over the decoder layers.

    `sliding=False` gives what the same model would need with full attention on every layer,
    the baseline the sliding window is measured against.
    """
    total = 0
    for i in range(config.num_hidden_layers):
        spec = config.layer(i)
        kept = min(context, spec.window) if sliding and spec.window is not None else context
        total += 2 * spec.num_kv_heads * spec.head_dim * bytes_per_value * kept
    return total
