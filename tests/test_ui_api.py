"""The showcase server's API, against a real uvicorn server and httpx: samples, runs started from a sample
or an uploaded task file, their events over SSE, cancel, artifacts, and every kind of bad request."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bus_workers import stop, wait_for_workers, worker
from mosquitto_broker import Mosquitto
from support_experts import EXPERTS

from agentos import Registry
from experts.image import EXPERTS as IMAGE_EXPERTS
from experts.voice import EXPERTS as VOICE_EXPERTS
from host_model.testing import serve_in_thread
from ui import UiSettings, create_app
from ui.samples import SHOWCASES

STEP_TASK = {"name": "two steps", "graph": [
    {"id": "a", "capability": "test.step", "inputs": {"value": 1}},
    {"id": "b", "capability": "test.step", "inputs": {"value": "${a.value}"}}]}
SLOW_TASK = {"graph": [{"id": "slow", "capability": "test.step", "inputs": {"value": 1, "delay": 30}}]}


def _server(tmp_path: Path, registry: Registry, **settings: Any) -> Iterator[httpx.Client]:
    app = create_app(UiSettings(runs_root=tmp_path / "runs", **settings), registry)
    with serve_in_thread(app) as url, httpx.Client(base_url=url.removesuffix("/v1"), timeout=60) as client:
        yield client


@pytest.fixture
def api(tmp_path: Path) -> Iterator[httpx.Client]:
    yield from _server(tmp_path, Registry([*EXPERTS, *IMAGE_EXPERTS, *VOICE_EXPERTS]))


def events(client: httpx.Client, run_id: str, **params: str) -> list[dict[str, Any]]:
    """The run's SSE stream read to its end, parsed (`event:` and `data:` lines)."""
    out, kind = [], None
    with client.stream("GET", f"/api/runs/{run_id}/events", params=params) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                event = json.loads(line.removeprefix("data: "))
                assert event["kind"] == kind
                out.append(event)
    return out


def upload(client: httpx.Client, task: dict[str, Any] | str, name: str = "task.yaml",
           files: list[tuple[str, bytes]] = (), **data: Any) -> httpx.Response:
    body = task if isinstance(task, str) else json.dumps(task)
    parts = [("task", (name, body.encode()))] + [("files", f) for f in files]
    return client.post("/api/runs", files=parts, data=data)


# ---- samples ---------------------------------------------------------------------------------------

def test_the_twelve_samples_are_listed_by_tab_with_what_they_need(api):
    samples = api.get("/api/samples").json()
    assert [s["id"] for s in samples] == [f"{tab}-{k}" for tab in ("image", "voice", "gui", "research")
                                          for k in "abc"]
    voice_b = next(s for s in samples if s["id"] == "voice-b")
    assert voice_b["tab"] == "voice" and "drives a desktop-style app" in voice_b["title"]
    assert voice_b["capabilities"] == ["gui.do", "voice.command", "voice.speak"]
    # this registry has no GUI or research expert: those samples say so, and what to install
    assert voice_b["available"] is False and voice_b["missing"] == ["gui.do"]
    assert voice_b["install"] == 'pip install -e ".[voice]"'
    assert next(s for s in samples if s["id"] == "image-c")["available"] is True


def test_a_sample_comes_with_its_task_file_text(api):
    detail = api.get("/api/samples/image-c").json()
    assert detail["task_text"] == (SHOWCASES / "image" / "image-c.yaml").read_text()
    missing = api.get("/api/samples/image-z")
    assert missing.status_code == 404 and "the samples are: image-a" in missing.json()["detail"]


def test_a_sample_whose_expert_is_missing_is_refused_naming_the_install(api):
    r = api.post("/api/runs", data={"sample": "research-a"})
    assert r.status_code == 409 and 'pip install -e ".[research]"' in r.json()["detail"]


@pytest.mark.slow
def test_a_sample_runs_to_its_result_and_its_artifacts_are_served(api):
    started = api.post("/api/runs", data={"sample": "image-c"})
    assert started.status_code == 201, started.text
    run_id = started.json()["run_id"]
    seen = events(api, run_id)
    assert seen[0]["kind"] == "run.started" and seen[-1]["kind"] == "run.finished"
    assert seen[-1]["status"] == "succeeded"
    assert {"node.started", "route.decided", "check.completed", "node.finished"} <= {e["kind"] for e in seen}
    run = api.get(f"/api/runs/{run_id}").json()
    assert run["summary"]["status"] == "succeeded" and run["result"]["status"] == "succeeded"
    png = run["result"]["nodes"]["infographic"]["output"]["png"]
    rel = Path(png).relative_to(Path(run["summary"]["run_dir"]) / "artifacts")
    got = api.get(f"/api/runs/{run_id}/artifacts/{rel}")
    assert got.status_code == 200 and got.content[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_an_edited_sample_runs_as_edited(api):
    text = (SHOWCASES / "image" / "image-c.yaml").read_text()
    edited = text.replace("Aurora 14 laptop at a glance", "Edited on the page")
    run_id = api.post("/api/runs", data={"sample": "image-c", "task_text": edited}).json()["run_id"]
    assert events(api, run_id)[-1]["status"] == "succeeded"
    out = api.get(f"/api/runs/{run_id}").json()["result"]["nodes"]["infographic"]["output"]
    layers = Path(out["layers"]).read_text()
    assert "Edited on the page" in layers and "Aurora 14 laptop at a glance" not in layers


def test_a_bad_edit_of_a_sample_names_the_problem_and_its_line(api):
    text = (SHOWCASES / "image" / "image-c.yaml").read_text()
    bad = api.post("/api/runs", data={"sample": "image-c", "task_text": text.replace("image.infographic",
                                                                                     "image.infographix")})
    assert bad.status_code == 422
    body = bad.json()
    assert "unknown capability `image.infographix`" in body["error"] and body["problems"][0]["line"]
    broken = api.post("/api/runs", data={"sample": "image-c", "task_text": "graph: [unclosed"})
    assert broken.status_code == 422 and broken.json()["problems"][0]["line"] == 1


# ---- uploaded task files ----------------------------------------------------------------------------

def test_an_uploaded_task_runs_and_its_events_replay_from_the_start(api):
    r = upload(api, STEP_TASK)
    assert r.status_code == 201, r.text
    run_id = r.json()["run_id"]
    live = events(api, run_id)
    assert live[-1]["kind"] == "run.finished" and live[-1]["status"] == "succeeded"
    again = events(api, run_id)  # a late listener gets the whole story
    assert [e["kind"] for e in again] == [e["kind"] for e in live]
    result = api.get(f"/api/runs/{run_id}").json()["result"]
    assert result["nodes"]["b"]["output"]["value"] == 3
    assert run_id in [s["run_id"] for s in api.get("/api/runs").json()]


def test_an_uploaded_task_reads_its_uploaded_inputs(api):
    wav = (SHOWCASES / "voice" / "audio" / "commands" / "cancel.wav").read_bytes()
    task = {"inputs": {"clip": {"file": "cancel.wav"}},
            "graph": [{"id": "hear", "capability": "voice.command",
                       "inputs": {"audio": "${inputs.clip}", "phrases": ["cancel that", "show the result"]}}]}
    r = upload(api, task, files=[("cancel.wav", wav)])
    assert r.status_code == 201, r.text
    seen = events(api, r.json()["run_id"])
    assert seen[-1]["status"] == "succeeded"
    assert api.get(f"/api/runs/{r.json()['run_id']}").json()["result"]["nodes"]["hear"]["output"]["request"] == \
        "cancel that"


def test_a_bad_uploaded_task_file_gets_every_problem_with_its_line(api):
    r = upload(api, "graph:\n  - id: a\n    capability: test.stepp\n")
    assert r.status_code == 422
    [problem] = r.json()["problems"]
    assert problem["line"] == 3 and "unknown capability `test.stepp`" in problem["message"]
    assert "test.step" in problem["hint"]


def test_uploads_of_the_wrong_type_or_size_are_refused(tmp_path):
    for client in _server(tmp_path, Registry(EXPERTS), max_upload_bytes=1000):
        assert upload(client, STEP_TASK, name="task.exe").status_code == 415
        fake = upload(client, STEP_TASK, files=[("clip.wav", b"this is not audio at all")])
        assert fake.status_code == 415 and "not a WAV file" in fake.json()["error"]
        big = upload(client, STEP_TASK, files=[("notes.txt", b"x" * 2000)])
        assert big.status_code == 413 and "over the upload limit of 1000 bytes" in big.json()["error"]
        both = client.post("/api/runs", data={"sample": "image-c"}, files=[("task", ("t.yaml", b"{}"))])
        assert both.status_code == 400
        assert not list((tmp_path / "runs").glob("*/journal.sqlite"))  # nothing ran


def test_an_uploaded_name_cannot_leave_its_workspace(api, tmp_path):
    r = upload(api, STEP_TASK, files=[("../../escape.txt", b"hello")])
    assert r.status_code == 201
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "runs" / "escape.txt").exists()
    assert list((tmp_path / "runs" / "uploads").glob("*/escape.txt"))


# ---- cancel, unknown runs, artifacts, token ---------------------------------------------------------

def test_a_running_run_is_cancelled_and_says_so(api):
    run_id = upload(api, SLOW_TASK).json()["run_id"]
    with api.stream("GET", f"/api/runs/{run_id}/events") as r:
        for line in r.iter_lines():
            if '"node.started"' in line:
                break
    assert api.post(f"/api/runs/{run_id}/cancel").json() == {"run_id": run_id, "cancelled": True}
    seen = events(api, run_id)
    assert seen[-1]["kind"] == "run.finished" and seen[-1]["status"] == "cancelled"
    assert api.get(f"/api/runs/{run_id}").json()["summary"]["status"] == "cancelled"
    assert api.post(f"/api/runs/{run_id}/cancel").json()["cancelled"] is False  # already ended


def test_unknown_runs_and_files_are_404s(api):
    assert api.get("/api/runs/nope").status_code == 404
    assert "no run `nope`" in api.get("/api/runs/nope/events").json()["error"]
    assert api.post("/api/runs/nope/cancel").status_code == 404
    run_id = upload(api, STEP_TASK).json()["run_id"]
    events(api, run_id)
    assert api.get(f"/api/runs/{run_id}/artifacts/a/value.txt").text == "2"
    assert api.get(f"/api/runs/{run_id}/artifacts/a/none.txt").status_code == 404
    assert api.get(f"/api/runs/{run_id}/artifacts/../../../etc/passwd").status_code == 404


def test_with_a_token_every_route_wants_it(tmp_path):
    for client in _server(tmp_path, Registry(EXPERTS), token="s3cret"):
        r = client.get("/api/samples")
        assert r.status_code == 401 and "wants its token" in r.json()["detail"]
        assert client.get("/api/samples", headers={"authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/api/samples", headers={"authorization": "Bearer s3cret"}).status_code == 200
        started = client.post("/api/runs", files=[("task", ("t.yaml", json.dumps(STEP_TASK).encode()))],
                              headers={"authorization": "Bearer s3cret"})
        run_id = started.json()["run_id"]
        assert events(client, run_id, token="s3cret")[-1]["status"] == "succeeded"  # EventSource: ?token=


def test_the_openapi_schema_describes_every_route(api):
    paths = api.get("/openapi.json").json()["paths"]
    assert {"/api/samples", "/api/samples/{sample_id}", "/api/runs", "/api/runs/{run_id}",
            "/api/runs/{run_id}/events", "/api/runs/{run_id}/cancel",
            "/api/runs/{run_id}/artifacts/{path}"} <= set(paths)


def test_agentos_ui_refuses_to_bind_beyond_loopback_without_a_token():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "agentos", "ui", "--host", "0.0.0.0"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "give --token" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "agentos", "ui", "--broker", "http://broker.lan"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "broker URL 'http://broker.lan': use mqtt://" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_router_panel_shows_what_the_runs_taught_it(tmp_path, monkeypatch):
    state = tmp_path / "router" / "state.npz"
    monkeypatch.setenv("AGENTOS_ROUTER_STATE", str(state))  # the runs' router writes here
    echo = {"graph": [{"id": f"e{i}", "capability": "test.echo", "inputs": {"text": "hi"}} for i in range(6)],
            "budget": {"retry_backoff_s": 0}}
    for client in _server(tmp_path, Registry(EXPERTS), router_state=state):
        before = client.get("/api/router").json()
        assert before["learned"] is False and before["weights"] == {}
        for _ in range(2):
            events(client, upload(client, echo).json()["run_id"])
        panel = client.get("/api/router").json()
        assert panel["learned"] is True and panel["state"] == str(state)
        weights = panel["weights"]["test.echo"]
        assert set(weights) == {"loud-echo", "quiet-echo"} and len(weights["loud-echo"]) >= 12
        assert all(abs(weights["loud-echo"][i] + weights["quiet-echo"][i] - 1) < 1e-6 for i in range(12))
        assert set(panel["contributions"]) <= {"loud-echo", "quiet-echo"} and panel["contribution_calls"]
        assert {e["expert"] for e in panel["experts"]} == {"loud-echo", "quiet-echo"}


@pytest.mark.slow
def test_a_sample_input_is_replaced_by_an_upload_without_touching_the_sample(api):
    table = b"field,value,unit,max\nBattery life,9,h,24\nWeight,2.5,kg,3\n"
    before = (SHOWCASES / "image" / "assets" / "product-spec.csv").read_bytes()
    r = api.post("/api/runs", data={"sample": "image-c", "replace": ["spec"]},
                 files=[("files", ("my-spec.csv", table))])
    assert r.status_code == 201, r.text
    run_id = r.json()["run_id"]
    assert events(api, run_id)[-1]["status"] == "succeeded"
    values = api.get(f"/api/runs/{run_id}").json()["result"]["nodes"]["infographic"]["output"]["values"]
    assert "Battery life" in json.dumps(values) and "Storage" not in json.dumps(values)  # the uploaded table
    assert (SHOWCASES / "image" / "assets" / "product-spec.csv").read_bytes() == before
    bad = api.post("/api/runs", data={"sample": "image-c", "replace": ["nope"]}, files=[("files", ("x.csv", table))])
    assert bad.status_code == 400 and "its file inputs are: spec" in bad.json()["detail"]
    assert api.get("/api/samples/image-c").json()["file_inputs"] == {"spec": "assets/product-spec.csv"}


# ---- workers on a broker ---------------------------------------------------------------------------

def test_without_a_broker_the_workers_list_says_there_is_none(api):
    assert api.get("/api/workers").json() == {"broker": None, "error": None, "workers": []}


def test_a_broker_that_cannot_be_reached_is_said_and_the_rest_works(tmp_path):
    for client in _server(tmp_path, Registry(EXPERTS), broker="mqtt://127.0.0.1:1"):
        listed = client.get("/api/workers").json()
        assert listed["broker"] == "mqtt://127.0.0.1:1" and listed["workers"] == []
        assert "cannot reach the broker mqtt://127.0.0.1:1" in listed["error"]
        assert client.get("/api/samples").status_code == 200


def test_workers_are_listed_and_a_run_from_the_page_uses_their_experts(tmp_path):
    broker = Mosquitto(tmp_path / "broker").start()
    w1 = worker(broker.url(), "w1", ["stepper"], tmp_path)
    try:
        wait_for_workers(broker.url(), {"w1"})
        local = Registry([e for e in Registry(EXPERTS) if e.card.name != "stepper"])  # test.step only on the worker
        for client in _server(tmp_path, local, broker=broker.url()):
            listed = client.get("/api/workers").json()
            assert listed["broker"] == broker.url() and listed["error"] is None
            [w] = listed["workers"]
            assert (w["worker"], w["alive"], w["experts"], w["capabilities"]) == ("w1", True, ["stepper@w1"],
                                                                                   ["test.step"])
            run_id = upload(client, STEP_TASK).json()["run_id"]
            assert events(client, run_id)[-1]["status"] == "succeeded"
            result = client.get(f"/api/runs/{run_id}").json()["result"]
            assert {k: n["expert"] for k, n in result["nodes"].items()} == {"a": "stepper@w1", "b": "stepper@w1"}
            assert client.get(f"/api/runs/{run_id}/artifacts/a/value.txt").text == "2"  # came back from w1
            stop(w1)  # it says goodbye
            deadline = time.monotonic() + 10
            while client.get("/api/workers").json()["workers"][0]["alive"] and time.monotonic() < deadline:
                time.sleep(0.1)
            assert client.get("/api/workers").json()["workers"][0]["alive"] is False
    finally:
        stop(w1)
        broker.stop()
