"""The GUI operations' inputs and outputs, and the record of every step they take.

A step is recorded with what it targeted, what it did, the screenshots before and after, and the
post-condition it checked, so a reader (and the checks) can see what happened on the page without
re-running it. Secret values never appear here: a step that typed one records `••••` and the
name of the secret.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

Action = Literal["goto", "click", "fill", "select", "check", "uncheck", "press", "drag", "upload", "download",
                 "scroll", "wait", "expect", "read"]


class Target(BaseModel):
    """An element, by role and accessible name (or label, placeholder, visible text), or by snapshot ref."""

    name: str = Field("", description='accessible name, label or visible text: "Sign in"')
    role: str | None = Field(None, description="ARIA role when given: button, link, textbox, checkbox, tab, ...")
    ref: str | None = Field(None, description="a ref from the page snapshot (e12), what the host model uses")

    def describe(self) -> str:
        if self.ref:
            return f"[ref={self.ref}]"
        return f'{self.role} "{self.name}"' if self.role else f'"{self.name}"'


class Step(BaseModel):
    """One action, parsed from a step line of the task file or chosen by the host model."""

    action: Action
    target: Target | None = None
    to: Target | None = Field(None, description="drag: where to drop")
    value: str = Field("", description="fill: text; select: option; press: key; goto: URL; upload: file; "
                       "scroll: up/down; wait/expect: text to appear")
    secret: str | None = Field(None, description="fill: the name of the secret whose value is typed")
    text: str = Field("", description="the step as written, for the report")


class SecretRef(BaseModel):
    """Where a secret's value comes from; the value itself never enters a task file, log or trace."""

    env: str | None = Field(None, description="an environment variable")
    file: Path | None = Field(None, description="a file of KEY=value lines")
    key: str | None = Field(None, description="the key in `file` (default: the secret's name)")


class GuiInput(BaseModel):
    """What every GUI operation shares: where it may go, what it may use, how long it may take."""

    start_url: str = Field("", description="the page to open first; relative to the served app when `serve` is set")
    serve: Path | None = Field(None, description="a web app folder to serve on a free localhost port for the node: "
                               "its app.py (an ASGI `app`) or, without one, its static files")
    allow_domains: list[str] = Field(default_factory=lambda: ["localhost", "127.0.0.1"],
                                     description="hosts the browser may load anything from (a subdomain counts)")
    secrets: dict[str, SecretRef] = Field(default_factory=dict, description="named secrets the steps may type "
                                          "(`fill \"Password\" with secret password`)")
    max_steps: int = Field(50, ge=1, le=500, description="budget: actions taken, retries included")
    step_timeout_s: float = Field(5.0, gt=0, le=120, description="how long one action waits for its target")
    viewport: tuple[int, int] = (1024, 720)


class DoInput(GuiInput):
    steps: list[str] = Field(default_factory=list, description='step lines: click "Sign in", '
                             'fill "Email" with ada@example.org, download "Report"')
    goal: str = Field("", description="what to achieve, for the host model to act on when no steps are given")
    expect_in_download: list[str] = Field(default_factory=list, description="texts the downloaded file must "
                                          "contain (checked by `gui.downloads`): the values the form was given")


class StepRecord(BaseModel):
    index: int = Field(description="1-based")
    step: Step
    status: Literal["ok", "failed", "skipped"]
    attempts: int = 1
    url: str = ""
    before: Path | None = Field(None, description="screenshot before the action")
    after: Path | None = Field(None, description="screenshot after it")
    box: tuple[float, float, float, float] | None = Field(None, description="the acted element's box (x, y, w, h)")
    to_box: tuple[float, float, float, float] | None = Field(None, description="drag: the drop target's box")
    check: str = Field("", description="the post-condition checked, and what was seen")
    read: str | None = Field(None, description="read: the element's text (secrets masked)")
    error: str = ""
    duration_s: float = 0.0


class DoOutput(BaseModel):
    policy: str = Field(description="`steps` (deterministic grounding) or `host:<model>` (the host picked actions)")
    ok: bool
    final_url: str
    final_title: str = Field("", description="the page's <title> at the end (a page may have none)")
    final_snapshot: str = Field("", description="the page's ARIA snapshot at the end (empty for a blank page)")
    final_screenshot: Path
    downloads: list[Path] = Field(default_factory=list, description="files the steps downloaded, in the artifacts")
    expected_in_download: list[str] = Field(default_factory=list, description="the task's `expect_in_download`")
    steps: list[StepRecord]
    trace: Path = Field(description="steps.json: every step with its screenshots")
    blocked_requests: list[str] = Field(default_factory=list, description="URLs the page asked for outside "
                                        "`allow_domains`, not loaded")
    read: dict[str, str] = Field(default_factory=dict, description="what each `read \"name\"` step read, by the name "
                                 "it targeted (a later read of the same name wins): results to pass on")
    message: str = ""


class TutorialInput(DoInput):
    title: str = Field("Step-by-step tutorial", description="the tutorial's title")
    intro: str = Field("", description="a paragraph before the steps")


class TutorialPage(BaseModel):
    number: int
    instruction: str = Field(description="what the reader does, in words: Click **Sign in**")
    image: Path = Field(description="the annotated screenshot: a box and arrow on the element, the step number")
    source: Path = Field(description="the raw screenshot it was drawn on")
    check: str = Field("", description="what was seen after the step, for the reader to compare")


class TutorialOutput(DoOutput):
    title: str
    markdown: Path = Field(description="tutorial.md, its images beside it in tutorial/")
    html: Path = Field(description="tutorial.html, the same with the images inline")
    pages: list[TutorialPage]


SettingValue = bool | int | float | str


class ConfigureInput(GuiInput):
    steps: list[str] = Field(default_factory=list, description="step lines that reach the settings page "
                             "(sign in, open it); run first")
    settings: dict[str, SettingValue] = Field(min_length=1, description="setting (its label) → wanted value: "
                                              "true/false for a checkbox, an option for a list or radio group, "
                                              "text or a number for a field")
    save: str = Field("Save", description="the button that saves (its name, a partial match counts); empty: "
                      "the page saves by itself")
    verify: bool = Field(True, description="reload the page after saving and read every setting back")


class SettingResult(BaseModel):
    name: str
    tab: str = Field("", description="the tab it was found under, when the page has tabs")
    kind: str = Field("", description="checkbox, select, radio, text")
    before: SettingValue | None = None
    wanted: SettingValue
    after: SettingValue | None = Field(None, description="read back after saving (and reloading)")
    result: Literal["changed", "already set", "failed"]
    error: str = ""


class ConfigureOutput(DoOutput):
    results: list[SettingResult]
    changed: int
    failed: int
    diff: Path = Field(description="settings-diff.md: setting, tab, before, wanted, after, result")
