"""The showcase server: typed routes over the same runtime as the CLI, events over Server-Sent Events.

    GET  /api/samples                      the twelve samples, each with what it needs and whether it can run
    GET  /api/samples/{id}                 one sample with its task file's text
    POST /api/runs                         start a run: a sample (optionally edited) or an uploaded task file
    GET  /api/runs                         past and present runs, from their journals
    GET  /api/runs/{id}                    one run: its summary, and its result once it has ended
    GET  /api/runs/{id}/events             its events as SSE: all so far, then live until it ends
    GET  /api/runs/{id}/events.json        its events after the first `after`, at once (for polling clients)
    POST /api/runs/{id}/cancel             cancel it
    GET  /api/runs/{id}/artifacts/{path}   a file the run wrote (PATH inside its artifacts/ folder)
    GET  /api/router                       what the adaptive router learned, and its two charts' series
    GET  /api/workers                      the workers on the server's broker (`agentos ui --broker URL`)

The OpenAPI schema is at /openapi.json. With a token set, every /api route wants it, as
`Authorization: Bearer TOKEN` or `?token=TOKEN` (EventSource cannot send headers).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from agentos.api import BROKER_ENV, default_runs_root, find_run
from agentos.errors import RunNotFoundError, TaskFileError, UserError
from agentos.journal import Journal
from agentos.registry import Registry
from agentos.result import RunResult
from agentos.runs_index import RunSummary, list_runs, summarize_run
from agentos.taskspec import TaskSpec, dependencies
from router.plots import contribution_series, weight_series
from router.state import default_state_path, read_history
from router.state import summary as router_summary
from ui.runs import FINISHED, RunManager
from ui.samples import SHOWCASES, Sample, list_samples
from ui.uploads import TASK_SUFFIXES, UploadError, store
from ui.workers import WorkersOut, WorkerWatch

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
STATIC = Path(__file__).resolve().parent / "static"
HISTORY_SHOWN = 5000  # the router's latest decisions drawn in its charts


class UiSettings(BaseModel):
    runs_root: Path = Field(default_factory=default_runs_root, description="where runs are written and listed")
    showcases: Path = Field(SHOWCASES, description="the samples' folder: <tab>/<id>.yaml")
    token: str | None = Field(None, description="required on every /api route when set")
    max_upload_bytes: int = Field(MAX_UPLOAD_BYTES, gt=0, description="per uploaded file")
    router_state: Path | None = Field(default_factory=default_state_path, description="the adaptive router's "
                                      "state file, whose history the router charts draw")
    broker: str | None = Field(default_factory=lambda: os.environ.get(BROKER_ENV) or None,
                               description="an MQTT broker whose workers' experts every run started here may use, "
                               "and whose workers the page lists")


class SampleDetail(Sample):
    task_text: str


class RunStartedOut(BaseModel):
    run_id: str
    events: str = Field(description="the SSE stream of its events")
    result: str = Field(description="where its summary and result are")


class GraphNode(BaseModel):
    id: str
    capability: str | None
    after: list[str] = Field(description="the nodes it waits for (its references and `after`)")


class RunOut(BaseModel):
    summary: RunSummary
    goal: str | None = Field(None, description="the typed goal, when the task had one")
    graph: list[GraphNode] = Field(default_factory=list, description="the task graph as journaled (a planned "
                                   "graph once planning completed)")
    result: RunResult | None = Field(None, description="once the run has ended")
    error: str | None = Field(None, description="why it stopped before the runtime could record a result")


class RouterOut(BaseModel):
    state: str | None = Field(description="the state file read")
    learned: bool = Field(description="false until a run has had a node with more than one candidate expert")
    experts: list[dict[str, Any]] = Field(default_factory=list, description="per capability and expert: calls, "
                                          "mean reward and score, evidence (as `agentos router show --json`)")
    weights: dict[str, dict[str, list[float]]] = Field(default_factory=dict, description="routing weights over the "
                                                       "decisions: capability -> expert -> pi per decision")
    contribution_calls: list[float] = Field(default_factory=list, description="window centres, in calls")
    contributions: dict[str, list[float]] = Field(default_factory=dict, description="expert -> its share of the "
                                                  "reward per window (the stacked chart)")


class CancelOut(BaseModel):
    run_id: str
    cancelled: bool = Field(description="false when it had already ended")


def create_app(settings: UiSettings | None = None, registry: Registry | None = None) -> FastAPI:
    settings = settings or UiSettings()
    manager = RunManager(settings.runs_root, registry or Registry.discover(), settings.broker)
    workers = WorkerWatch(settings.broker)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await manager.shutdown()
        await workers.close()

    def authorised(request: Request) -> None:
        if settings.token is None or not request.url.path.startswith("/api/"):
            return  # the page's own files hold no data; every /api route wants the token
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        given = given or request.query_params.get("token", "")
        if not secrets.compare_digest(given.encode(), settings.token.encode()):
            raise HTTPException(401, "this server wants its token: Authorization: Bearer TOKEN, or ?token=TOKEN")

    app = FastAPI(title="AgentOS showcase", version="0.1.0", lifespan=lifespan,
                  dependencies=[Depends(authorised)])
    app.state.manager = manager
    app.state.settings = settings
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.exception_handler(TaskFileError)
    async def task_file_error(_: Request, exc: TaskFileError) -> JSONResponse:
        problems = [{"message": p.message, "path": p.path, "line": p.line, "column": p.column, "hint": p.hint}
                    for p in exc.problems]
        return JSONResponse({"error": str(exc), "problems": problems}, status_code=422)

    @app.exception_handler(UploadError)
    async def upload_error(_: Request, exc: UploadError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    @app.exception_handler(RunNotFoundError)
    async def run_not_found(_: Request, exc: RunNotFoundError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=404)

    @app.exception_handler(UserError)
    async def user_error(_: Request, exc: UserError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    async def samples() -> dict[str, Sample]:
        return {s.id: s for s in list_samples(await workers.catalogue(manager.registry), settings.showcases)}

    async def sample(sample_id: str) -> Sample:
        found = await samples()
        if sample_id not in found:
            raise HTTPException(404, f"no sample `{sample_id}`; the samples are: {', '.join(found)}")
        return found[sample_id]

    @app.get("/api/samples")
    async def get_samples() -> list[Sample]:
        return list((await samples()).values())

    @app.get("/api/samples/{sample_id}")
    async def get_sample(sample_id: str) -> SampleDetail:
        s = await sample(sample_id)
        text = (settings.showcases / s.task_file).read_text(encoding="utf-8")
        return SampleDetail(**s.model_dump(exclude={"available"}), task_text=text)

    @app.post("/api/runs", status_code=201)
    async def start_run(
        sample_id: Annotated[str | None, Form(alias="sample", description="a sample id to run")] = None,
        task_text: Annotated[str | None, Form(description="the sample's task file as edited on the page")] = None,
        overrides: Annotated[list[str], Form(alias="set", description="`--set`-style overrides")] = [],  # noqa: B006
        task: Annotated[UploadFile | None, File(description="a task file (YAML or JSON)")] = None,
        files: Annotated[list[UploadFile], File(description="inputs the uploaded task names, or with `sample` "
                                                             "the files that replace its inputs")] = [],  # noqa: B006
        replace: Annotated[list[str], Form(description="with `sample`: the file input each of `files` "
                                                       "replaces, in the same order")] = [],  # noqa: B006
    ) -> RunStartedOut:
        if (sample_id is None) == (task is None):
            raise HTTPException(400, "give `sample` (a sample id) or `task` (an uploaded task file), not both")
        if replace and (task is not None or not files):
            raise HTTPException(400, "`replace` names the sample inputs that uploaded `files` replace")
        workspace = settings.runs_root / "uploads" / secrets.token_hex(6)
        catalogue = await workers.catalogue(manager.registry)
        if sample_id is not None:
            s = await sample(sample_id)
            if not s.available:
                raise HTTPException(409, f"sample `{s.id}` needs {', '.join(s.missing)}, which no installed "
                                         f"expert offers: {s.install}")
            path = settings.showcases / s.task_file
            if files:
                path, replaced = await _replace_inputs(s, path, files, replace, workspace, settings.max_upload_bytes)
                overrides = [*overrides, *replaced]
            spec = manager.load(path, overrides, task_text, catalogue)
        else:
            assert task is not None
            path = store(workspace, task.filename or "task.yaml", await task.read(),
                         limit=settings.max_upload_bytes, allowed=TASK_SUFFIXES)
            for f in files:
                store(workspace, f.filename or "input", await f.read(), limit=settings.max_upload_bytes)
            spec = manager.load(path, overrides, registry=catalogue)
        run = manager.start(spec)
        return RunStartedOut(run_id=run.run_id, events=f"/api/runs/{run.run_id}/events",
                             result=f"/api/runs/{run.run_id}")

    @app.get("/api/runs")
    def get_runs() -> list[RunSummary]:
        return list_runs(settings.runs_root)

    @app.get("/api/runs/{run_id}")
    def get_run(run_id: str) -> RunOut:
        live = manager.live.get(run_id)
        if live is not None and live.error and not (settings.runs_root / run_id).exists():
            raise HTTPException(409, f"run {run_id} stopped before it started: {live.error}")
        run_dir = find_run(run_id, settings.runs_root)
        result = live.result if live is not None else None
        if result is None and (run_dir / "result.json").is_file():
            result = RunResult.model_validate_json((run_dir / "result.json").read_text(encoding="utf-8"))
        spec = _journaled_spec(run_dir)
        graph = [GraphNode(id=n.id, capability=n.capability, after=sorted(dependencies(n))) for n in spec.graph]
        return RunOut(summary=summarize_run(run_dir), goal=spec.goal, graph=graph, result=result,
                      error=live.error if live else None)

    @app.get("/api/runs/{run_id}/events", response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}}, "description": "the run's events"}})
    async def get_events(run_id: str) -> StreamingResponse:
        if run_id not in manager.live:
            find_run(run_id, settings.runs_root)  # 404 before the stream starts

        async def stream() -> AsyncIterator[str]:
            async for event in manager.follow(run_id):
                yield f"event: {event.get('kind', 'message')}\ndata: {json.dumps(event)}\n\n"
                if event.get("kind") in (FINISHED, "run.error"):
                    break

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache", "x-accel-buffering": "no"})

    @app.get("/api/runs/{run_id}/events.json")
    async def get_events_json(run_id: str, after: int = 0) -> list[dict[str, Any]]:
        """The run's events after the first `after`, at once (for clients that poll instead of streaming)."""
        live = manager.live.get(run_id)
        events = list(live.events) if live is not None else manager.journal_events(run_id)
        return events[after:]

    @app.post("/api/runs/{run_id}/cancel")
    def cancel_run(run_id: str) -> CancelOut:
        return CancelOut(run_id=run_id, cancelled=manager.cancel(run_id))

    @app.get("/api/workers")
    async def get_workers() -> WorkersOut:
        """The workers heard of on the server's broker (live and gone); none when it has no broker."""
        return await workers.snapshot()

    @app.get("/api/router")
    def get_router() -> RouterOut:
        path = settings.router_state
        if path is None or not path.is_file():
            return RouterOut(state=str(path) if path else None, learned=False)
        records = read_history(path, limit=HISTORY_SHOWN)
        calls, shares = contribution_series(records)
        return RouterOut(state=str(path), learned=True, experts=router_summary(path)["experts"],
                         weights=weight_series(records), contribution_calls=calls, contributions=shares)

    @app.get("/api/runs/{run_id}/artifacts/{path:path}")
    def get_artifact(run_id: str, path: str) -> FileResponse:
        folder = (find_run(run_id, settings.runs_root) / "artifacts").resolve()
        target = (folder / path).resolve()
        if not target.is_relative_to(folder) or not target.is_file():
            raise HTTPException(404, f"run {run_id} has no file {path}")
        return FileResponse(target)

    return app


async def _replace_inputs(sample: Sample, task_path: Path, files: list[UploadFile], replace: list[str],
                          workspace: Path, limit: int) -> tuple[Path, list[str]]:
    """A copy of the sample's folder in `workspace` with each upload in its uploads/, and the overrides that
    point the named file inputs at them: the sample's own files are never written to."""
    if len(replace) != len(files):
        raise HTTPException(400, f"give one `replace` (the input it replaces) per file: {len(files)} file(s), "
                                 f"{len(replace)} name(s)")
    unknown = [name for name in replace if name not in sample.file_inputs]
    if unknown:
        raise HTTPException(400, f"sample `{sample.id}` has no file input {', '.join(map(repr, unknown))}; its file "
                                 f"inputs are: {', '.join(sample.file_inputs) or 'none'}")
    shutil.copytree(task_path.parent, workspace)
    overrides = []
    for name, upload in zip(replace, files, strict=True):
        stored = store(workspace / "uploads", upload.filename or name, await upload.read(), limit=limit)
        overrides.append(f"inputs.{name}.file=uploads/{stored.name}")
    return workspace / task_path.name, overrides


def _journaled_spec(run_dir: Path) -> TaskSpec:
    j = Journal.open_existing(run_dir, readonly=True)
    try:
        record = j.run()
    finally:
        j.close()
    return TaskSpec.model_validate(record.spec)
