"""The GUI operations' consistency checks, run by the runtime on every output.

They read the files the output names (screenshots, downloads) rather than trusting its flags, so
a run that says "ok" without the evidence on disk fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, ImageChops

from agentos.checks import NodeOutcome, OutputCheck
from experts.gui.models import ConfigureOutput, DoOutput, TutorialOutput


class StepsDone(OutputCheck):
    """Every step passed its post-condition, and each has its before/after screenshots on disk. Under the
    host's policy an action may fail along the way (the host hears why and tries another), but the run
    must end with the host saying the goal is reached."""

    name = "gui.steps"
    what = "step(s) done and checked"
    kind = DoOutput

    def inspect(self, out: Any, outcome: NodeOutcome) -> tuple[int, list[str]]:
        problems = []
        exploring = out.policy.startswith("host:")
        for r in out.steps:
            if r.status == "failed" and exploring:
                continue
            if r.status == "failed":
                problems.append(f"step {r.index} `{r.step.text}` failed: {r.error}")
            elif r.status == "skipped":
                problems.append(f"step {r.index} `{r.step.text}` was skipped")
            elif not (r.before and r.after and Path(r.before).is_file() and Path(r.after).is_file()):
                problems.append(f"step {r.index} has no before/after screenshots on disk")
        if not out.ok and not problems:  # every action worked, but the goal was not reached
            problems.append(out.message or "the run did not reach its goal")
        return len(out.steps), problems


class DownloadsHold(OutputCheck):
    """Every download is a non-empty file in the node's artifacts holding each `expect_in_download` text."""

    name = "gui.downloads"
    what = "download check(s)"
    kind = DoOutput

    def inspect(self, out: Any, outcome: NodeOutcome) -> tuple[int, list[str]]:
        problems = []
        artifacts = (outcome.run_dir / "artifacts" / outcome.node_id).resolve()
        texts = []
        for f in out.downloads:
            p = Path(f).resolve()
            if not p.is_relative_to(artifacts):
                problems.append(f"{p} is outside the node's artifact folder")
            elif not p.is_file() or p.stat().st_size == 0:
                problems.append(f"{p.name} is missing or empty")
            else:
                texts.append(p.read_bytes().decode("utf-8", errors="replace"))
        if out.expected_in_download and not out.downloads:
            problems.append("nothing was downloaded, but the task expects a file")
        elif texts:
            problems += [f"no download contains {want!r}" for want in out.expected_in_download
                         if not any(want in t for t in texts)]
        total = len(out.downloads) + len(out.expected_in_download)
        return total, problems


class TutorialComplete(OutputCheck):
    """One annotated screenshot per step done, each on disk and drawn on (it differs from the raw screenshot),
    and the Markdown names every image."""

    name = "gui.tutorial"
    what = "annotated step(s)"
    kind = TutorialOutput

    def inspect(self, out: Any, outcome: NodeOutcome) -> tuple[int, list[str]]:
        done = [r.index for r in out.steps if r.status == "ok"]
        problems = [] if [p.number for p in out.pages] == done else [
            f"the tutorial has pages for steps {[p.number for p in out.pages]}, but steps {done} were done"]
        markdown = Path(out.markdown).read_text(encoding="utf-8") if Path(out.markdown).is_file() else ""
        for p in out.pages:
            if not Path(p.image).is_file():
                problems.append(f"step {p.number}: {p.image} is missing")
                continue
            with Image.open(p.image) as drawn, Image.open(p.source) as raw:
                if ImageChops.difference(drawn.convert("RGB"), raw.convert("RGB")).getbbox() is None:
                    problems.append(f"step {p.number}: the screenshot has no annotation on it")
            if f"tutorial/{Path(p.image).name}" not in markdown:
                problems.append(f"step {p.number}: tutorial.md does not show {Path(p.image).name}")
        return max(1, len(out.pages)), problems


class SettingsReadBack(OutputCheck):
    """Every setting reads back as requested after saving (and reloading, when `verify` was on)."""

    name = "gui.settings"
    what = "setting(s) read back as requested"
    kind = ConfigureOutput

    def inspect(self, out: Any, outcome: NodeOutcome) -> tuple[int, list[str]]:
        problems = [f"{r.name}: {r.error or f'reads {r.after!r}, not {r.wanted!r}'}" for r in out.results
                    if r.result == "failed" or r.after != r.wanted]
        return len(out.results), problems


DO_CHECKS = [StepsDone(), DownloadsHold()]
TUTORIAL_CHECKS = [*DO_CHECKS, TutorialComplete()]
CONFIGURE_CHECKS = [StepsDone(), SettingsReadBack()]
