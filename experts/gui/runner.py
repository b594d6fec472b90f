"""Run steps in the browser and record each one: screenshots before and after, the post-condition, timing.

The runner owns the fences: the step budget (`max_steps` actions, retries included), downloads
saved under the node's artifacts, secrets typed but masked in screenshots and scrubbed from every
message. A step that fails is retried once; if it fails again the remaining steps are skipped and
the output says which step failed and why (the trace and screenshots so far are kept).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from agentos.errors import ExpertError
from agentos.sdk import ExpertContext
from experts.gui.actions import Outcome, StepFailed, perform, snapshot
from experts.gui.browser import Browser
from experts.gui.models import GuiInput, Step, StepRecord
from experts.gui.secrets import MASK, resolve_secrets, scrub
from experts.gui.serve import serve

RETRIES = 1


@dataclass
class Session:
    """A browser on the node's page, with what the steps need to know about where they are."""

    browser: Browser
    ctx: ExpertContext
    inputs: GuiInput
    base_url: str
    secrets: dict[str, str]
    records: list[StepRecord] = field(default_factory=list)
    actions_taken: int = 0
    _secret_fields: list[Any] = field(default_factory=list)

    @property
    def page(self) -> Any:
        return self.browser.page

    async def screenshot(self, name: str) -> Any:
        """The page as it shows now; one that is navigating (a form still posting) is waited for first."""
        path = self.ctx.artifacts.path(f"steps/{name}")
        mask = [self.page.locator("input[type=password]"), *self._secret_fields]
        for attempt in range(3):
            try:
                await self.page.screenshot(path=str(path), mask=mask, animations="disabled")
                return path
            except Exception as exc:
                if "context was destroyed" not in str(exc) or attempt == 2:
                    raise
                await self.page.wait_for_load_state(timeout=self.inputs.step_timeout_s * 1000)
        return path

    async def run_step(self, step: Step, *, must_change: bool = True, retries: int = RETRIES) -> StepRecord:
        """Do one step (retrying once), record it and return the record. `must_change=False`: a click may leave
        the page as it was (opening a tab that is already open); `retries=0` for the host, which decides itself."""
        index = len(self.records) + 1
        value = step.value
        masked = ""
        if step.secret is not None:
            if step.secret not in self.secrets:
                raise ExpertError(f"step {index} `{step.text}`: no secret named {step.secret!r} (the task's "
                                  f"`secrets` has: {', '.join(self.secrets) or 'none'})")
            value, masked = self.secrets[step.secret], MASK
        before = await self.screenshot(f"{index:02d}-before.png")
        started = time.perf_counter()
        error, outcome, attempts = "", None, 0
        for attempt in range(1 + retries):
            if self.actions_taken >= self.inputs.max_steps:
                error = f"the step budget ({self.inputs.max_steps} actions, retries included) is spent"
                break
            self.actions_taken += 1
            attempts = attempt + 1
            try:
                outcome = await perform(self.page, step, value=value, timeout_s=self.inputs.step_timeout_s,
                                        downloads=self.browser.downloads,
                                        base_url=self.base_url, masked=masked, must_change=must_change)
                break
            except StepFailed as exc:
                error = str(exc)
            except Exception as exc:  # Playwright's own errors: a timeout, a detached element
                error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        if outcome is not None and step.secret is not None and outcome.element is not None:
            self._secret_fields.append(outcome.element)
        after = await self.screenshot(f"{index:02d}-after.png")
        record = self._record(index, step, outcome, error, attempts, before, after, time.perf_counter() - started)
        self.records.append(record)
        return record

    def _record(self, index: int, step: Step, outcome: Outcome | None, error: str, attempts: int, before: Any,
                after: Any, seconds: float) -> StepRecord:
        ok = outcome is not None
        return StepRecord(index=index, step=step, status="ok" if ok else "failed", attempts=attempts,
                          url=self.page.url, before=before, after=after, box=outcome.box if outcome else None,
                          to_box=outcome.to_box if outcome else None,
                          check=scrub(outcome.check, self.secrets) if outcome else "",
                          read=scrub(outcome.text, self.secrets) if outcome and outcome.text is not None else None,
                          error="" if ok else scrub(error, self.secrets), duration_s=round(seconds, 3))

    def skipped(self, step: Step) -> StepRecord:
        record = StepRecord(index=len(self.records) + 1, step=step, status="skipped", url=self.page.url)
        self.records.append(record)
        return record

    async def final_snapshot(self) -> str:
        return scrub(await snapshot(self.page), self.secrets)

    def write_trace(self) -> Any:
        data = {"blocked_requests": self.browser.blocked, "steps": [r.model_dump(mode="json") for r in self.records]}
        return self.ctx.artifacts.write_text("steps.json", scrub(json.dumps(data, indent=2), self.secrets))


@asynccontextmanager
async def session(inputs: GuiInput, ctx: ExpertContext) -> AsyncIterator[Session]:
    """Serve the app (when asked), start Chromium, open `start_url`; closed whatever happens."""
    secrets = resolve_secrets(inputs.secrets)
    with serve(inputs.serve) if inputs.serve is not None else nullcontext("") as base_url:
        browser = Browser(inputs.allow_domains, ctx.artifacts.root / "downloads", viewport=inputs.viewport)
        async with browser:
            s = Session(browser, ctx, inputs, base_url, secrets)
            yield s
