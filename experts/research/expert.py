"""The research experts: one with the host model as writer, one extractive; the router picks.

Both offer `research.investigate`, `research.compare` and `research.trace` with the same inputs
and outputs, retrieval and checks. `research` needs a host that can write (an OpenAI-compatible
endpoint, or a model folder that is not the bundled task-graph planner) and is left out of
routing otherwise; `research-extractive` always runs. When the host's statements fail the checks,
the runtime retries the node on the other.
"""

from __future__ import annotations

from typing import Any, ClassVar

from agentos.sdk import Expert, ExpertContext, no_chat_host, operation
from experts.research import operations
from experts.research.checks import COMPARE_CHECKS, INVESTIGATE_CHECKS, TRACE_CHECKS
from experts.research.models import (
    CompareInput,
    CompareOutput,
    InvestigateInput,
    InvestigateOutput,
    TraceInput,
    TraceOutput,
)
from experts.research.writers import ExtractiveWriter, HostWriter, Writer


class _Research(Expert):
    domain = "research"
    writes_with_host: ClassVar[bool] = False

    def writer(self, ctx: ExpertContext) -> Writer:
        return HostWriter(ctx.host) if self.writes_with_host else ExtractiveWriter()

    @operation("research.investigate", cost=1.0, latency_s=20.0, checks=INVESTIGATE_CHECKS)
    async def investigate(self, inputs: InvestigateInput, ctx: ExpertContext) -> InvestigateOutput:
        """Question → sub-questions → retrieved evidence → conclusions, each citing the passages it rests on."""
        return await operations.investigate(inputs, ctx, self.writer(ctx))

    @operation("research.compare", cost=1.0, latency_s=40.0, checks=COMPARE_CHECKS)
    async def compare(self, inputs: CompareInput, ctx: ExpertContext) -> CompareOutput:
        """Options × criteria matrix, each cell cited or marked unknown, and a risk register with evidence."""
        return await operations.compare(inputs, ctx, self.writer(ctx))

    @operation("research.trace", cost=1.0, latency_s=20.0, checks=TRACE_CHECKS)
    async def trace(self, inputs: TraceInput, ctx: ExpertContext) -> TraceOutput:
        """The claims of a text traced to their sources: a summary, a reference list, unsourced claims flagged."""
        return await operations.trace(inputs, ctx, self.writer(ctx))


class ExtractiveResearch(_Research):
    """Deep research over local documents; statements are sentences quoted from the evidence (no model)."""

    name = "research-extractive"


class HostResearch(_Research):
    """Deep research over local documents; the host model writes the statements from the retrieved passages."""

    name = "research"
    writes_with_host = True

    def unavailable(self, host: Any) -> str | None:
        return no_chat_host(host)
