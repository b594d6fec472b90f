"""A test expert for the benchmarks that measure the machinery around experts (the UI, the bus): it
sleeps for as long as it is told and answers, so its only cost is its wait."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel

from agentos import ExpertContext, expert


class NapIn(BaseModel):
    seconds: float = 0.0
    value: int = 0


class NapOut(BaseModel):
    value: int


@expert(name="napper", domain="bench", capability="bench.nap", cost=0.0, latency_s=0.01)
async def napper(inputs: NapIn, ctx: ExpertContext) -> NapOut:
    """Sleeps `seconds` (at 0 it returns at once, without a turn of the event loop), then returns value + 1."""
    if inputs.seconds > 0:
        await asyncio.sleep(inputs.seconds)
    return NapOut(value=inputs.value + 1)
