"""The generation engine: prefill and decode over a slot-based KV cache, continuous batching,
sampling, MTP speculative decoding and constrained decoding.

`Engine` is single-threaded and step-driven: each `step()` admits waiting requests (chunked
prefill into a free slot), then advances every running sequence by one decode step, batched,
so requests join and leave the batch between steps. `AsyncEngine` runs that loop in a worker
thread and streams each request's tokens to its asyncio consumer.

Speculative decoding chains the MTP layers: depth k drafts token k + 1 (vLLM serves Step 3.5
with one, SGLang with all three), the main model scores [last, drafts...] in one forward, and
`sampling.accept_draft` keeps the output distribution exact. Sequences under a grammar
constraint decode plainly (a draft would need the grammar to roll back).

MTP bookkeeping, per sequence with N confirmed tokens (main cache holds positions 0..N-2):
every depth drafts at position N-2, and depth k at position t reads token t+k+1, so its entries
at positions > N-k-2 were computed from drafts. Each round therefore recomputes depth k from
`mtp_start[k]` = the first position it could not finalise last time (its cache is cut back
there first), feeding it depth k-1's outputs: those computed this round, plus the one final
output depth k-1 left at position `mtp_start[k]` last round (`carry[k-1]`).
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol

import torch
from pydantic import BaseModel, ConfigDict, Field

from host_model.errors import HostModelError
from host_model.kv_cache import KVCache
from host_model.model import Step3p5ForCausalLM
from host_model.sampling import (
    SamplingParams,
    TokenLogprob,
    accept_draft,
    apply_mask,
    sample,
    token_logprob,
)


class EngineError(HostModelError):
    """A request the engine cannot run (empty prompt, too long, unknown token ids...)."""


class TokenConstraint(Protocol):
    """A per-step token mask (see host_model.constrained): which tokens may come next."""

    def allowed_mask(self, vocab_size: int) -> torch.Tensor | None: ...
    def advance(self, token_id: int) -> None: ...
    def is_finished(self) -> bool: ...


class StepDecoder(Protocol):
    def step(self, token_id: int) -> str: ...  # the text this token completes ("" mid-character)


class Detokenizer(Protocol):
    """Streams text token by token, so a step costs the same at token 10 and token 10,000."""

    def incremental_decoder(self, *, skip_special_tokens: bool = True) -> StepDecoder: ...


class EngineSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_batch: int = Field(8, ge=1, description="concurrent sequences (KV-cache slots)")
    max_context: int = Field(4096, ge=16, description="prompt + output tokens per sequence")
    prefill_chunk: int = Field(512, ge=1, description="prompt tokens per forward while prefilling")
    num_speculative_tokens: int = Field(0, ge=0, le=8, description="tokens drafted per step by MTP depths 0..n-1 "
                                        "and verified in one forward; 0 = no speculative decoding")
    compile: bool = Field(False, description="torch.compile the decode step (the first decode steps compile it)")


@dataclass
class Update:
    """What one step produced for one request."""

    request_id: str
    token_ids: list[int]
    text: str  # new text, safe to show (held back while it could still become a stop string)
    logprobs: list[TokenLogprob] = field(default_factory=list)
    finish_reason: str | None = None  # "stop" | "length" | "abort" | "error"
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class Completion:
    token_ids: list[int]
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    logprobs: list[TokenLogprob]


@dataclass
class _Sequence:
    id: str
    prompt: list[int]
    params: SamplingParams
    constraint: TokenConstraint | None
    generator: torch.Generator | None
    output: list[int] = field(default_factory=list)
    slot: int = -1
    cached: int = 0  # positions 0..cached-1 are in the main cache; tokens[cached] is the next input
    mtp_start: list[int] = field(default_factory=list)  # per depth: first position to (re)compute
    pending_hidden: torch.Tensor | None = None  # main hidden states at mtp_start[0]..cached-1
    carry: list[torch.Tensor | None] = field(default_factory=list)  # per depth: final output at mtp_start[k+1]
    stops: frozenset[int] = frozenset()  # token ids that end it: stop_token_ids, and EOS unless ignore_eos
    decoder: StepDecoder | None = None
    text: str = ""
    emitted: int = 0
    finish_reason: str | None = None

    @property
    def tokens(self) -> list[int]:
        return self.prompt + self.output


@dataclass
class EngineStats:
    steps: int = 0
    prefill_tokens: int = 0
    decode_tokens: int = 0
    drafts: int = 0
    accepted: int = 0
    verify_steps: int = 0


class Engine:
    def __init__(self, model: Step3p5ForCausalLM, tokenizer: Detokenizer | None = None,
                 settings: EngineSettings | None = None, *, eos_token_ids: list[int] | None = None) -> None:
        self.model = model.prepare_for_inference()
        self.config = model.config
        self.tokenizer = tokenizer
        self.settings = settings or EngineSettings()
        self.drafts = self.settings.num_speculative_tokens
        if self.drafts and not self.config.num_nextn_predict_layers:
            raise EngineError("speculative decoding needs MTP layers, and this model's config has "
                              "num_nextn_predict_layers = 0")
        if self.drafts > self.config.num_nextn_predict_layers:
            raise EngineError(f"num_speculative_tokens = {self.drafts}, but the model has only "
                              f"{self.config.num_nextn_predict_layers} MTP layers (one per draft token)")
        max_context = min(self.settings.max_context, self.config.max_position_embeddings)
        self.max_context = max_context
        param = next(model.parameters())
        self.device = param.device
        self.cache = KVCache(self.config, num_slots=self.settings.max_batch, max_context=max_context,
                             dtype=model.lm_head.weight.dtype, device=self.device,
                             slack=self.drafts, with_mtp=self.drafts > 0)
        self.eos = set(eos_token_ids if eos_token_ids is not None else self.config.eos_token_ids)
        self.free_slots = list(range(self.settings.max_batch - 1, -1, -1))
        self.waiting: deque[_Sequence] = deque()
        self.running: list[_Sequence] = []
        self.stats = EngineStats()
        self._ids = itertools.count()
        # one token per sequence per step: the part worth compiling (prefill and verification stay eager)
        self._decode_forward = (torch.compile(self.model, dynamic=True) if self.settings.compile else self.model)
        if self.settings.compile:
            self._warm_up()

    # ---- requests ------------------------------------------------------------------------------

    def add(self, prompt_ids: list[int], params: SamplingParams | None = None, *,
            constraint: TokenConstraint | None = None, request_id: str | None = None) -> str:
        params = params or SamplingParams()
        if not prompt_ids:
            raise EngineError("the prompt is empty: give at least one token")
        vocab = self.config.vocab_size
        bad = [t for t in prompt_ids if not 0 <= t < vocab]
        if bad:
            raise EngineError(f"prompt token ids {bad[:5]} are outside the vocabulary (0..{vocab - 1})")
        if len(prompt_ids) >= self.max_context:
            raise EngineError(f"the prompt has {len(prompt_ids)} tokens; the engine's context is "
                              f"{self.max_context} tokens (prompt + output)")
        request_id = request_id or f"req-{next(self._ids)}"
        generator = None
        if params.seed is not None:
            generator = torch.Generator(device="cpu").manual_seed(params.seed)
        stops = frozenset(params.stop_token_ids) | (frozenset() if params.ignore_eos else frozenset(self.eos))
        decoder = self.tokenizer.incremental_decoder() if self.tokenizer is not None else None
        self.waiting.append(_Sequence(request_id, list(prompt_ids), params, constraint, generator, stops=stops,
                                      decoder=decoder))
        return request_id

    def abort(self, request_id: str) -> bool:
        for seq in list(self.waiting):
            if seq.id == request_id:
                self.waiting.remove(seq)
                return True
        for seq in self.running:
            if seq.id == request_id:
                self._finish(seq, "abort")
                self._release(seq)
                return True
        return False

    def has_work(self) -> bool:
        return bool(self.waiting or self.running)

    def generate(self, prompt_ids: list[int], params: SamplingParams | None = None, *,
                 constraint: TokenConstraint | None = None) -> Completion:
        """Run one request to the end (other queued requests advance alongside it)."""
        request_id = self.add(prompt_ids, params, constraint=constraint)
        return self.run_until_done([request_id])[request_id]

    def run_until_done(self, request_ids: list[str]) -> dict[str, Completion]:
        """Step until every request in `request_ids` has finished; returns their completions."""
        parts: dict[str, list[Update]] = {r: [] for r in request_ids}
        done: set[str] = set()
        while len(done) < len(parts):
            if not self.has_work():
                raise EngineError(f"requests {sorted(set(parts) - done)} are not queued")
            for update in self.step():
                if update.request_id in parts:
                    parts[update.request_id].append(update)
                    if update.finish_reason:
                        done.add(update.request_id)
        return {r: collect(u) for r, u in parts.items()}

    def _warm_up(self) -> None:
        """Compile the decode step now, not in a client's first request: batch 1, then a larger batch
        (torch.compile specialises size 1 and traces the rest once with a symbolic batch)."""
        params = SamplingParams(max_tokens=3, ignore_eos=True)
        self.run_until_done([self.add([0, 1], params)])
        if self.settings.max_batch > 1:
            self.run_until_done([self.add([0, 1], params), self.add([1, 0], params)])
        self.stats = EngineStats()

    # ---- the step ------------------------------------------------------------------------------

    @torch.inference_mode()
    def step(self) -> list[Update]:
        self.stats.steps += 1
        updates: list[Update] = []
        admitted: list[_Sequence] = []
        while self.waiting and self.free_slots:
            seq = self.waiting.popleft()
            seq.slot = self.free_slots.pop()
            self.running.append(seq)
            admitted.append(seq)
            updates.append(self._prefill(seq))
        ready = [s for s in self.running if s.finish_reason is None and s not in admitted]
        speculative = [s for s in ready if self.drafts and s.constraint is None]
        plain = [s for s in ready if s not in speculative]
        if plain:
            updates.extend(self._decode(plain))
        if speculative:
            updates.extend(self._speculate(speculative))
        for seq in [s for s in self.running if s.finish_reason is not None]:
            self._release(seq)
        return updates

    def _slots(self, seqs: list[_Sequence]) -> torch.Tensor:
        return torch.tensor([s.slot for s in seqs], dtype=torch.long, device=self.device)

    def _prefill(self, seq: _Sequence) -> Update:
        slots = self._slots([seq])
        hidden_parts: list[torch.Tensor] = []
        chunk = self.settings.prefill_chunk
        n = len(seq.prompt)
        logits = None
        for start in range(0, n, chunk):
            ids = seq.prompt[start:start + chunk]
            input_ids = torch.tensor([ids], dtype=torch.long, device=self.device)
            positions = torch.arange(start, start + len(ids), device=self.device).unsqueeze(0)
            last = start + len(ids) >= n
            out = self.model(input_ids, positions, cache=self.cache, slots=slots,
                             logits_positions=torch.tensor([[len(ids) - 1]], device=self.device) if last else
                             torch.zeros((1, 0), dtype=torch.long, device=self.device))
            if self.drafts:
                hidden_parts.append(out.hidden[0])
            logits = out.logits[0, -1] if last else None
        assert logits is not None
        self.stats.prefill_tokens += n
        seq.cached = n
        if self.drafts:
            seq.pending_hidden = torch.cat(hidden_parts)
        token = self._choose(seq, logits)
        return self._append(seq, [token], [logits])

    def _decode(self, seqs: list[_Sequence]) -> list[Update]:
        input_ids = torch.tensor([[s.tokens[s.cached]] for s in seqs], dtype=torch.long, device=self.device)
        positions = torch.tensor([[s.cached] for s in seqs], dtype=torch.long, device=self.device)
        out = self._decode_forward(input_ids, positions, cache=self.cache, slots=self._slots(seqs))
        updates = []
        for b, seq in enumerate(seqs):
            seq.cached += 1
            logits = out.logits[b, 0]
            updates.append(self._append(seq, [self._choose(seq, logits)], [logits]))
        self.stats.decode_tokens += len(seqs)
        return updates

    def _speculate(self, seqs: list[_Sequence]) -> list[Update]:
        n = self.drafts
        drafts = [self._draft(seq) for seq in seqs]
        input_ids = torch.tensor([[s.tokens[s.cached], *d] for s, d in zip(seqs, drafts, strict=True)],
                                 dtype=torch.long, device=self.device)
        positions = torch.tensor([list(range(s.cached, s.cached + n + 1)) for s in seqs], dtype=torch.long,
                                 device=self.device)
        out = self.model(input_ids, positions, cache=self.cache, slots=self._slots(seqs))
        self.stats.verify_steps += 1
        main_layers = range(self.config.num_hidden_layers)
        updates = []
        for b, (seq, draft) in enumerate(zip(seqs, drafts, strict=True)):
            tokens: list[int] = []
            logits: list[torch.Tensor] = []
            room = seq.params.max_tokens - len(seq.output)
            for i, proposed in enumerate(draft):
                self.stats.drafts += 1
                accepted, token = accept_draft(out.logits[b, i], proposed, seq.params, seq.generator)
                tokens.append(token)
                logits.append(out.logits[b, i])
                self.stats.accepted += accepted
                if not accepted or token in seq.stops or len(tokens) >= room:
                    break
            else:  # every draft kept: the last position's logits give one more token
                if len(tokens) < room:
                    tokens.append(self._choose(seq, out.logits[b, n]))
                    logits.append(out.logits[b, n])
            # the main model consumed tokens[cached] and the drafts; keep what the new tokens confirmed
            kept = len(tokens)  # positions cached .. cached + kept - 1 hold confirmed tokens
            self.cache.truncate(seq.slot, seq.cached + kept, layers=main_layers)
            seq.pending_hidden = out.hidden[b, :kept]
            seq.cached += kept
            self.stats.decode_tokens += kept
            updates.append(self._append(seq, tokens, logits))
        return updates

    def _draft(self, seq: _Sequence) -> list[int]:
        """Each MTP depth catches up from where it last had final entries, then drafts at position cached-1."""
        assert seq.pending_hidden is not None
        n = self.drafts
        if not seq.mtp_start:
            seq.mtp_start, seq.carry = [0] * n, [None] * n
        end = seq.cached  # positions start..end-1; the draft comes from position end-1
        confirmed = seq.tokens  # tokens[0..cached] are confirmed
        drafts: list[int] = []
        prev = seq.pending_hidden  # depth 0's input hidden at mtp_start[0]..end-1
        slots = self._slots([seq])
        for k in range(n):
            start = seq.mtp_start[k]
            layer = self.config.num_hidden_layers + k
            self.cache.truncate(seq.slot, start, layers=range(layer, layer + 1))
            ids = [confirmed[t + k + 1] if t + k + 1 <= seq.cached else drafts[t + k - seq.cached]
                   for t in range(start, end)]
            assert prev.shape[0] == end - start, (k, prev.shape, start, end)
            out = self.model.mtp_forward(k, torch.tensor([ids], dtype=torch.long, device=self.device),
                                         prev.unsqueeze(0), torch.arange(start, end, device=self.device)[None],
                                         cache=self.cache, slots=slots,
                                         logits_positions=torch.tensor([[end - start - 1]], device=self.device))
            drafts.append(int(out.logits[0, -1].argmax()))
            outputs = out.hidden[0]  # depth k's outputs at start..end-1
            if k + 1 < n:
                following = seq.mtp_start[k + 1]  # depth k+1 may start one position earlier than depth k
                if following >= start:
                    prev = outputs[following - start:]
                else:
                    carried = seq.carry[k]
                    assert carried is not None
                    prev = torch.cat((carried[None], outputs))
                seq.carry[k] = outputs[max(0, end - k - 1) - start]  # depth k+1's start next round
            seq.mtp_start[k] = max(0, end - k)  # later positions read drafts: recompute them next round
        seq.pending_hidden = None
        return drafts

    def _choose(self, seq: _Sequence, logits: torch.Tensor) -> int:
        if seq.constraint is not None:
            logits = apply_mask(logits, seq.constraint.allowed_mask(logits.shape[-1]))
            if torch.isinf(logits).all():
                raise EngineError(f"{seq.id}: the grammar constraint allows no token at output position "
                                  f"{len(seq.output)}")
        return sample(logits, seq.params, seq.generator)

    def _append(self, seq: _Sequence, tokens: list[int], logits: list[torch.Tensor]) -> Update:
        """Add sampled tokens, decide whether the sequence is finished, and say what is new."""
        new_ids: list[int] = []
        logprobs: list[TokenLogprob] = []
        before = len(seq.text)
        for token, row in zip(tokens, logits, strict=True):
            seq.output.append(token)
            new_ids.append(token)
            if seq.params.logprobs:
                logprobs.append(token_logprob(row, token, seq.params.top_logprobs))
            if seq.constraint is not None:
                seq.constraint.advance(token)
            if token not in seq.stops and seq.decoder is not None:  # a stop token's text is never shown
                seq.text += seq.decoder.step(token)
            if token in seq.stops or (seq.constraint is not None and seq.constraint.is_finished()):
                self._finish(seq, "stop")
            elif len(seq.output) >= seq.params.max_tokens or len(seq.tokens) >= self.max_context:
                self._finish(seq, "length")
            if seq.finish_reason:
                break
        return Update(seq.id, new_ids, self._new_text(seq, before), logprobs, seq.finish_reason,
                      prompt_tokens=len(seq.prompt), completion_tokens=len(seq.output))

    def _new_text(self, seq: _Sequence, before: int) -> str:
        """Cut at a stop string that appeared in the text added since `before`; say what is safe to show."""
        text = seq.text
        if seq.params.stop:
            hit = min((i for i in (text.find(s, max(0, before - len(s) + 1)) for s in seq.params.stop)
                       if i >= 0), default=-1)
            if hit >= 0:
                text = seq.text = text[:hit]
                self._finish(seq, "stop")
        safe = len(text)
        if seq.finish_reason is None:  # hold back what could still become a stop string
            hold = max((len(s) - 1 for s in seq.params.stop), default=0)
            safe = max(seq.emitted, len(text) - hold)
        delta = text[seq.emitted:safe]
        seq.emitted = max(seq.emitted, safe)
        return delta

    def _finish(self, seq: _Sequence, reason: str) -> None:
        if seq.finish_reason is None:
            seq.finish_reason = reason

    def _release(self, seq: _Sequence) -> None:
        if seq in self.running:
            self.running.remove(seq)
            self.cache.free(seq.slot)
            self.free_slots.append(seq.slot)


def collect(updates: list[Update]) -> Completion:
    last = updates[-1]
    return Completion(
        token_ids=[t for u in updates for t in u.token_ids], text="".join(u.text for u in updates),
        finish_reason=last.finish_reason or "abort", prompt_tokens=last.prompt_tokens,
        completion_tokens=last.completion_tokens, logprobs=[lp for u in updates for lp in u.logprobs])


class AsyncEngine:
    """The engine's step loop in a worker thread; each request streams `Update`s to its caller.

    New requests and aborts go through an inbox the loop drains between steps, so the engine
    itself stays single-threaded. A failure in a step ends the requests in that step with an
    error update and the loop carries on.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._inbox: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stopped = False
        self._streams: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Queue[Update]]] = {}
        self._thread = threading.Thread(target=self._loop, name="agentos-engine", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stopped = True
        self._wake.set()
        self._thread.join(timeout=10)

    async def stream(self, prompt_ids: list[int], params: SamplingParams | None = None, *,
                     constraint: TokenConstraint | None = None) -> AsyncIterator[Update]:
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue[Update] = asyncio.Queue()
        request_id = f"req-{id(inbox):x}"
        added: asyncio.Future[None] = loop.create_future()

        def add() -> None:
            try:
                self.engine.add(prompt_ids, params, constraint=constraint, request_id=request_id)
                self._streams[request_id] = (loop, inbox)
                loop.call_soon_threadsafe(_resolve, added, None)
            except Exception as exc:
                loop.call_soon_threadsafe(_resolve, added, exc)

        self._inbox.put(add)
        self._wake.set()
        await added
        finished = False
        try:
            while True:
                update = await inbox.get()
                finished = update.finish_reason is not None
                yield update
                if finished:
                    return
        finally:
            if not finished:
                self._inbox.put(lambda: self.engine.abort(request_id))
                self._wake.set()

    async def generate(self, prompt_ids: list[int], params: SamplingParams | None = None, *,
                       constraint: TokenConstraint | None = None) -> Completion:
        updates = [u async for u in self.stream(prompt_ids, params, constraint=constraint)]
        if updates[-1].error:
            raise EngineError(updates[-1].error)
        return collect(updates)

    def _loop(self) -> None:
        while not self._stopped:
            while True:
                try:
                    self._inbox.get_nowait()()
                except queue.Empty:
                    break
            if not self.engine.has_work():
                self._wake.wait(timeout=0.5)
                self._wake.clear()
                continue
            try:
                updates = self.engine.step()
            except Exception as exc:  # a bug or OOM in one step must not hang every caller
                updates = self._fail_all(f"{type(exc).__name__}: {exc}")
            for update in updates:
                target = self._streams.get(update.request_id)
                if target is None:
                    continue
                loop, inbox = target
                loop.call_soon_threadsafe(inbox.put_nowait, update)
                if update.finish_reason:
                    self._streams.pop(update.request_id, None)

    def _fail_all(self, message: str) -> list[Update]:
        failed = []
        for seq in list(self.engine.running) + list(self.engine.waiting):
            self.engine.abort(seq.id)
            failed.append(Update(seq.id, [], "", finish_reason="error", error=message,
                                 prompt_tokens=len(seq.prompt), completion_tokens=len(seq.output)))
        return failed


def _resolve(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
