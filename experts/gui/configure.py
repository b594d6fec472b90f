"""Apply a table of settings to a settings UI it has not seen before, then read every one back.

The page is read, not scripted: each setting is looked up by its label (a field, list, checkbox,
switch or radio group); when it is not on screen, the page's tabs are opened one by one until it
is. Its current value is read, changed only when it differs, and the change is a recorded step
with its own post-condition. After the save button, the page is loaded again and every setting is
found and read afresh, so the diff shows what the application really kept.
"""

from __future__ import annotations

import re
from typing import Any

from experts.gui.actions import snapshot
from experts.gui.models import SettingResult, SettingValue, Step, Target
from experts.gui.runner import Session

_TRUE = {"true", "on", "yes", "1", "checked", "enabled"}


async def _find(page: Any, name: str) -> Any | None:
    """The control labelled `name` on the visible page: a labelled field, a checkbox/switch, a radio group."""
    for exact in (True, False):
        for loc in (page.get_by_label(name, exact=exact), page.get_by_role("radiogroup", name=name, exact=exact),
                    page.get_by_role("group", name=name, exact=exact),
                    page.get_by_role("checkbox", name=name, exact=exact),
                    page.get_by_role("switch", name=name, exact=exact)):
            visible = loc.filter(visible=True)
            if await visible.count():
                return visible.first
    return None


async def _tabs(page: Any) -> list[str]:
    return re.findall(r'- tab "([^"]+)"', await snapshot(page))


async def locate(s: Session, name: str) -> tuple[Any | None, str]:
    """The setting's control and the tab it is under ("" when the page has no tabs)."""
    if (loc := await _find(s.page, name)) is not None:
        selected = re.findall(r'- tab "([^"]+)" \[selected\]', await snapshot(s.page))
        return loc, selected[0] if selected else ""
    for tab in await _tabs(s.page):
        record = await s.run_step(Step(action="click", target=Target(role="tab", name=tab), text=f'click tab "{tab}"'),
                                  must_change=False)
        if record.status != "ok":
            continue
        if (loc := await _find(s.page, name)) is not None:
            return loc, tab
    return None, ""


async def kind_of(loc: Any) -> str:
    info = await loc.evaluate("e => ({tag: e.tagName.toLowerCase(), type: (e.type || '').toLowerCase(), "
                              "role: e.getAttribute('role') || ''})")
    if info["type"] in ("checkbox", "radio") or info["role"] in ("checkbox", "switch"):
        return "checkbox"
    if info["tag"] == "select":
        return "select"
    if info["tag"] == "fieldset" or info["role"] in ("radiogroup", "group"):
        return "radio"
    return "text"


async def read(loc: Any, kind: str) -> SettingValue:
    if kind == "checkbox":
        return bool(await loc.is_checked())
    if kind == "select":
        return await loc.evaluate("e => e.selectedOptions[0] ? e.selectedOptions[0].label : ''")
    if kind == "radio":
        return await loc.evaluate("e => { const r = e.querySelector('input[type=radio]:checked'); "
                                  "return r ? (r.labels[0] ? r.labels[0].textContent.trim() : r.value) : ''; }")
    return await loc.input_value()


def normalise(value: SettingValue, kind: str) -> SettingValue:
    if kind == "checkbox":
        return value if isinstance(value, bool) else str(value).strip().lower() in _TRUE
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def step_for(name: str, kind: str, wanted: SettingValue) -> Step:
    t = Target(name=name)
    if kind == "checkbox":
        action = "check" if wanted else "uncheck"
        return Step(action=action, target=t, text=f'{action} "{name}"')
    if kind == "select":
        return Step(action="select", target=t, value=str(wanted), text=f'select "{wanted}" in "{name}"')
    if kind == "radio":
        return Step(action="check", target=Target(role="radio", name=str(wanted)), text=f'check radio "{wanted}"')
    return Step(action="fill", target=t, value=str(wanted), text=f'fill "{name}" with {wanted}')


async def apply(s: Session, name: str, wanted_raw: SettingValue) -> SettingResult:
    loc, tab = await locate(s, name)
    if loc is None:
        tabs = await _tabs(s.page)
        where = f"any of the tabs {', '.join(tabs)}" if tabs else "the page"
        return SettingResult(name=name, wanted=wanted_raw, result="failed", error=f"no control labelled {name!r} in "
                             f"{where}")
    kind = await kind_of(loc)
    wanted = normalise(wanted_raw, kind)
    before = await read(loc, kind)
    if before == wanted:
        return SettingResult(name=name, tab=tab, kind=kind, before=before, wanted=wanted, after=before,
                             result="already set")
    record = await s.run_step(step_for(name, kind, wanted))
    if record.status != "ok":
        return SettingResult(name=name, tab=tab, kind=kind, before=before, wanted=wanted, result="failed",
                             error=record.error)
    return SettingResult(name=name, tab=tab, kind=kind, before=before, wanted=wanted, after=await read(loc, kind),
                         result="changed")


async def read_back(s: Session, results: list[SettingResult]) -> None:
    """Every setting found and read again (after a reload), its result failed when it did not keep the value."""
    for r in results:
        if r.result == "failed":
            continue
        loc, _ = await locate(s, r.name)
        if loc is None:
            r.result, r.error = "failed", "not found again after saving"
            continue
        r.after = await read(loc, r.kind)
        if r.after != r.wanted:
            r.result, r.error = "failed", f"reads back {r.after!r} after saving, not {r.wanted!r}"


def diff_table(results: list[SettingResult]) -> str:
    def show(v: SettingValue | None) -> str:
        if v is None:
            return "–"
        return "on" if v is True else "off" if v is False else f"`{v}`" if v != "" else "(empty)"

    lines = ["| setting | tab | before | wanted | after | result |", "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r.name} | {r.tab or '–'} | {show(r.before)} | {show(r.wanted)} | {show(r.after)} | "
              f"{r.result}{': ' + r.error if r.error else ''} |" for r in results]
    changed = sum(r.result == "changed" for r in results)
    failed = sum(r.result == "failed" for r in results)
    return "\n".join([f"# Settings: {changed} changed, {len(results) - changed - failed} already set, {failed} failed",
                      "", *lines, ""])


def save_step(name: str) -> Step:
    return Step(action="click", target=Target(name=name), text=f'click "{name}"')


def reload_step(url: str) -> Step:
    return Step(action="goto", value=url, text="reload the page")

