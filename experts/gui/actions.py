"""Carry out one `Step` on a page and check that it did what it says.

Targets are found the way a person reads a page: by ARIA role and accessible name, then by label,
placeholder and visible text, exact matches before partial ones, visible elements only. Each
action then checks a post-condition: a field reads back what was typed, a box is (un)checked, the
option is selected, a click changed the page, a download landed in the artifacts, the awaited text
is there. A step that fails its post-condition raises `StepFailed` with what was seen; the runner
retries it once and otherwise stops with the report.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experts.gui.models import Step, Target

CHANGE_WAIT_S = 2.0  # how long a click may take to change the page
CHANGE_POLL_S = 0.03  # how often it is looked for (each look is one ARIA snapshot, a few ms)
_NAMED_ROLES = ("button", "link", "textbox", "checkbox", "radio", "tab", "combobox", "menuitem", "switch", "option",
                "searchbox", "spinbutton", "slider", "listitem", "heading")


class StepFailed(Exception):
    """The action could not be done, or its post-condition does not hold; the message says what was seen."""


@dataclass
class Outcome:
    check: str
    box: tuple[float, float, float, float] | None = None
    download: Path | None = None
    to_box: tuple[float, float, float, float] | None = None
    element: Any = None  # the locator acted on (the runner masks it in screenshots when a secret went in)
    text: str | None = None  # read: the element's text


async def snapshot(page: Any) -> str:
    """The page's ARIA snapshot with element refs (`[ref=e12]`): what the host reads, what changes are seen in."""
    try:
        return await page.locator("body").aria_snapshot(mode="ai", timeout=5000)
    except Exception:  # a page mid-navigation has no body for a moment
        await page.wait_for_load_state()
        return await page.locator("body").aria_snapshot(mode="ai", timeout=5000)


def _candidates(page: Any, t: Target, exact: bool) -> list[Any]:
    if t.ref:
        return [page.locator(f"aria-ref={t.ref}")]
    if t.role:
        return [page.get_by_role(t.role, name=t.name, exact=exact)]
    return [page.get_by_label(t.name, exact=exact),
            *(page.get_by_role(role, name=t.name, exact=exact) for role in _NAMED_ROLES),
            page.get_by_placeholder(t.name, exact=exact), page.get_by_text(t.name, exact=exact),
            page.get_by_title(t.name, exact=exact)]


async def resolve(page: Any, t: Target, timeout_s: float) -> Any:
    """The element `t` names (the first visible match, exact names first); `StepFailed` listing what is there."""
    deadline = time.monotonic() + timeout_s
    while True:
        for exact in (True, False):
            for c in _candidates(page, t, exact):
                loc = c.filter(visible=True)
                if await loc.count():
                    return loc.first
            if t.ref:
                break
        if time.monotonic() >= deadline:
            raise StepFailed(f"nothing on the page is {t.describe()} (looked for a role and name, label, placeholder "
                             f"and text); named elements there: {await _named_elements(page)}")
        await asyncio.sleep(0.1)


async def _named_elements(page: Any, limit: int = 25) -> str:
    names = re.findall(r"- (\w+) \"([^\"]+)\"", await snapshot(page))
    shown = [f'{role} "{name}"' for role, name in names if role in _NAMED_ROLES][:limit]
    return ", ".join(shown) or "none"


async def _box(loc: Any) -> tuple[float, float, float, float] | None:
    try:
        b = await loc.bounding_box(timeout=1000)
    except Exception:
        return None
    return (b["x"], b["y"], b["width"], b["height"]) if b else None


_UNCOVERED_POINT = """e => {
  const r = e.getBoundingClientRect();
  for (const fy of [0.5, 0.25, 0.75, 0.1, 0.9]) for (const fx of [0.5, 0.25, 0.75, 0.1, 0.9]) {
    const x = r.left + fx * r.width, y = r.top + fy * r.height, hit = document.elementFromPoint(x, y);
    if (hit && (hit === e || e.contains(hit))) return {x: x - r.left, y: y - r.top};
  }
  return null;
}"""


async def _click(loc: Any, ms: float) -> None:
    """Click the element; when another element covers its middle, click a part of it that shows, as a person
    would (Playwright aims at the middle and waits for the cover to go). A navigation the click starts is
    not waited for here: a slow server (a form that runs a job) would time the click out; `_changed` sees it."""
    try:
        await loc.click(timeout=min(ms, 1500), no_wait_after=True)
    except Exception as exc:
        if "intercepts pointer events" not in str(exc):
            raise
        point = await loc.evaluate(_UNCOVERED_POINT)
        if point is None:
            raise StepFailed("the element is covered by another one everywhere") from None
        await loc.click(position=point, timeout=ms, no_wait_after=True)


async def _changed(page: Any, url: str, snap: str, navigating: list[Any] | None = None) -> bool:
    """Whether the page changed (its URL or what it shows) within CHANGE_WAIT_S; a page request the action
    started (`navigating`, filled by `_watching_navigation`) counts, though its answer may still be coming."""
    deadline = time.monotonic() + CHANGE_WAIT_S
    while time.monotonic() < deadline:
        await asyncio.sleep(CHANGE_POLL_S)
        if navigating:
            return True
        try:
            if page.url != url or await snapshot(page) != snap:
                return True
        except Exception:  # navigating: that is a change
            return True
    return False


@contextlib.contextmanager
def _watching_navigation(page: Any) -> Iterator[list[Any]]:
    """Collect the main frame's navigation requests while the block runs (a click that posts a form)."""
    seen: list[Any] = []

    def on_request(request: Any) -> None:
        if request.is_navigation_request() and request.frame == page.main_frame:
            seen.append(request)

    page.on("request", on_request)
    try:
        yield seen
    finally:
        page.remove_listener("request", on_request)


async def perform(page: Any, step: Step, *, value: str, timeout_s: float, downloads: Path,
                  base_url: str = "", masked: str = "", must_change: bool = True) -> Outcome:
    """Do `step` on `page` (`value`: the text to type, a secret already resolved); check its post-condition.

    `masked` is how the typed value may be shown in messages (`••••` for a secret).
    """
    shown = masked or value
    ms = timeout_s * 1000
    a = step.action
    if a == "goto":
        url = value if "://" in value or value.startswith(("data:", "about:")) else base_url.rstrip("/") + "/" + \
            value.lstrip("/")
        response = await page.goto(url, timeout=ms)
        status = response.status if response is not None else 200
        if status >= 400:
            raise StepFailed(f"{url} answered HTTP {status}")
        return Outcome(check=f"loaded {page.url} (HTTP {status})")
    if a in ("wait", "expect"):
        loc = page.get_by_text(value).filter(visible=True).first
        try:
            await loc.wait_for(state="visible", timeout=ms if a == "wait" else min(ms, 2000))
        except Exception:
            raise StepFailed(f'"{value}" is not on the page (url {page.url})') from None
        return Outcome(check=f'"{value}" is on the page', box=await _box(loc))
    if a == "scroll" and step.target is None:
        before = await page.evaluate("window.scrollY")
        await page.mouse.wheel(0, 600 if value != "up" else -600)
        await asyncio.sleep(0.2)
        after = await page.evaluate("window.scrollY")
        return Outcome(check=f"scrolled {value or 'down'} from y={before:.0f} to y={after:.0f}")
    assert step.target is not None
    loc = await resolve(page, step.target, timeout_s)
    box = await _box(loc)
    what = step.target.describe()
    if a == "click":
        url, snap = page.url, await snapshot(page)
        with _watching_navigation(page) as navigating:
            await _click(loc, ms)
            changed = await _changed(page, url, snap, navigating)
        if not changed:
            if must_change:
                raise StepFailed(f"clicking {what} changed nothing on the page")
            return Outcome(check=f"clicked {what} (it was already open)", box=box)
        return Outcome(check=f"clicked {what}; the page changed" + (f" (now {page.url})" if page.url != url else ""),
                       box=box)
    if a == "fill":
        await loc.fill(value, timeout=ms)
        got = await loc.input_value(timeout=ms)
        if got != value:
            raise StepFailed(f"{what} reads back {got!r}, not {shown!r}")
        return Outcome(check=f"{what} reads back {shown!r}", box=box, element=loc)
    if a == "select":
        chosen = await loc.select_option(label=value, timeout=ms)
        if not chosen:
            raise StepFailed(f"{what} has no option {value!r}")
        label = await loc.evaluate("e => e.selectedOptions[0] ? e.selectedOptions[0].label : ''")
        if label != value:
            raise StepFailed(f"{what} shows {label!r} selected, not {value!r}")
        return Outcome(check=f"{what} has {value!r} selected", box=box)
    if a in ("check", "uncheck"):
        await (loc.check if a == "check" else loc.uncheck)(timeout=ms)
        state = await loc.is_checked(timeout=ms)
        if state != (a == "check"):
            raise StepFailed(f"{what} is {'checked' if state else 'unchecked'} after {a}")
        return Outcome(check=f"{what} is {'checked' if state else 'unchecked'}", box=box)
    if a == "press":
        url, snap = page.url, await snapshot(page)
        await loc.press(value, timeout=ms)
        changed = await _changed(page, url, snap)
        return Outcome(check=f"pressed {value} in {what}; the page {'changed' if changed else 'did not change'}",
                       box=box)
    if a == "drag":
        assert step.to is not None
        target = await resolve(page, step.to, timeout_s)
        to_box = await _box(target)
        url, snap = page.url, await snapshot(page)
        await loc.drag_to(target, timeout=ms)
        if not await _changed(page, url, snap):
            raise StepFailed(f"dragging {what} to {step.to.describe()} changed nothing on the page")
        return Outcome(check=f"dragged {what} to {step.to.describe()}; the page changed", box=box, to_box=to_box)
    if a == "upload":
        path = Path(value)
        if not path.is_file():
            raise StepFailed(f"upload: {path} is not a file")
        await loc.set_input_files(str(path), timeout=ms)
        n = await loc.evaluate("e => e.files ? e.files.length : 0")
        if n != 1:
            raise StepFailed(f"{what} holds {n} files after the upload, not 1")
        return Outcome(check=f"{what} holds {path.name}", box=box)
    if a == "download":
        async with page.expect_download(timeout=ms) as info:
            await loc.click(timeout=ms)
        download = await info.value
        name = Path(download.suggested_filename).name or "download"
        dest = downloads / name
        await download.save_as(dest)
        if not dest.is_file() or dest.stat().st_size == 0:
            raise StepFailed(f"clicking {what} downloaded an empty file ({name})")
        return Outcome(check=f"downloaded {name} ({dest.stat().st_size} bytes)", box=box, download=dest)
    if a == "read":
        text = (await loc.inner_text(timeout=ms)).strip()
        return Outcome(check=f"read {len(text)} character(s) from {what}", box=box, text=text)
    if a == "scroll":
        await loc.scroll_into_view_if_needed(timeout=ms)
        return Outcome(check=f"{what} is in view", box=await _box(loc))
    raise StepFailed(f"unknown action {a}")
