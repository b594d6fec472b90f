"""A real Chromium under Playwright, fenced in: allowed hosts only, downloads into the artifacts.

Chromium is the system's (Debian's `chromium` package, installed by `scripts/setup.sh`), passed to
Playwright as `executable_path`; `playwright install` is never needed. `$AGENTOS_CHROMIUM` points
at another build. Every request the page makes goes through a route that lets through only http(s)
to `allow_domains` (plus data:, blob: and about: pages the page makes itself); what it blocks is
listed in the output, so a step that fails because of the fence says so.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import TracebackType
from typing import Any

from agentos.errors import ExpertError
from agentos.urls import host_allowed

CHROMIUM_ENV = "AGENTOS_CHROMIUM"
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# root in a container needs --no-sandbox; the rest keeps a headless run quiet and offline
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def find_chromium() -> str:
    """The Chromium to drive: `$AGENTOS_CHROMIUM`, else the first of chromium/chrome on PATH."""
    if value := os.environ.get(CHROMIUM_ENV):
        if not Path(value).is_file():
            raise ExpertError(f"${CHROMIUM_ENV} is {value}, which is not a file")
        return value
    for name in _CANDIDATES:
        if found := shutil.which(name):
            return found
    raise ExpertError("no Chromium found (looked for chromium, chromium-browser, google-chrome on PATH): run "
                      "scripts/setup.sh, or `apt-get install chromium`, or set $AGENTOS_CHROMIUM to a Chrome binary")


def playwright_installed() -> bool:
    from importlib.util import find_spec

    return find_spec("playwright") is not None


class Browser:
    """One headless Chromium with one page, for one node; `async with Browser(...) as b: b.page`."""

    def __init__(self, allow_domains: list[str], downloads: Path, *, viewport: tuple[int, int] = (1024, 720),
                 allow_files: bool = False):
        self.allow_domains = allow_domains
        self.downloads = downloads
        self.viewport = viewport
        self.allow_files = allow_files  # file:// pages (the MiniWoB benchmark); never for a task
        self.blocked: list[str] = []
        self._pw: Any = None
        self._browser: Any = None
        self.context: Any = None
        self.page: Any = None

    def allows(self, url: str) -> bool:
        scheme = url.split(":", 1)[0].lower()
        if scheme in ("data", "blob", "about"):
            return True
        if scheme == "file":
            return self.allow_files
        return host_allowed(url, self.allow_domains)

    async def __aenter__(self) -> Browser:
        if not playwright_installed():
            raise ExpertError("the GUI expert needs Playwright: pip install 'agentos[gui]' (the browser itself is the "
                              "system Chromium; do not run `playwright install`)")
        from playwright.async_api import async_playwright

        executable = find_chromium()
        self._pw = await async_playwright().start()
        try:
            self._browser = await self._pw.chromium.launch(executable_path=executable, headless=True,
                                                           args=LAUNCH_ARGS)
        except Exception as exc:
            await self._pw.stop()
            raise ExpertError(f"Chromium at {executable} did not start: {str(exc).splitlines()[0]}") from None
        self.downloads.mkdir(parents=True, exist_ok=True)
        self.context = await self._browser.new_context(
            accept_downloads=True, viewport={"width": self.viewport[0], "height": self.viewport[1]})
        await self.context.route("**/*", self._guard)
        self.page = await self.context.new_page()
        return self

    async def _guard(self, route: Any) -> None:
        url = route.request.url
        if self.allows(url):
            await route.continue_()
        else:
            self.blocked.append(url)
            await route.abort("blockedbyclient")

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            if self._browser is not None:
                await self._browser.close()
        finally:
            if self._pw is not None:
                await self._pw.stop()
