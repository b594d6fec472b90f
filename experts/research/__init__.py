"""The deep-research experts: ingestion, hybrid retrieval, evidence chains, comparisons, source tracing."""

from experts.research.expert import ExtractiveResearch, HostResearch

EXPERTS = [HostResearch, ExtractiveResearch]

__all__ = ["EXPERTS", "ExtractiveResearch", "HostResearch"]
