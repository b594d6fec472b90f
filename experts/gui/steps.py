"""Step lines of a task file, parsed into `Step`s: the deterministic path, no model involved.

    go to /login                          click "Sign in"            click link "Reports"
    fill "Email" with ada@example.org     fill "Password" with secret password
    select "Quarterly" in "Period"        check "Include charts"     uncheck "Send e-mail"
    press Enter                           press Enter in "Search"    drag "Card A" to "Done"
    upload data/logo.png to "Logo"        download "Download report" scroll down
    wait for "Saved"                      expect "Welcome, Ada"      read "Output"

A target is an accessible name in quotes, optionally after an ARIA role (`button "OK"`); at run
time it is found by role and name, then label, placeholder and visible text, exactly first. A
line that does not parse is an error naming the line and what was expected.
"""

from __future__ import annotations

import re

from agentos.errors import ExpertError
from experts.gui.models import Step, Target

ROLES = ("button", "link", "textbox", "checkbox", "radio", "tab", "combobox", "option", "menuitem", "heading",
         "listitem", "switch", "slider", "spinbutton", "searchbox", "cell", "row", "region", "dialog", "img")
_Q = r"[\"“]([^\"”]+)[\"”]"  # a quoted name
_TARGET = rf"(?:({'|'.join(ROLES)})\s+)?{_Q}"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [(a, re.compile(p, re.IGNORECASE)) for a, p in [
    ("goto", r"(?:go\s+to|goto|open|visit)\s+(\S+)"),
    ("click", rf"click(?:\s+on)?\s+{_TARGET}"),
    ("fill", rf"(?:fill|type\s+in|enter)\s+{_TARGET}\s+with\s+(.*)"),
    ("select", rf"(?:select|choose)\s+{_Q}\s+(?:in|from)\s+{_TARGET}"),
    ("check", rf"check\s+{_TARGET}"),
    ("uncheck", rf"uncheck\s+{_TARGET}"),
    ("press", rf"press\s+([\w+-]+)(?:\s+in\s+{_TARGET})?"),
    ("drag", rf"drag\s+{_TARGET}\s+(?:to|onto|into)\s+{_TARGET}"),
    ("upload", rf"upload\s+(?:{_Q}|(\S+))\s+(?:to|into)\s+{_TARGET}"),
    ("download", rf"download(?:\s+by\s+clicking)?\s+{_TARGET}"),
    ("scroll", rf"scroll\s+(?:(up|down)|to\s+{_TARGET})"),
    ("wait", rf"wait\s+for\s+{_Q}"),
    ("expect", rf"expect\s+{_Q}"),
    ("read", rf"read\s+{_TARGET}"),
]]
USAGE = ('go to URL | click [role] "name" | fill "name" with value (or: with secret NAME) | '
         'select "option" in "name" | check/uncheck "name" | press KEY [in "name"] | drag "a" to "b" | '
         'upload PATH to "name" | download "name" | scroll up/down | scroll to "name" | wait for "text" | '
         'expect "text" | read "name" (its text becomes a result)')


class StepSyntaxError(ExpertError):
    """A step line that does not parse; `why` is the short reason, the message adds the accepted forms."""

    def __init__(self, why: str):
        self.why = why
        super().__init__(f"{why}; the forms are: {USAGE}")


def _target(role: str | None, name: str | None) -> Target | None:
    return Target(role=role.lower() if role else None, name=name) if name else None


def parse_step(line: str) -> Step:
    """One step line as a `Step`; a `StepSyntaxError` that shows the accepted forms when it does not parse."""
    text = line.strip()
    for action, pattern in _PATTERNS:
        m = pattern.fullmatch(text)
        if m is None:
            continue
        g = m.groups()
        if action == "goto":
            return Step(action="goto", value=g[0], text=text)
        if action in ("click", "check", "uncheck", "download", "read"):
            return Step(action=action, target=_target(g[0], g[1]), text=text)  # type: ignore[arg-type]
        if action == "fill":
            value = g[2].strip()
            if s := re.fullmatch(r"secret\s+([A-Za-z_][\w-]*)", value, re.IGNORECASE):
                return Step(action="fill", target=_target(g[0], g[1]), secret=s.group(1), text=text)
            if q := re.fullmatch(_Q, value):
                value = q.group(1)
            return Step(action="fill", target=_target(g[0], g[1]), value=value, text=text)
        if action == "select":
            return Step(action="select", value=g[0], target=_target(g[1], g[2]), text=text)
        if action == "press":
            return Step(action="press", value=g[0], target=_target(g[1], g[2]), text=text)
        if action == "drag":
            return Step(action="drag", target=_target(g[0], g[1]), to=_target(g[2], g[3]), text=text)
        if action == "upload":
            return Step(action="upload", value=g[0] or g[1], target=_target(g[2], g[3]), text=text)
        if action == "scroll":
            return Step(action="scroll", value=(g[0] or "").lower(), target=_target(g[1], g[2]), text=text)
        return Step(action=action, value=g[0], text=text)  # type: ignore[arg-type]
    verb = text.split(maxsplit=1)[0].lower() if text else ""
    known = {"go", "goto", "open", "visit", "click", "fill", "type", "enter", "select", "choose", "check", "uncheck",
             "press", "drag", "upload", "download", "scroll", "wait", "expect", "read"}
    why = "does not fit any form" if verb in known else f"unknown action {verb!r}" if verb else "empty step"
    raise StepSyntaxError(why)


def parse_steps(lines: list[str]) -> list[Step]:
    """Every line parsed, or one `ExpertError` naming each line that is wrong (`steps[2]: ...`)."""
    steps, problems = [], []
    for i, line in enumerate(lines):
        try:
            steps.append(parse_step(line))
        except StepSyntaxError as exc:
            problems.append(f"steps[{i}] `{line}`: {exc.why}")
    if problems:
        raise ExpertError("; ".join(problems) + f". The forms are: {USAGE}")
    return steps
