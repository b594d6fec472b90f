"""The GUI expert: a real Chromium driven by Playwright, by step lines (no model) or by the host model."""

from __future__ import annotations

from agentos.sdk import Expert, ExpertContext, operation
from experts.gui import operations
from experts.gui.checks import CONFIGURE_CHECKS, DO_CHECKS, TUTORIAL_CHECKS
from experts.gui.models import (
    ConfigureInput,
    ConfigureOutput,
    DoInput,
    DoOutput,
    TutorialInput,
    TutorialOutput,
)


class GuiExpert(Expert):
    """Operates web pages in a headless Chromium: logs in, fills forms, downloads files, drags, configures."""

    name = "gui"
    domain = "gui"

    @operation("gui.do", cost=1.0, latency_s=15.0, checks=DO_CHECKS)
    async def do(self, inputs: DoInput, ctx: ExpertContext) -> DoOutput:
        """Run step lines (`click "Sign in"`, `fill "Email" with ...`) in the browser, each checked; report the
        final page, the downloads and a trace with before/after screenshots."""
        return await operations.do(inputs, ctx)

    @operation("gui.tutorial", cost=1.0, latency_s=20.0, checks=TUTORIAL_CHECKS)
    async def tutorial(self, inputs: TutorialInput, ctx: ExpertContext) -> TutorialOutput:
        """Run the steps and write a Markdown and HTML tutorial: one numbered instruction and one annotated
        screenshot (a box and arrow on the element acted on) per step."""
        return await operations.make_tutorial(inputs, ctx)

    @operation("gui.configure", cost=1.0, latency_s=30.0, checks=CONFIGURE_CHECKS)
    async def configure(self, inputs: ConfigureInput, ctx: ExpertContext) -> ConfigureOutput:
        """Apply a table of settings (label → value) to a settings UI, opening its tabs to find each one, save,
        reload and read every setting back; a diff of what changed, what was already set and what failed."""
        return await operations.configure(inputs, ctx)
