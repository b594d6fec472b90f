"""Experts on workers over a real Mosquitto broker: the same results as in-process, a worker killed mid-job,
a broker restarted mid-run, credentials and topic ACLs, and messages that must be refused.

Workers run as real `agentos worker` processes (serving the test experts of support_experts.py) unless a
test needs to read the worker's log lines, when it runs one in this process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bus_workers import stop, wait_for_workers, worker
from mosquitto_broker import WORKER_ACL, Mosquitto
from support_experts import EXPERTS, log_lines

import agentos
from agentos import Registry
from agentos.bus import Dispatcher, Worker, parse_broker
from agentos.bus.messages import MAX_MESSAGE_BYTES, Topics
from agentos.errors import ExpertError

TESTS = Path(__file__).resolve().parent
PASSWORDS = {"runtime": "rt-pass", "w1": "w1-pass", "w2": "w2-pass"}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    b = Mosquitto(tmp_path / "broker").start()
    yield b
    b.stop()


def run_on_w1(url: str, tmp_path: Path, task: dict[str, Any], experts: tuple[str, ...] = ("stepper",),
              **kwargs: Any) -> agentos.RunResult:
    """`task` run with one worker, w1, serving `experts`, and none of this machine's experts."""
    w1 = worker(url, "w1", list(experts), tmp_path)
    try:
        wait_for_workers(url, {"w1"})
        return agentos.run(task, registry=Registry([]), broker=url, output=tmp_path / "runs", base_dir=tmp_path,
                           **kwargs)
    finally:
        stop(w1)


SPLIT = {"graph": [
    {"id": "a", "capability": "test.step", "inputs": {"value": 1}},
    {"id": "b", "capability": "test.step", "inputs": {"value": "${a.value}"}},
    {"id": "say", "capability": "test.echo", "inputs": {"text": "value ${b.value}"}}],
    "budget": {"retry_backoff_s": 0}}


def _outputs(r: agentos.RunResult) -> dict[str, Any]:
    return {n: {k: v for k, v in (r.output(n) or {}).items() if k not in ("started", "finished", "pid")}
            for n in r.nodes}


def test_a_run_split_across_two_workers_gives_the_in_process_result(broker, tmp_path):
    w1 = worker(broker.url(), "w1", ["stepper"], tmp_path)
    w2 = worker(broker.url(), "w2", ["loud-echo"], tmp_path)
    try:
        wait_for_workers(broker.url(), {"w1", "w2"})
        local = agentos.run(SPLIT, registry=Registry(EXPERTS), output=tmp_path / "local", base_dir=tmp_path)
        remote = agentos.run(SPLIT, registry=Registry(EXPERTS), broker=broker.url(), remote_only=True,
                             output=tmp_path / "remote", base_dir=tmp_path)
    finally:
        stop(w1, w2)
    assert local.ok and remote.ok, [n.error for n in remote.nodes.values()]
    assert _outputs(remote) == _outputs(local) and remote.output("say")["text"] == "value 3"
    assert {n: remote.nodes[n].expert for n in remote.nodes} == {"a": "stepper@w1", "b": "stepper@w1",
                                                                   "say": "loud-echo@w2"}
    assert remote.output("a")["pid"] == remote.output("b")["pid"] != os.getpid()  # in w1's process
    hand_offs = [e for e in _events(remote) if e["kind"] in ("job.dispatched", "job.returned")]
    assert [(e["kind"], e["node_id"], e["worker"]) for e in hand_offs] == [
        ("job.dispatched", "a", "w1"), ("job.returned", "a", "w1"), ("job.dispatched", "b", "w1"),
        ("job.returned", "b", "w1"), ("job.dispatched", "say", "w2"), ("job.returned", "say", "w2")]


def _events(r: agentos.RunResult) -> list[dict[str, Any]]:
    from agentos.journal import Journal

    j = Journal.open_existing(Path(r.run_dir), readonly=True)
    try:
        return j.events()
    finally:
        j.close()


def test_artifacts_come_back_whole_into_the_run_folder(broker, tmp_path):
    r = run_on_w1(broker.url(), tmp_path, {"graph": [{"id": "a", "capability": "test.step", "inputs": {"value": 41}}]})
    assert r.ok, [n.error for n in r.nodes.values()]
    written = Path(r.run_dir) / "artifacts" / "a" / "value.txt"  # the worker wrote it in its own folder
    assert written.read_text() == "42" and r.nodes["a"].artifacts == ["artifacts/a/value.txt"]


@pytest.mark.slow
def test_a_worker_killed_mid_job_has_its_job_rerun_elsewhere_once(broker, tmp_path):
    log = tmp_path / "effects.log"
    w1 = worker(broker.url(), "w1", ["stepper"], tmp_path)
    w2 = worker(broker.url(), "w2", ["stepper"], tmp_path)
    procs = {"w1": w1, "w2": w2}
    killed: list[str] = []

    def on_event(event: Any) -> None:
        if event.kind == "job.dispatched" and not killed:
            killed.append(event.worker)
            threading.Timer(0.5, procs[event.worker].kill).start()  # SIGKILL while the job sleeps

    task = {"graph": [{"id": "slow", "capability": "test.step", "inputs": {"value": 1, "delay": 3, "log": str(log)}}],
            "budget": {"retry_backoff_s": 0, "max_retries": 2}}
    try:
        wait_for_workers(broker.url(), {"w1", "w2"})
        r = agentos.run(task, registry=Registry([]), broker=broker.url(), output=tmp_path / "runs",
                        base_dir=tmp_path, on_event=on_event)
    finally:
        stop(w1, w2)
    assert r.ok, [n.error for n in r.nodes.values()]
    first, survivor = killed[0], ({"w1", "w2"} - set(killed)).pop()
    attempts = r.nodes["slow"].attempts
    assert attempts[0].expert == f"stepper@{first}" and "went away mid-job" in (attempts[0].error or "")
    assert r.nodes["slow"].expert == f"stepper@{survivor}" and r.output("slow")["value"] == 2
    assert log_lines(log).count("end slow") == 1  # done once: the killed worker never finished it


@pytest.mark.slow
def test_a_broker_restart_mid_run_is_survived(broker, tmp_path):
    w1 = worker(broker.url(), "w1", ["stepper"], tmp_path, heartbeat=1.0)
    restarted: list[float] = []
    timers: list[threading.Timer] = []

    def bounce() -> None:
        broker.stop()
        time.sleep(0.5)
        broker.start()
        restarted.append(time.time())

    def on_event(event: Any) -> None:
        if event.kind == "job.dispatched" and event.node_id == "slow" and not timers:
            timers.append(threading.Timer(0.3, bounce))
            timers[0].start()

    task = {"graph": [{"id": "slow", "capability": "test.step", "inputs": {"value": 1, "delay": 2}},
                      {"id": "next", "capability": "test.step", "inputs": {"value": "${slow.value}"}}],
            "budget": {"retry_backoff_s": 0}}
    try:
        wait_for_workers(broker.url(), {"w1"})
        r = agentos.run(task, registry=Registry([]), broker=broker.url(), output=tmp_path / "runs",
                        base_dir=tmp_path, on_event=on_event)
    finally:
        for t in timers:
            t.join()  # the broker it restarted is the fixture's to stop
        stop(w1)
    assert r.ok, [(a.expert, a.error) for n in r.nodes.values() for a in n.attempts]
    assert restarted, "the broker was not restarted"
    assert r.output("next")["value"] == 3 and len(r.nodes["slow"].attempts) == 1  # no attempt was lost


def test_credentials_and_topic_acls_are_enforced(tmp_path):
    broker = Mosquitto(tmp_path / "broker", users=PASSWORDS, acl=WORKER_ACL).start()
    try:
        async def check() -> None:
            with pytest.raises(ExpertError, match="cannot reach the broker"):
                await Dispatcher(parse_broker(broker.url())).start()  # no credentials
            with pytest.raises(ExpertError, match="cannot reach the broker"):
                await Dispatcher(parse_broker(broker.url("runtime", "wrong"))).start()
            topics = Topics()
            async with parse_broker(broker.url("runtime", "rt-pass")).client("rt") as rt, \
                    parse_broker(broker.url("w2", "w2-pass")).client("w2") as w2:
                await rt.subscribe(topics.replies("r1", "w1"), qos=1)
                await rt.subscribe(topics.replies("r1", "w2"), qos=1)
                await w2.subscribe(topics.jobs("w1"), qos=1)  # not its jobs: the broker does not deliver them
                await w2.publish(topics.replies("r1", "w1"), b'{"forged": true}', qos=1)  # refused
                await w2.publish(topics.replies("r1", "w2"), b'{"own": true}', qos=1)  # allowed
                await rt.publish(topics.jobs("w1"), b'{"for": "w1"}', qos=1)
                got: list[tuple[str, bytes]] = []

                async def collect(client: Any, n: int) -> None:
                    async for m in client.messages:
                        got.append((str(m.topic), bytes(m.payload)))
                        if len(got) >= n:
                            return

                with pytest.raises(TimeoutError):
                    async with asyncio.timeout(1.5):
                        await asyncio.gather(collect(rt, 2), collect(w2, 1))
                assert got == [(topics.replies("r1", "w2"), b'{"own": true}')]

        asyncio.run(check())
    finally:
        broker.stop()


def test_malformed_and_oversized_messages_are_dropped_with_a_log_line(broker, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    url = broker.url()

    async def scenario() -> agentos.RunResult:
        exp = next(e for e in Registry(EXPERTS) if e.card.name == "stepper")
        w = Worker(parse_broker(url), [exp], worker_id="w1", workdir=tmp_path / "w1", heartbeat_s=0.5)
        serving = asyncio.create_task(w.serve())
        await asyncio.wait_for(w.connected.wait(), 10)
        topics = Topics()
        async with parse_broker(url).client("attacker") as c:
            await c.publish(topics.jobs("w1"), b"not json at all", qos=1)
            await c.publish(topics.jobs("w1"), json.dumps({"kind": "job", "job_id": "x"}).encode(), qos=1)
            await c.publish(topics.jobs("w1"), b"{" + b" " * (MAX_MESSAGE_BYTES + 10) + b"}", qos=1)
            job = {"kind": "job", "job_id": "j-12345678", "run_id": "r1", "node_id": "n", "expert": "stepper",
                   "capability": "test.step", "inputs": {}, "reply_to": topics.replies("r1", "w2")}
            await c.publish(topics.jobs("w1"), json.dumps(job).encode(), qos=1)  # answers on another's topic
            escape = {**job, "run_id": "..", "node_id": "../../outside", "reply_to": topics.replies("..", "w1")}
            await c.publish(topics.jobs("w1"), json.dumps(escape).encode(), qos=1)  # folders outside its workdir
            await c.publish(topics.replies("r1", "w1"), b"[1, 2", qos=1)
        await asyncio.sleep(0.5)
        result = await agentos.arun({"graph": [{"id": "a", "capability": "test.step", "inputs": {"value": 1}}]},
                                    registry=Registry([]), broker=url, output=tmp_path / "runs", base_dir=tmp_path)
        await w.stop()
        serving.cancel()
        return result

    r = asyncio.run(scenario())
    assert r.ok and r.output("a")["value"] == 2  # the worker kept serving
    text = caplog.text
    assert "dropped a message on its job topic: not JSON" in text
    assert "dropped a message on its job topic: not a valid message" in text
    assert f"over the {MAX_MESSAGE_BYTES}-byte limit" in text
    assert "asks for replies on agentos/runs/r1/w2, not this worker's topic" in text
    assert "not a valid message: job.run_id: String should match pattern" in text
    assert not (tmp_path / "outside").exists()
    assert "stepper" not in [line for line in text.splitlines() if "Traceback" in line]


def test_a_broker_that_cannot_be_reached_is_a_clear_error(tmp_path):
    with pytest.raises(ExpertError, match=r"cannot reach the broker mqtt://127\.0\.0\.1:1: .*refused"):
        agentos.run(SPLIT, registry=Registry(EXPERTS), broker="mqtt://127.0.0.1:1", output=tmp_path / "runs",
                    base_dir=tmp_path)


def test_input_files_and_folders_travel_with_the_job(broker, tmp_path):
    task_dir = tmp_path / "task"
    (task_dir / "docs" / "sub").mkdir(parents=True)
    (task_dir / "note.txt").write_text("read me on the worker")
    (task_dir / "docs" / "a.md").write_text("a")
    (task_dir / "docs" / "sub" / "b.md").write_text("b")
    task = {"inputs": {"note": {"file": "note.txt"}, "docs": {"file": "docs"}},
            "graph": [{"id": "read", "capability": "test.read",
                       "inputs": {"path": "${inputs.note}", "folder": "${inputs.docs}"}}]}
    w1 = worker(broker.url(), "w1", ["reader"], tmp_path)
    try:
        wait_for_workers(broker.url(), {"w1"})
        r = agentos.run(task, registry=Registry(EXPERTS), broker=broker.url(), remote_only=True,
                        output=tmp_path / "runs", base_dir=task_dir)
    finally:
        stop(w1)
    assert r.ok, [n.error for n in r.nodes.values()]
    out = r.output("read")
    assert out["text"] == "read me on the worker" and out["folder_files"] == ["a.md", "sub/b.md"]
    assert out["read_from"].startswith(str((tmp_path / "w1").resolve()))  # the worker's own copy, not ours


def test_shipped_inputs_are_checked_and_relocated(tmp_path):
    from agentos.bus.files import local_paths, pack_inputs, relocate, unpack

    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.txt").write_text("x")
    inputs = {"folder": str(tmp_path / "d"), "inside": str(tmp_path / "d" / "x.txt"), "word": "/not/there",
              "list": [str(tmp_path / "d")]}
    assert local_paths(inputs) == [str(tmp_path / "d")]  # once, and a path inside it travels with it
    [info], parts = pack_inputs(inputs, "job-12345678")
    chunks = {p.index: __import__("base64").b64decode(p.data) for p in parts}
    moved = unpack(info, chunks, tmp_path / "there")
    assert (moved / "x.txt").read_text() == "x"
    assert relocate(inputs, {info.original: str(moved)})["inside"] == str(moved / "x.txt")
    with pytest.raises(ExpertError, match="arrived in 0 of 1 chunks"):
        unpack(info, {}, tmp_path / "again")
    with pytest.raises(ExpertError, match="does not match its checksum"):
        unpack(info, {0: b"tampered"}, tmp_path / "again")


def test_a_tls_broker_is_reached_with_its_ca_and_refused_without(tmp_path, monkeypatch):
    broker = Mosquitto(tmp_path / "broker", tls=True).start()
    try:
        async def connect() -> list[str]:
            d = Dispatcher(parse_broker(broker.url()))
            await d.start(settle_s=0)
            await d.close()
            return d.live_workers()

        monkeypatch.delenv("AGENTOS_MQTT_CA", raising=False)
        with pytest.raises(ExpertError, match="cannot reach the broker mqtts://localhost"):
            asyncio.run(connect())  # the self-signed certificate is in no system store
        monkeypatch.setenv("AGENTOS_MQTT_CA", str(broker.ca))
        assert asyncio.run(connect()) == []
        r = run_on_w1(broker.url(), tmp_path, {"graph": [{"id": "a", "capability": "test.step",
                                                           "inputs": {"value": 1}}]})
        assert r.ok and r.nodes["a"].expert == "stepper@w1"
    finally:
        broker.stop()


def test_experts_list_shows_the_live_workers_experts(broker, tmp_path):
    w1 = worker(broker.url(), "w1", ["stepper", "reader"], tmp_path)
    try:
        wait_for_workers(broker.url(), {"w1"})
        proc = subprocess.run([sys.executable, "-m", "agentos", "experts", "list", "--json", "--broker", broker.url()],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "AGENTOS_EXPERT_MODULES": "", "PYTHONPATH": str(TESTS)})
    finally:
        stop(w1)
    assert proc.returncode == 0, proc.stderr
    names = {e["name"] for e in json.loads(proc.stdout)["experts"]}
    assert {"stepper@w1", "reader@w1"} <= names


def test_a_run_interrupted_mid_way_resumes_on_the_workers(broker, tmp_path):
    w1 = worker(broker.url(), "w1", ["stepper"], tmp_path)
    log = tmp_path / "effects.log"  # does not exist when a is sent, so the worker writes this very file
    task = {"broker": broker.url(), "budget": {"retry_backoff_s": 0}, "graph": [
        {"id": "a", "capability": "test.step", "inputs": {"value": 1, "log": str(log)}},
        {"id": "b", "capability": "test.step", "inputs": {"value": "${a.value}", "delay": 2}}]}

    async def interrupted() -> str:
        started: list[str] = []

        def on_event(event: Any) -> None:
            if event.kind == "run.started":
                started.append(event.run_id)
            if event.kind == "job.dispatched" and event.node_id == "b":
                run.cancel()  # Ctrl-C while b runs on the worker

        run = asyncio.ensure_future(agentos.arun(task, registry=Registry([]), output=tmp_path / "runs",
                                                 base_dir=tmp_path, on_event=on_event))
        with pytest.raises(asyncio.CancelledError):
            await run
        return started[0]

    try:
        wait_for_workers(broker.url(), {"w1"})
        run_id = asyncio.run(interrupted())
        again = agentos.run(resume=run_id, registry=Registry([]), output=tmp_path / "runs")  # broker from the journal
    finally:
        stop(w1)
    assert again.ok, [n.error for n in again.nodes.values()]
    assert again.nodes["a"].from_earlier_attempt and not again.nodes["b"].from_earlier_attempt
    assert again.nodes["b"].expert == "stepper@w1" and again.output("b")["value"] == 3
    assert log_lines(log) == ["start a", "end a"]  # a ran once, on the first attempt only
    assert ":b:1:" in (tmp_path / "w1.log").read_text().split("cancelled by its run")[0].splitlines()[-1]


def test_a_handler_that_fails_is_logged_and_the_connection_keeps_delivering(broker, tmp_path, caplog):
    """Messages are handed to `on_message` inside aiomqtt's read callback: a bug there must not end the connection."""
    caplog.set_level(logging.ERROR)
    seen: list[bytes] = []

    def handler(topic: str, payload: bytes) -> None:
        if payload == b"boom":
            raise RuntimeError("a handler bug")
        seen.append(payload)

    async def scenario() -> None:
        b = parse_broker(broker.url())
        async with b.client("listener", on_message=handler) as listener, b.client("talker") as talker:
            await listener.subscribe("t/x", qos=1)
            for payload in (b"one", b"boom", b"two"):
                await talker.publish("t/x", payload, qos=1)
            deadline = time.monotonic() + 10
            while len(seen) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)

    asyncio.run(scenario())
    assert seen == [b"one", b"two"]
    assert "handling a message on t/x failed" in caplog.text and "a handler bug" in caplog.text
