"""Experts shipped with AgentOS, one sub-package each; the runtime reaches them only through the registry."""
