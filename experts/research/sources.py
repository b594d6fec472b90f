"""Where a research operation reads from: local files always, URLs only from allowed domains.

The default is local files only. A URL is read when the task lists its host in `allow_domains`
(a subdomain counts); redirects are followed by hand so each hop is checked too. What is fetched
is saved in the node's artifact folder, so the evidence points at a file the checks (and a
reader) can open again, and the run keeps what it read.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from agentos.errors import ExpertError
from agentos.sdk import ExpertContext
from agentos.urls import host_allowed
from experts.research.models import CorpusInput
from experts.research.retrieval import CorpusIndex

CACHE_ENV = "AGENTOS_RESEARCH_CACHE"
MAX_FETCH_BYTES = 20 << 20
MAX_REDIRECTS = 5
_SUFFIX = {"text/html": ".html", "application/xhtml+xml": ".html", "application/pdf": ".pdf",
           "text/plain": ".txt", "text/markdown": ".md", "text/x-rst": ".rst"}


def index_cache_dir() -> Path | None:
    """`$AGENTOS_RESEARCH_CACHE` (`none`: no cache), else ~/.agentos/research/index."""
    value = os.environ.get(CACHE_ENV, "")
    if value.lower() == "none":
        return None
    return Path(value) if value else Path.home() / ".agentos" / "research" / "index"


def fetch(url: str, domains: list[str], folder: Path, timeout_s: float = 20.0) -> Path:
    """GET `url` (and allowed redirects) into `folder`; an `ExpertError` naming the URL otherwise."""
    import httpx

    if not domains:
        raise ExpertError(f"{url}: reading URLs is off; list its host in `allow_domains` to allow it")
    current = url
    with httpx.Client(timeout=timeout_s, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            if not host_allowed(current, domains):
                raise ExpertError(f"{current}: its host is not in allow_domains ({', '.join(domains)})")
            try:
                with client.stream("GET", current) as r:
                    if r.is_redirect and "location" in r.headers:
                        current = urljoin(current, r.headers["location"])
                        continue
                    if r.status_code != 200:
                        raise ExpertError(f"{current}: HTTP {r.status_code}")
                    body = b""
                    for part in r.iter_bytes():
                        body += part
                        if len(body) > MAX_FETCH_BYTES:
                            raise ExpertError(f"{current}: larger than {MAX_FETCH_BYTES >> 20} MiB; not read")
                    kind = r.headers.get("content-type", "").split(";")[0].strip().lower()
            except httpx.HTTPError as exc:
                raise ExpertError(f"{current}: cannot be read ({type(exc).__name__}: {exc})") from None
            suffix = _SUFFIX.get(kind) or Path(urlsplit(current).path).suffix.lower() or ".html"
            if suffix not in _SUFFIX.values():
                raise ExpertError(f"{current}: unsupported content type {kind or 'unknown'!r}")
            host = urlsplit(current).hostname or "host"
            target = folder / f"{host}-{hashlib.sha256(url.encode()).hexdigest()[:12]}{suffix}"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
            return target
    raise ExpertError(f"{url}: more than {MAX_REDIRECTS} redirects")


def open_index(inputs: CorpusInput, ctx: ExpertContext) -> tuple[CorpusIndex, dict[str, str]]:
    """The index over the task's files and allowed URLs, and each fetched document's URL by id."""
    if not inputs.corpus and not inputs.urls:
        raise ExpertError("no corpus: give `corpus` (files or folders) or `urls`")
    urls: dict[str, str] = {}
    extra: list[tuple[Path, str]] = []
    for url in inputs.urls:
        ctx.progress(None, f"reading {url}")
        path = fetch(url, inputs.allow_domains, ctx.artifacts.root / "sources")
        extra.append((path, url))
        urls[url] = url
    ctx.progress(None, "indexing the corpus")
    index = CorpusIndex.build(list(inputs.corpus), index_cache_dir(), extra=extra,
                              progress=lambda done, total: ctx.progress(done / total, f"embedding {total} chunks"))
    return index, urls
