"""The voice showcase's project runner: a desktop in the browser that opens a project and runs its scripts.

Served by the GUI expert (`serve: runner`) on a free localhost port. The "Projects" window lists the
folders under `projects/` (or `$AGENTOS_RUNNER_PROJECTS`); a project's window lists its files and has a
"Run <stem>" button per `*.py` script; running one shows its output in the "Output" region: a status line
named "Result" ("primes.py exited with code 0 in 0.04 s") and what the script printed, named "Console".

The sandbox (`run_sandboxed`) copies the project into a fresh temporary folder, so a script cannot
change the bundled project, and runs `python -I <script>` there with a minimal environment (PATH,
LANG, PYTHONIOENCODING, HOME = the temporary folder), stdin from /dev/null, in a session of its own.
A wall-clock limit (5 s; `$AGENTOS_RUNNER_TIME_LIMIT_S` overrides it) kills the whole process group;
rlimits cap CPU time, address space (1 GiB), file size (16 MiB) and open files (64), set by a shim
that then execs the script (`preexec_fn` is unsafe in a threaded server like this one). Where
`unshare --net --map-root-user` works (probed once), the script gets a network namespace of its own
with no interface up: no network, not even localhost; elsewhere it runs without, and the page says so.
Output (stdout and stderr together) is kept up to 64 KiB.
Limits: this keeps honest scripts from harming the demo; it is no jail for hostile code, which can
read what the user can, write outside its folder (e.g. /tmp), fork, and leave the group with setsid.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import math
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

PROJECTS = Path(__file__).resolve().parent / "projects"
DEFAULT_TIME_LIMIT_S = 5.0
OUTPUT_CAP = 64 * 1024
MEMORY_LIMIT = 1 << 30
FILE_SIZE_LIMIT = 16 << 20
OPEN_FILES_LIMIT = 64
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # a plain folder or file name: no slashes, not hidden
_UNSHARE = ["unshare", "--net", "--map-root-user"]
# Runs first in the child: lower the limits (kind, soft, hard), then become the script's interpreter.
_SHIM = """import os, resource, sys
for kind, soft, hard in {limits!r}:
    resource.setrlimit(kind, (soft, hard))
os.execv(sys.executable, [sys.executable, "-I", sys.argv[1]])"""


@dataclass(frozen=True)
class RunResult:
    """What one sandboxed run did: enough to render the output panel and to test on."""

    script: str
    exit_code: int | None  # None when the time limit stopped it; negative: killed by that signal
    seconds: float
    output: str
    output_bytes: int  # all the script wrote, kept or not
    time_limit_s: float
    isolation: str  # "rlimits+no-network" or "rlimits"

    @property
    def cut(self) -> bool:
        return self.output_bytes > OUTPUT_CAP

    @property
    def status(self) -> str:
        if self.exit_code is None:
            return f"{self.script} was stopped after the {self.time_limit_s:g} s time limit"
        if self.exit_code < 0:
            how = f"signal {-self.exit_code} ({signal.strsignal(-self.exit_code)})"
            return f"{self.script} was killed by {how} after {self.seconds:.2f} s"
        return f"{self.script} exited with code {self.exit_code} in {self.seconds:.2f} s"


@cache
def network_isolation() -> bool:
    """Whether `unshare --net --map-root-user` works here (user namespaces may be off or not allowed)."""
    if shutil.which("unshare") is None:
        return False
    try:
        return subprocess.run([*_UNSHARE, "true"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


async def run_sandboxed(project_dir: Path, script: str, time_limit_s: float) -> RunResult:
    """Run `script` of the project in a throwaway copy of it, under the limits the module docstring names."""
    cpu = math.ceil(time_limit_s) + 1  # a second over, so the wall clock stops a busy loop first
    limits = [(resource.RLIMIT_CPU, cpu, cpu + 1), (resource.RLIMIT_AS, MEMORY_LIMIT, MEMORY_LIMIT),
              (resource.RLIMIT_FSIZE, FILE_SIZE_LIMIT, FILE_SIZE_LIMIT),
              (resource.RLIMIT_NOFILE, OPEN_FILES_LIMIT, OPEN_FILES_LIMIT)]
    no_network = network_isolation()
    command = [*(_UNSHARE if no_network else []), sys.executable, "-I", "-c", _SHIM.format(limits=limits), script]
    kept, total = bytearray(), 0
    with tempfile.TemporaryDirectory(prefix="agentos-runner-") as tmp:
        shutil.copytree(project_dir, tmp, dirs_exist_ok=True)
        env = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8", "HOME": tmp}
        start = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *command, cwd=tmp, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True)
        stdout = proc.stdout
        assert stdout is not None

        async def drain() -> None:
            nonlocal total
            while chunk := await stdout.read(1 << 16):
                total += len(chunk)
                kept.extend(chunk[: max(0, OUTPUT_CAP - len(kept))])

        exit_code: int | None = None
        try:
            async with asyncio.timeout(time_limit_s):
                await drain()
                exit_code = await proc.wait()
        except TimeoutError:
            pass
        finally:  # on every path, cancellation included: kill whatever is left of the group
            seconds = time.monotonic() - start
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        with contextlib.suppress(TimeoutError):  # what is still in the pipe; bounded: an escaped child may hold it
            async with asyncio.timeout(1):
                await drain()
    return RunResult(script=script, exit_code=exit_code, seconds=seconds, output=kept.decode("utf-8", "replace"),
                     output_bytes=total, time_limit_s=time_limit_s,
                     isolation="rlimits+no-network" if no_network else "rlimits")


# ---- the pages -----------------------------------------------------------------------------------------

def _projects_dir() -> Path:
    """Read at request time, so tests can point a served app at projects of their own."""
    return Path(os.environ.get("AGENTOS_RUNNER_PROJECTS") or PROJECTS)


def _time_limit() -> float:
    limit = float(value := os.environ.get("AGENTOS_RUNNER_TIME_LIMIT_S") or str(DEFAULT_TIME_LIMIT_S))
    if not limit > 0:
        raise ValueError(f"AGENTOS_RUNNER_TIME_LIMIT_S must be a positive number of seconds, not {value!r}")
    return limit


def _projects() -> list[str]:
    folder = _projects_dir()
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and _NAME.fullmatch(p.name)) if folder.is_dir() else []


def _files(project: Path) -> list[Path]:
    return sorted(p for p in project.iterdir() if p.is_file() and _NAME.fullmatch(p.name))


_STYLE = """body{font-family:sans-serif;margin:0;background:#3a6ea5;min-height:100vh}
header{background:#1f3b5a;color:#fff;padding:.3em 1em} header h1{font-size:1.1em;margin:0}
.desktop{display:flex;gap:1em;padding:1em;align-items:flex-start}
.window{background:#f4f4f4;border:1px solid #223;box-shadow:3px 3px 8px #0005;min-width:14em}
.window>h2{background:#5a7fa8;color:#fff;font-size:1em;margin:0;padding:.3em .6em}
.window>div{padding:.6em 1em} .project{flex:1;max-width:50em} .error{color:#b00}
pre{background:#111;color:#eee;padding:.6em;overflow:auto;max-height:30em;white-space:pre-wrap}"""


def _page(title: str, main: str, current: str = "", status_code: int = 200) -> HTMLResponse:
    links = "".join(f'<li><a href="/projects/{html.escape(n)}"{" aria-current=page" if n == current else ""}>'
                    f"{html.escape(n)}</a></li>" for n in _projects())
    listing = f"<ul>{links}</ul>" if links else f"<p>No projects in {html.escape(str(_projects_dir()))}.</p>"
    return HTMLResponse(f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>
<header><h1>Project runner</h1></header><main class="desktop">
<nav class="window" aria-label="Projects"><h2>Projects</h2><div>{listing}</div></nav>
{main}</main></body></html>""", status_code=status_code)


def _window(heading: str, body: str, label: str = "") -> str:
    """A window on the desktop; its region is named apart from its heading where a bare name must stay a link's."""
    return f'<section class="window project" aria-label="{html.escape(label or heading)}">' \
           f"<h2>{html.escape(heading)}</h2><div>{body}</div></section>"


def _error(message: str, status_code: int, current: str = "") -> HTMLResponse:
    names = ", ".join(_projects()) or "none"
    body = f'<p class="error" role="alert">{html.escape(message)}</p><p>The projects are: {html.escape(names)}.</p>'
    return _page("Error - Project runner", _window("Error", body), current, status_code)


def _project(request: Request) -> tuple[str, Path] | HTMLResponse:
    """The project the URL names, or the error page that says why there is none."""
    name = request.path_params["name"]
    if not _NAME.fullmatch(name):
        return _error(f"{name!r} is not a project name: plain folder names only.", 400)
    folder = _projects_dir() / name
    if not folder.is_dir():
        return _error(f"There is no project named {name!r}.", 404)
    return name, folder


def _project_page(name: str, folder: Path, panel: str = "", status_code: int = 200) -> HTMLResponse:
    files = _files(folder)
    readme = folder / "README.txt"
    about = f"<p>{html.escape(readme.read_text(encoding='utf-8').strip())}</p>" if readme.is_file() else ""
    listing = "".join(f"<li>{html.escape(f.name)} ({f.stat().st_size} bytes)</li>" for f in files)
    forms = "".join(f'<form method="post" action="/projects/{html.escape(name)}/run">'
                    f'<input type="hidden" name="script" value="{html.escape(f.name)}">'
                    f'<button type="submit">Run {html.escape(f.stem)}</button></form>'
                    for f in files if f.suffix == ".py") or "<p>No scripts.</p>"
    body = f"{about}<h3>Files</h3><ul>{listing}</ul><h3>Scripts</h3>{forms}{panel}"
    return _page(f"{name} - Project runner", _window(name, body, f"Project {name}"), name, status_code)


async def home(request: Request) -> Response:
    return _page("Project runner", _window("Welcome", "<p>Open a project from the Projects window.</p>"))


async def project(request: Request) -> Response:
    found = _project(request)
    return found if isinstance(found, HTMLResponse) else _project_page(*found)


async def run(request: Request) -> Response:
    found = _project(request)
    if isinstance(found, HTMLResponse):
        return found
    name, folder = found
    script = str((await request.form()).get("script", ""))
    scripts = [f.name for f in _files(folder) if f.suffix == ".py"]
    if script not in scripts:
        alert = (f'<p class="error" role="alert">{html.escape(name)} has no script {html.escape(repr(script))}; '
                 f"its scripts are: {html.escape(', '.join(scripts) or 'none')}.</p>")
        return _project_page(name, folder, alert, 404 if script else 400)
    result = await run_sandboxed(folder, script, _time_limit())
    cut = f"Output cut at {OUTPUT_CAP // 1024} KiB; the script wrote {result.output_bytes} bytes."
    note = f'<p class="error">{cut}</p>' if result.cut else ""
    network = "" if result.isolation.endswith("no-network") else " (no network isolation on this machine)"
    panel = f"""<section role="region" aria-label="Output"><h3>Output</h3>
<p role="status" aria-label="Result">{html.escape(result.status)}</p>
<p>Sandbox: {html.escape(result.isolation)}{network}, {result.time_limit_s:g} s time limit.</p>
<pre id="output" role="log" aria-label="Console">{html.escape(result.output)}</pre>{note}</section>"""
    return _project_page(name, folder, panel)


async def not_found(request: Request, exc: Exception) -> Response:
    """Paths no route matches (such as an encoded slash in a project name) get the desktop's error page too."""
    return _error(f"There is no page at {request.url.path}.", 404)


app = Starlette(routes=[
    Route("/", home),
    Route("/projects/{name}", project),
    Route("/projects/{name}/run", run, methods=["POST"]),
], exception_handlers={404: not_found})
