"""The generation engine: batching, sampling, stop rules, MTP speculation, constraints, async streaming."""

from __future__ import annotations

import asyncio
import math

import pytest
import torch
from test_host_model import random_model, tiny

from host_model.engine import AsyncEngine, Engine, EngineError, EngineSettings
from host_model.sampling import SamplingParams
from host_model.synthetic import successor_model

GREEDY = SamplingParams(max_tokens=24, ignore_eos=True)
PROMPTS = [list(range(2, 40)), list(range(7, 12)), [300, 301, 302, 303] * 6]  # the first is > 2x the window


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    return random_model(tiny())


_NAIVE: dict[tuple[int, tuple[int, ...]], list[int]] = {}


def naive_greedy(model: torch.nn.Module, prompt: list[int], n: int) -> list[int]:
    """Full forward over the whole sequence for every token: no cache, no batching (memoised: greedy prefixes agree)."""
    key = (id(model), tuple(prompt))
    done = _NAIVE.setdefault(key, [])
    ids = list(prompt) + done
    with torch.no_grad():
        while len(done) < n:
            done.append(int(model(torch.tensor([ids])).logits[0, -1].argmax()))
            ids.append(done[-1])
    return done[:n]


def engine(model: torch.nn.Module, **settings: object) -> Engine:
    return Engine(model, settings=EngineSettings(max_context=128, **settings))


def test_greedy_decoding_matches_the_uncached_forward(model: torch.nn.Module) -> None:
    out = engine(model, prefill_chunk=16).generate(PROMPTS[0], GREEDY)
    assert out.token_ids == naive_greedy(model, PROMPTS[0], 24)
    assert (out.finish_reason, out.prompt_tokens, out.completion_tokens) == ("length", 38, 24)


def test_requests_join_and_leave_the_running_batch(model: torch.nn.Module) -> None:
    eng = engine(model, max_batch=2)
    first = [eng.add(p, SamplingParams(max_tokens=n, ignore_eos=True))
             for p, n in zip(PROMPTS, (5, 20, 9), strict=True)]
    tokens: dict[str, list[int]] = {}
    for _ in range(3):
        for update in eng.step():
            tokens.setdefault(update.request_id, []).extend(update.token_ids)
    assert len(eng.running) == 2 and len(eng.waiting) == 1  # two slots: the third waits
    late = eng.add([9, 8, 7], GREEDY)  # joins while others run
    while eng.has_work():
        for update in eng.step():
            tokens.setdefault(update.request_id, []).extend(update.token_ids)
    for request, prompt, n in zip([*first, late], [*PROMPTS, [9, 8, 7]], (5, 20, 9, 24), strict=True):
        assert tokens[request] == naive_greedy(model, prompt, n)
    assert eng.free_slots and not eng.running and all((layer.pos == -1).all() for layer in eng.cache.layers)


@pytest.mark.parametrize("drafts", [1, 2])
def test_mtp_speculation_gives_the_same_greedy_output_when_drafts_are_rejected(model: torch.nn.Module,
                                                                              drafts: int) -> None:
    eng = engine(model, max_batch=3, num_speculative_tokens=drafts)
    requests = [eng.add(p, GREEDY) for p in PROMPTS]
    results = eng.run_until_done(requests)
    for request, prompt in zip(requests, PROMPTS, strict=True):
        assert results[request].token_ids == naive_greedy(model, prompt, 24)
    assert eng.stats.drafts > 0


@pytest.mark.parametrize("drafts", [1, 2])
@pytest.mark.parametrize("wrong_every", [0, 3])
def test_mtp_speculation_accepts_right_drafts_and_keeps_the_output(wrong_every: int, drafts: int) -> None:
    synthetic = successor_model(tiny(), mtp_wrong_every=wrong_every)
    plain = engine(synthetic).generate([5, 6, 7], GREEDY)
    eng = engine(synthetic, num_speculative_tokens=drafts)
    spec = eng.generate([5, 6, 7], GREEDY)
    assert spec.token_ids == plain.token_ids == list(range(8, 32))
    if wrong_every == 0:
        assert eng.stats.accepted == eng.stats.drafts
        assert eng.stats.verify_steps == math.ceil(23 / (drafts + 1))  # every step adds drafts + 1 tokens
    else:
        assert 0 < eng.stats.accepted < eng.stats.drafts


def test_seeded_sampling_is_reproducible_and_seeds_differ(model: torch.nn.Module) -> None:
    def run(seed: int) -> list[int]:
        return engine(model).generate(PROMPTS[1], SamplingParams(max_tokens=16, temperature=1.5, seed=seed,
                                                                 ignore_eos=True)).token_ids
    assert run(1) == run(1)
    assert run(1) != run(2)


def test_top_k_1_and_tiny_top_p_reduce_to_greedy(model: torch.nn.Module) -> None:
    greedy = engine(model).generate(PROMPTS[1], GREEDY).token_ids
    for params in (SamplingParams(max_tokens=24, temperature=2.0, top_k=1, seed=3, ignore_eos=True),
                   SamplingParams(max_tokens=24, temperature=0.7, top_p=1e-6, seed=3, ignore_eos=True)):
        assert engine(model).generate(PROMPTS[1], params).token_ids == greedy
        assert engine(model, num_speculative_tokens=1).generate(PROMPTS[1], params).token_ids == greedy


def test_stop_token_ends_the_sequence_and_eos_only_without_ignore_eos(model: torch.nn.Module) -> None:
    greedy = engine(model).generate(PROMPTS[1], GREEDY).token_ids
    stop_at = greedy[4]
    out = engine(model).generate(PROMPTS[1], SamplingParams(max_tokens=24, stop_token_ids=[stop_at], ignore_eos=True))
    assert out.token_ids == greedy[: greedy.index(stop_at) + 1] and out.finish_reason == "stop"
    eos_engine = Engine(model, settings=EngineSettings(max_context=128), eos_token_ids=[stop_at])
    assert eos_engine.generate(PROMPTS[1], SamplingParams(max_tokens=24)).finish_reason == "stop"
    assert eos_engine.generate(PROMPTS[1], SamplingParams(max_tokens=24, ignore_eos=True)).token_ids == greedy


class LetterTokenizer:
    """Token i decodes to one letter, so stop strings have something to match."""

    def incremental_decoder(self, *, skip_special_tokens: bool = True) -> LetterTokenizer:
        return self

    def step(self, token_id: int) -> str:
        return chr(ord("a") + token_id % 26)


def test_stop_string_cuts_the_text_and_is_never_streamed(model: torch.nn.Module) -> None:
    eng = Engine(model, LetterTokenizer(), EngineSettings(max_context=128))
    full = eng.generate(PROMPTS[1], GREEDY).text
    stop = full[6:8]
    request = eng.add(PROMPTS[1], SamplingParams(max_tokens=24, ignore_eos=True, stop=[stop]))
    streamed = []
    while eng.has_work():
        streamed += [u.text for u in eng.step() if u.request_id == request]
    assert "".join(streamed) == full[: full.index(stop)]


def test_logprobs_are_the_model_log_softmax_with_ranked_alternatives(model: torch.nn.Module) -> None:
    out = engine(model).generate(PROMPTS[1], SamplingParams(max_tokens=3, logprobs=True, top_logprobs=4))
    first = out.logprobs[0]
    with torch.no_grad():
        expected = torch.log_softmax(model(torch.tensor([PROMPTS[1]])).logits[0, -1], -1)
    assert math.isclose(first.logprob, float(expected[first.token_id]), abs_tol=1e-4)
    assert [t for t, _ in first.top] == expected.topk(4).indices.tolist()
    assert first.top[0][0] == first.token_id  # greedy picks the best


class EvenTokens:
    """A real constraint: only even token ids, finished after five tokens."""

    def __init__(self) -> None:
        self.count = 0

    def allowed_mask(self, vocab_size: int) -> torch.Tensor:
        return torch.arange(vocab_size) % 2 == 0

    def advance(self, token_id: int) -> None:
        assert token_id % 2 == 0
        self.count += 1

    def is_finished(self) -> bool:
        return self.count == 5


def test_constraint_mask_is_applied_and_its_end_stops_generation(model: torch.nn.Module) -> None:
    out = engine(model, num_speculative_tokens=1).generate(PROMPTS[0], GREEDY, constraint=EvenTokens())
    assert len(out.token_ids) == 5 and all(t % 2 == 0 for t in out.token_ids)
    assert out.finish_reason == "stop"


def test_bad_requests_are_named(model: torch.nn.Module) -> None:
    eng = engine(model)
    with pytest.raises(EngineError, match="prompt is empty"):
        eng.add([], GREEDY)
    with pytest.raises(EngineError, match=r"\[9999\] are outside the vocabulary"):
        eng.add([1, 9999], GREEDY)
    with pytest.raises(EngineError, match="the prompt has 200 tokens; the engine's context is 128"):
        eng.add([1] * 200, GREEDY)
    no_mtp = random_model(tiny(num_nextn_predict_layers=0))
    with pytest.raises(EngineError, match="num_nextn_predict_layers = 0"):
        engine(no_mtp, num_speculative_tokens=1)
    with pytest.raises(EngineError, match="num_speculative_tokens = 3, but the model has only 2 MTP layers"):
        engine(model, num_speculative_tokens=3)


def test_async_engine_streams_concurrent_requests_and_frees_abandoned_slots(model: torch.nn.Module) -> None:
    async def main() -> None:
        runner = AsyncEngine(engine(model, max_batch=2))
        try:
            results = await asyncio.gather(*(runner.generate(p, GREEDY) for p in PROMPTS))
            for result, prompt in zip(results, PROMPTS, strict=True):
                assert result.token_ids == naive_greedy(model, prompt, 24)
            stream = runner.stream(PROMPTS[0], SamplingParams(max_tokens=100, ignore_eos=True))
            async for _ in stream:
                break  # the caller goes away after one update
            await stream.aclose()
            for _ in range(100):
                if not runner.engine.has_work():
                    break
                await asyncio.sleep(0.02)
            assert not runner.engine.running and len(runner.engine.free_slots) == 2
            with pytest.raises(EngineError, match="prompt is empty"):
                await runner.generate([], GREEDY)
        finally:
            runner.close()
    asyncio.run(main())


class RecordingEngine(Engine):
    """Keeps every round's drafts with the confirmed tokens they were drafted from."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.rounds: list[tuple[list[int], list[int]]] = []

    def _draft(self, seq):  # type: ignore[no-untyped-def]
        confirmed = list(seq.tokens)
        drafts = super()._draft(seq)
        self.rounds.append((confirmed, drafts))
        return drafts


def uncached_drafts(model: torch.nn.Module, confirmed: list[int], n: int) -> list[int]:
    """The MTP chain recomputed from scratch over the whole sequence, drafts fed to later depths."""
    with torch.no_grad():
        ids = torch.tensor([confirmed[:-1]])
        prev = model(ids).hidden
        tokens = list(confirmed)
        drafts = []
        positions = torch.arange(len(confirmed) - 1)[None]
        for k in range(n):
            nxt = torch.tensor([tokens[k + 1: k + len(confirmed)]])
            out = model.mtp_forward(k, nxt, prev, positions)
            drafts.append(int(out.logits[0, -1].argmax()))
            tokens.append(drafts[-1])
            prev = out.hidden
    return drafts


def test_chained_mtp_drafts_equal_the_uncached_mtp_chain_across_accepts_and_rejects() -> None:
    synthetic = successor_model(tiny(), mtp_wrong_every=5)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():  # depth 1 also reads depth 0's output, so a wrong carry changes its drafts
        layer = synthetic.mtp[1]
        hidden = layer.eh_proj.weight.shape[0]
        layer.eh_proj.weight[:, hidden:] = torch.randn(hidden, hidden, generator=gen) * 2.0
        layer.self_attn.o_proj.weight.normal_(0, 0.5, generator=gen)  # and attends to its earlier entries
    eng = RecordingEngine(synthetic, settings=EngineSettings(max_context=128, num_speculative_tokens=2))
    out = eng.generate(list(range(5, 30)), GREEDY)
    assert out.token_ids == engine(synthetic).generate(list(range(5, 30)), GREEDY).token_ids
    assert 0 < eng.stats.accepted < eng.stats.drafts  # both paths ran
    for confirmed, drafts in eng.rounds:
        assert drafts == uncached_drafts(synthetic, confirmed, 2)


@pytest.mark.slow
def test_compiled_decode_step_gives_the_same_tokens(model: torch.nn.Module) -> None:
    """EngineSettings(compile=True): the decode step runs through torch.compile (one graph, the cache and
    expert work as opaque custom ops); prefill and speculation stay eager."""
    eng = engine(model, max_batch=2, compile=True)
    requests = [eng.add(p, GREEDY) for p in PROMPTS[:2]]
    results = eng.run_until_done(requests)
    for request, prompt in zip(requests, PROMPTS[:2], strict=True):
        assert results[request].token_ids == naive_greedy(model, prompt, 24)
    assert eng.generate(PROMPTS[2], GREEDY).token_ids == naive_greedy(model, PROMPTS[2], 24)  # batch 1 too
