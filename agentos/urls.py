"""Which URLs an expert may reach: http(s) on a listed host, a subdomain counting as its parent.

Shared by every expert that reads from or drives the network (research URL reading, the GUI
browser), so "allowed" means one thing everywhere.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def host_allowed(url: str, domains: list[str]) -> bool:
    """`url` is http(s) and its host is one of `domains` or a subdomain of one."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme in ("http", "https") and any(
        host == d.lower().strip(".") or host.endswith("." + d.lower().strip(".")) for d in domains)
