"""Small real experts the runtime tests drive: they sleep, fail on purpose, log what they did.

Importable by subprocesses too (`AGENTOS_EXPERT_MODULES=support_experts` with tests/ on PYTHONPATH).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from pydantic import BaseModel

from agentos import Expert, ExpertContext, ExpertError, expert, operation


class StepIn(BaseModel):
    value: int = 0
    delay: float = 0.0
    log: str | None = None  # append "start <node>" / "end <node>" lines here
    fail_times: int = 0  # fail this many attempts first (counted in a file next to the log)


class StepOut(BaseModel):
    value: int
    started: float
    finished: float
    pid: int


def _log(path: str | None, line: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())


@expert(name="stepper", domain="test", capability="test.step", cost=1.0, latency_s=0.1)
async def stepper(inputs: StepIn, ctx: ExpertContext) -> StepOut:
    """Waits `delay` seconds, then returns value + 1; can fail its first `fail_times` attempts."""
    t0 = time.time()
    _log(inputs.log, f"start {ctx.node_id}")
    if inputs.fail_times and ctx.attempt <= inputs.fail_times:
        raise ExpertError(f"planned failure {ctx.attempt} of {inputs.fail_times}")
    await asyncio.sleep(inputs.delay)
    ctx.artifacts.write_text("value.txt", str(inputs.value + 1))
    _log(inputs.log, f"end {ctx.node_id}")
    return StepOut(value=inputs.value + 1, started=t0, finished=time.time(), pid=os.getpid())


class TextIn(BaseModel):
    text: str


class TextOut(BaseModel):
    text: str


class Echo(Expert):
    """Returns its text; `quiet-echo` returns nothing, which the non-empty check rejects."""

    name = "loud-echo"
    domain = "test"

    @operation("test.echo", cost=0.5)
    async def echo(self, inputs: TextIn, ctx: ExpertContext) -> TextOut:
        return TextOut(text=inputs.text)


class QuietEcho(Expert):
    name = "quiet-echo"
    domain = "test"

    @operation("test.echo", cost=0.1)  # cheaper, so the deterministic router tries it first
    async def echo(self, inputs: TextIn, ctx: ExpertContext) -> TextOut:
        return TextOut(text="")


class Sleeper(Expert):
    """A blocking (sync) expert: runs in a worker thread and reports progress from there."""

    name = "sleeper"
    domain = "test"

    @operation("test.block")
    def block(self, inputs: StepIn, ctx: ExpertContext) -> StepOut:
        t0 = time.time()
        for i in range(4):
            time.sleep(inputs.delay / 4)
            ctx.progress((i + 1) / 4, f"quarter {i + 1}")
        return StepOut(value=inputs.value, started=t0, finished=time.time(), pid=os.getpid())


@expert(name="crasher", domain="test", capability="test.crash")
async def crasher(inputs: StepIn, ctx: ExpertContext) -> StepOut:
    """Has a bug: divides by zero."""
    return StepOut(value=inputs.value // 0, started=0, finished=0, pid=0)


class ReadIn(BaseModel):
    path: Path
    folder: Path | None = None


class ReadOut(BaseModel):
    text: str
    read_from: str
    folder_files: list[str] = []


@expert(name="reader", domain="test", capability="test.read")
async def reader(inputs: ReadIn, ctx: ExpertContext) -> ReadOut:
    """Reads a text file (and lists a folder): an expert whose inputs are files on the caller's machine."""
    files = sorted(str(p.relative_to(inputs.folder)) for p in inputs.folder.rglob("*") if p.is_file()) \
        if inputs.folder else []
    return ReadOut(text=inputs.path.read_text(encoding="utf-8"), read_from=str(inputs.path), folder_files=files)


EXPERTS = [stepper, Echo, QuietEcho, Sleeper, crasher, reader]


def log_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []
