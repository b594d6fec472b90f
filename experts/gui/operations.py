"""The GUI operations: `gui.do` runs steps (or lets the host pursue a goal) and reports the final state;
`gui.tutorial` also writes the steps up; `gui.configure` applies a table of settings and reads it back."""

from __future__ import annotations

from agentos.errors import ExpertError
from agentos.sdk import ExpertContext, no_chat_host
from experts.gui import configure as settings_ui
from experts.gui import policy, tutorial
from experts.gui.models import (
    ConfigureInput,
    ConfigureOutput,
    DoInput,
    DoOutput,
    GuiInput,
    SettingResult,
    Step,
    TutorialInput,
    TutorialOutput,
)
from experts.gui.runner import Session, session
from experts.gui.steps import parse_steps


def _opening(inputs: GuiInput) -> list[Step]:
    return [Step(action="goto", value=inputs.start_url, text=f"go to {inputs.start_url}")] if inputs.start_url else []


async def run_steps(s: Session, steps: list[Step], ctx: ExpertContext) -> bool:
    """Every step in order; after a failure the rest are recorded as skipped. True when all passed."""
    for i, step in enumerate(steps):
        ctx.raise_if_cancelled()
        ctx.progress(i / len(steps), f"step {i + 1}/{len(steps)}: {step.text}")
        record = await s.run_step(step)
        if record.status != "ok":
            for rest in steps[i + 1:]:
                s.skipped(rest)
            return False
    return True


async def finish(s: Session, policy: str, ok: bool, expected: list[str], note: str = "") -> DoOutput:
    failed = next((r for r in s.records if r.status == "failed"), None)
    message = note or (f"step {failed.index} `{failed.step.text}` failed: {failed.error}" if failed else
                       f"{len(s.records)} step(s) done")
    if s.browser.blocked:
        message += f"; blocked {len(s.browser.blocked)} request(s) outside allow_domains: {s.browser.blocked[0]}"
    return DoOutput(policy=policy, ok=ok, final_url=s.page.url, final_title=await s.page.title(),
                    final_snapshot=await s.final_snapshot(), final_screenshot=await s.screenshot("final.png"),
                    downloads=sorted(p for p in s.browser.downloads.iterdir() if p.is_file()),
                    expected_in_download=expected, steps=s.records, trace=s.write_trace(),
                    blocked_requests=list(s.browser.blocked), message=message,
                    read={r.step.target.name: r.read for r in s.records
                          if r.read is not None and r.step.target is not None})


def _steps(inputs: DoInput) -> list[Step]:
    if not inputs.steps:
        raise ExpertError("give `steps` (step lines) to run" + (" (a tutorial is written from steps; a `goal` alone "
                          "is for gui.do with a host model)" if inputs.goal else ""))
    return _opening(inputs) + parse_steps(inputs.steps)


async def do(inputs: DoInput, ctx: ExpertContext) -> DoOutput:
    if inputs.steps or not inputs.goal:
        steps = _steps(inputs)
        async with session(inputs, ctx) as s:
            ok = await run_steps(s, steps, ctx)
            return await finish(s, "steps", ok, inputs.expect_in_download)
    if why := no_chat_host(ctx.host):
        raise ExpertError(f"a goal without `steps` needs a host model to pick the actions: {why}; or give step lines")
    async with session(inputs, ctx) as s:
        ok, note = await run_steps(s, _opening(inputs), ctx), ""
        if ok:
            ok, note = await policy.pursue(s, inputs.goal, ctx.host)
        return await finish(s, f"host:{getattr(ctx.host, 'name', type(ctx.host).__name__)}", ok,
                            inputs.expect_in_download, note)


async def make_tutorial(inputs: TutorialInput, ctx: ExpertContext) -> TutorialOutput:
    steps = _steps(inputs)
    async with session(inputs, ctx) as s:
        ok = await run_steps(s, steps, ctx)
        done = await finish(s, "steps", ok, inputs.expect_in_download)
    ctx.progress(None, "annotating screenshots")
    written = tutorial.pages(done.steps, ctx, s.base_url)
    markdown, page = tutorial.write(ctx, inputs.title, inputs.intro, written, "" if done.ok else done.message)
    return TutorialOutput(**done.model_dump(), title=inputs.title, markdown=markdown, html=page, pages=written)


async def configure(inputs: ConfigureInput, ctx: ExpertContext) -> ConfigureOutput:
    prelude = _opening(inputs) + parse_steps(inputs.steps)
    names = list(inputs.settings)
    async with session(inputs, ctx) as s:
        ok = await run_steps(s, prelude, ctx) if prelude else True
        if not ok:
            results = [SettingResult(name=n, wanted=inputs.settings[n], result="failed",
                                     error="the steps that reach the settings failed") for n in names]
        else:
            results = []
            for i, name in enumerate(names):
                ctx.raise_if_cancelled()
                ctx.progress(i / len(names), f"setting {i + 1}/{len(names)}: {name}")
                results.append(await settings_ui.apply(s, name, inputs.settings[name]))
            if inputs.save:
                saved = await s.run_step(settings_ui.save_step(inputs.save))
                if saved.status != "ok":
                    for r in results:
                        if r.result == "changed":
                            r.result, r.error = "failed", f"not saved: {saved.error}"
            if inputs.verify:
                ctx.progress(None, "reading the settings back")
                await s.run_step(settings_ui.reload_step(s.page.url))
                await settings_ui.read_back(s, results)
        failed = sum(r.result == "failed" for r in results)
        done = await finish(s, "steps", ok and not failed, [])
    diff = ctx.artifacts.write_text("settings-diff.md", settings_ui.diff_table(results))
    return ConfigureOutput(**done.model_dump(), results=results, changed=sum(r.result == "changed" for r in results),
                           failed=failed, diff=diff)
