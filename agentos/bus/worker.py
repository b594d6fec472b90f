"""`agentos worker`: serve some experts to runs on other machines, through an MQTT broker.

The worker announces its experts (retained on its status topic, with a last will that marks it gone
when its connection dies), beats every few seconds, and runs the jobs sent to its own job topic, at
most `concurrency` at once. Each job's artifacts go back in checksummed chunks before its result.
A job id it has seen is not run again: a redelivered job gets the result it already had (or nothing,
while it is still running). It reconnects with backoff when the broker goes away, announces itself
again, and sends what it could not send before.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import tarfile
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from agentos.bus.broker import Broker, until_disconnected
from agentos.bus.files import relocate, unpack
from agentos.bus.messages import (
    CHUNK_BYTES,
    Announce,
    ArtifactInfo,
    BusMessageError,
    Cancel,
    Chunk,
    ExpertInfo,
    FilePart,
    Gone,
    Heartbeat,
    Job,
    OperationInfo,
    Progress,
    Result,
    Topics,
    dump,
    parse,
)
from agentos.errors import AgentOSError, ExpertError
from agentos.events import NodeProgress
from agentos.sdk import Expert, ExpertContext

log = logging.getLogger("agentos.worker")
KEEP_RESULTS = 1000  # finished jobs remembered, so a redelivery is answered without running it again
KEEP_BYTES = 256 * 1024 * 1024  # ... and at most this much of what they sent (the oldest go first)
BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0)


def expert_info(exp: Expert) -> ExpertInfo:
    card = exp.card
    return ExpertInfo(name=card.name, domain=card.domain, description=card.description, version=card.version,
                      operations=[OperationInfo(**{k: v for k, v in op.describe().items()}) for op in card.operations])


class Worker:
    """Serves `experts` on `broker` under the id `worker_id` (the broker username, when ACLs are on)."""

    def __init__(self, broker: Broker, experts: list[Expert], *, worker_id: str, workdir: Path,
                 concurrency: int = 1, heartbeat_s: float = 2.0, topics: Topics | None = None):
        if not experts:
            raise AgentOSError("a worker needs at least one expert to serve")
        self.broker, self.id, self.workdir = broker, worker_id, workdir.resolve()
        self.experts = {e.card.name: e for e in experts}
        self.concurrency, self.heartbeat_s = concurrency, heartbeat_s
        self.topics = topics or Topics()
        self._slots = asyncio.Semaphore(concurrency)
        self._done: OrderedDict[str, list[tuple[str, bytes]]] = OrderedDict()  # job id -> messages it sent
        self._kept = 0  # bytes in _done
        self._running: set[str] = set()
        self._outbox: list[tuple[str, bytes]] = []  # sent while disconnected: sent again on reconnect
        self._inputs: dict[str, dict[str, dict[int, bytes]]] = {}  # job id -> input path -> its chunks so far
        self._client: Any = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._jobs: dict[str, asyncio.Task[None]] = {}  # job id -> its task, while it runs
        self.connected = asyncio.Event()
        self.jobs_run = 0

    def announce(self) -> Announce:
        return Announce(worker=self.id, experts=[expert_info(e) for e in self.experts.values()],
                        concurrency=self.concurrency, started=time.time(), heartbeat_s=self.heartbeat_s)

    async def serve(self) -> None:
        """Serve until cancelled, reconnecting with backoff whenever the broker connection is lost."""
        import aiomqtt

        attempt = 0
        will = aiomqtt.Will(self.topics.status(self.id), dump(Gone(worker=self.id, reason="connection lost")),
                            qos=1, retain=True)
        while True:
            try:
                async with self.broker.client(f"agentos-worker-{self.id}", will=will,
                                              on_message=self._receive) as client:
                    self._client, attempt = client, 0
                    await client.subscribe(self.topics.jobs(self.id), qos=1)
                    await client.publish(self.topics.status(self.id), dump(self.announce()), qos=1, retain=True)
                    self.connected.set()
                    log.info("worker %s serving %s on %s", self.id, ", ".join(self.experts), self.broker)
                    await self._flush()
                    beat = asyncio.create_task(self._beat(client))
                    try:
                        await until_disconnected(client)
                    finally:
                        beat.cancel()
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                self._client = None
                wait = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
                attempt += 1
                log.warning("worker %s: broker %s unreachable (%s); retrying in %.1f s", self.id, self.broker, exc,
                            wait)
                await asyncio.sleep(wait)

    async def stop(self) -> None:
        """Say goodbye (so runs stop sending here at once) and cancel what runs."""
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.publish(self.topics.status(self.id), dump(Gone(worker=self.id, reason="stopped")),
                                           qos=1, retain=True)
        for task in list(self._tasks):
            task.cancel()

    async def _beat(self, client: Any) -> None:
        while True:
            await client.publish(self.topics.heartbeat(self.id),
                                 dump(Heartbeat(worker=self.id, ts=time.time(), busy=len(self._running))), qos=0)
            await asyncio.sleep(self.heartbeat_s)

    def _receive(self, topic: str, payload: bytes) -> None:  # the one topic it subscribes to: its jobs
        try:
            job = parse(payload)
        except BusMessageError as exc:
            log.warning("worker %s: dropped a message on its job topic: %s", self.id, exc)
            return
        if isinstance(job, FilePart):
            if job.job_id not in self._done and job.job_id not in self._running:
                if len(self._inputs) >= KEEP_RESULTS:  # chunks of jobs that never came: forget the oldest
                    self._inputs.pop(next(iter(self._inputs)))
                self._inputs.setdefault(job.job_id, {}).setdefault(job.original, {})[job.index] = \
                    base64.b64decode(job.data)
            return
        if isinstance(job, Cancel):
            if (task := self._jobs.get(job.job_id)) is not None:
                log.info("worker %s: job %s cancelled by its run", self.id, job.job_id)
                task.cancel()
            return
        if not isinstance(job, Job):
            log.warning("worker %s: dropped a %s on its job topic (only jobs go there)", self.id, job.kind)
            return
        if job.reply_to != self.topics.replies(job.run_id, self.id):
            log.warning("worker %s: dropped job %s: it asks for replies on %s, not this worker's topic for the run",
                        self.id, job.job_id, job.reply_to)
            return
        if job.job_id in self._done:  # a redelivery: the same answer, not a second effect
            log.info("worker %s: job %s again; sending its result again", self.id, job.job_id)
            for topic, data in self._done[job.job_id]:
                self._send(topic, data)
            return
        if job.job_id in self._running:
            return
        self._running.add(job.job_id)
        task = asyncio.create_task(self._run(job), name=f"job:{job.job_id}")
        self._tasks.add(task)
        self._jobs[job.job_id] = task
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._jobs.pop(job.job_id, None))

    async def _run(self, job: Job) -> None:
        started = time.perf_counter()
        sent: list[tuple[str, bytes]] = []
        try:
            async with self._slots:
                result, chunks = await self._execute(job)
            result.duration_s = round(time.perf_counter() - started, 6)
            sent = [(job.reply_to, dump(c)) for c in chunks] + [(job.reply_to, dump(result))]
            self._done[job.job_id] = sent
            self._kept += sum(len(data) for _, data in sent)
            while len(self._done) > KEEP_RESULTS or (self._kept > KEEP_BYTES and len(self._done) > 1):
                _, old = self._done.popitem(last=False)
                self._kept -= sum(len(data) for _, data in old)
            self.jobs_run += 1
        finally:
            self._running.discard(job.job_id)
        for topic, data in sent:  # in this job's own task: in order, and no task per message
            if self._client is None:
                self._outbox.append((topic, data))
            else:
                await self._publish(topic, data, keep=True)

    async def _execute(self, job: Job) -> tuple[Result, list[Chunk]]:
        def failed(error: str) -> tuple[Result, list[Chunk]]:
            return Result(job_id=job.job_id, worker=self.id, ok=False, error=error), []

        exp = self.experts.get(job.expert)
        if exp is None:
            return failed(f"worker {self.id} does not serve {job.expert!r} (it serves {', '.join(self.experts)})")
        op = exp.card.operation_for(job.capability)
        if op is None:
            return failed(f"{job.expert} has no operation {job.capability!r}")
        raw = job.inputs
        if job.files:
            chunks = self._inputs.pop(job.job_id, {})
            folder = self.workdir / job.run_id / "inputs" / f"{job.node_id}-{job.attempt}"
            try:
                moved = {f.original: str(unpack(f, chunks.get(f.original, {}), folder / str(i)))
                         for i, f in enumerate(job.files)}
            except (ExpertError, OSError, tarfile.TarError) as exc:
                return failed(f"the job's input files: {exc}")
            raw = relocate(raw, moved)
        try:
            inputs = op.input_model.model_validate(raw)
        except Exception as exc:
            return failed(f"inputs do not fit `{job.capability}` of {job.expert}: {exc}")
        ctx = ExpertContext(run_id=job.run_id, node_id=job.node_id, run_dir=self.workdir / job.run_id,
                            attempt=job.attempt, emit=self._progress(job), expert_name=job.expert)
        try:
            out = await exp.run(job.capability, inputs, ctx)
        except asyncio.CancelledError:
            ctx.cancel()  # an expert working in a thread polls this
            raise
        except Exception as exc:  # the runtime decides what a failure means (retry elsewhere, replan)
            return failed(str(exc) if isinstance(exc, AgentOSError) else f"{type(exc).__name__}: {exc}")
        infos, chunks = [], []
        files = ctx.artifacts.files()  # none, without a look at the disk, unless the expert asked for a path
        for path in files:
            data = path.read_bytes()
            rel = str(path.relative_to(ctx.artifacts.root))
            pieces = [data[i:i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)] or [b""]
            infos.append(ArtifactInfo(path=rel, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                                      chunks=len(pieces)))
            chunks += [Chunk(job_id=job.job_id, worker=self.id, path=rel, index=i, total=len(pieces),
                             data=base64.b64encode(piece).decode()) for i, piece in enumerate(pieces)]
        workdir = str(ctx.artifacts.root.resolve()) if files else ""
        return Result(job_id=job.job_id, worker=self.id, ok=True, output=out.model_dump(mode="json"),
                      artifacts=infos, cost=ctx.cost, workdir=workdir), chunks

    def _progress(self, job: Job) -> Any:
        loop = asyncio.get_running_loop()

        def emit(event: Any) -> None:  # from the loop or an expert's thread
            if isinstance(event, NodeProgress):
                message = Progress(job_id=job.job_id, worker=self.id, fraction=event.fraction, message=event.message)
                loop.call_soon_threadsafe(self._send, job.reply_to, dump(message), False)

        return emit

    def _send(self, topic: str, data: bytes, keep: bool = True) -> None:
        """Publish in the background; what cannot go now (no broker) waits in the outbox when `keep`."""
        if self._client is None:
            if keep:
                self._outbox.append((topic, data))
            return
        task = asyncio.create_task(self._publish(topic, data, keep))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, topic: str, data: bytes, keep: bool) -> None:
        try:
            await self._client.publish(topic, data, qos=1)
        except Exception as exc:
            log.warning("worker %s: could not send to %s (%s); kept for the next connection", self.id, topic, exc)
            if keep:
                self._outbox.append((topic, data))

    async def _flush(self) -> None:
        pending, self._outbox = self._outbox, []
        for topic, data in pending:
            self._send(topic, data)
