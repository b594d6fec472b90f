"""The runtime's side of the bus: live workers as experts the router can pick, and jobs sent to them.

`Dispatcher` follows the workers' retained status messages and heartbeats; each live worker's experts
become `RemoteExpert`s (named `EXPERT@WORKER`) in the run's registry, candidates like local ones. A
call sends a job (QoS 1) and waits for its result; the artifacts arrive first, in chunks that are
checked against their SHA-256 and written into the run's own folder, and the output's paths are
rewritten to point there. When a worker goes (its last will, a goodbye, or three missed heartbeats)
its unfinished jobs fail with an error that says so, and the runtime tries the next candidate: another
worker or a local expert, within the run's retry budget. When the broker goes, the dispatcher
reconnects with backoff and sends its unfinished jobs again; workers answer a job id only once.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from agentos.bus.broker import Broker, until_disconnected
from agentos.bus.files import pack_inputs
from agentos.bus.messages import (
    Announce,
    BusMessageError,
    Cancel,
    Chunk,
    ExpertInfo,
    Gone,
    Heartbeat,
    Job,
    Progress,
    Result,
    Topics,
    dump,
    parse,
)
from agentos.bus.worker import BACKOFF_S
from agentos.errors import ExpertError
from agentos.events import JobDispatched, JobReturned
from agentos.registry import Registry
from agentos.sdk import Expert, ExpertCard, ExpertContext, OperationCard

log = logging.getLogger("agentos.bus")
MISSED_BEATS = 3  # a worker silent this many heartbeats is taken for gone


@dataclass
class _WorkerState:
    announce: Announce
    last_seen: float
    alive: bool = True
    gone_at: float = 0.0
    busy: int = 0  # jobs running, as its last heartbeat said

    @property
    def grace_s(self) -> float:
        """How long a worker whose connection dropped may take to come back before its jobs go elsewhere:
        a broker restart drops every connection (and sends every last will) without any worker dying."""
        return MISSED_BEATS * self.announce.heartbeat_s


@dataclass
class _Pending:
    job: Job
    worker: str
    future: asyncio.Future[Result]
    progress: Any = None
    parts: dict[str, dict[int, bytes]] = field(default_factory=dict)
    inputs_sent: list[bytes] = field(default_factory=list)  # the input files' chunks, sent again with the job


class WorkerStatus(BaseModel):
    """A worker as the dispatcher sees it, for the page and the CLI."""

    worker: str
    alive: bool = Field(description="false once its last will, its goodbye or three missed heartbeats came")
    experts: list[str] = Field(description="the experts it serves, as candidates are named: EXPERT@WORKER")
    capabilities: list[str]
    concurrency: int
    busy: int = Field(description="jobs running, as its last heartbeat said")
    heartbeat_s: float
    seen_s_ago: float = Field(description="seconds since it was last heard from")


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


def _model_from_schema(name: str, schema: dict[str, Any]) -> type[BaseModel]:
    """A model with the schema's fields (any JSON value; required as the schema says): for experts this
    machine does not have installed. The worker checks the real types."""
    required = set(schema.get("required", []))
    fields: dict[str, Any] = {key: (Any, ...) if key in required else (Any | None, None)
                              for key in schema.get("properties", {})}
    return create_model(name, __base__=_Open, **fields)


class RemoteExpert(Expert):
    """An expert a worker serves: the card of that expert (the local one when installed here, for its typed
    models), named `EXPERT@WORKER`; `run` sends the job through the dispatcher."""

    def __init__(self, dispatcher: Dispatcher, worker: str, info: ExpertInfo, local: Expert | None):
        self.dispatcher, self.worker, self.remote_name = dispatcher, worker, info.name
        ops = []
        for op in info.operations:
            here = local.card.operation_for(op.capability) if local is not None else None
            ops.append(OperationCard(
                name=op.capability.split(".")[-1], capability=op.capability, description=op.description,
                input_model=here.input_model if here else _model_from_schema(f"{info.name}In", op.input_schema),
                output_model=here.output_model if here else _model_from_schema(f"{info.name}Out", op.output_schema),
                cost=op.cost, latency_s=op.latency_s, checks=here.checks if here else []))
        self._card = ExpertCard(name=f"{info.name}@{worker}", domain=info.domain, version=info.version,
                                description=f"{info.description} (on worker {worker})", operations=ops)
        self._handlers = {}

    async def run(self, capability: str, inputs: BaseModel, ctx: ExpertContext) -> BaseModel:
        op = self.card.operation_for(capability)
        if op is None:
            raise ExpertError(f"{self.card.name} has no operation {capability!r}")
        return await self.dispatcher.call(self, op, inputs, ctx)


class Dispatcher:
    """One connection to the broker for a run (or a server): the workers it sees and the jobs it has sent."""

    def __init__(self, broker: Broker, *, topics: Topics | None = None, identifier: str | None = None):
        self.broker = broker
        self.topics = topics or Topics()
        self.identifier = identifier or f"agentos-run-{secrets.token_hex(4)}"
        self.workers: dict[str, _WorkerState] = {}
        self.pending: dict[str, _Pending] = {}
        self._client: Any = None
        self._connected = asyncio.Event()
        self._since = 0.0  # when the current connection began: silence before it is the broker's, not a worker's
        self._task: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None

    # connection ----------------------------------------------------------------------------------
    async def start(self, settle_s: float = 0.5) -> None:
        """Connect (failing clearly when the broker cannot be reached) and take in the retained worker statuses."""
        import aiomqtt

        try:  # the first connection is tried once, so a wrong URL or password is an error, not a hang
            client = self.broker.client(self.identifier, on_message=self._receive)
            await client.__aenter__()
        except aiomqtt.MqttError as exc:
            raise ExpertError(f"cannot reach the broker {self.broker}: {exc}") from None
        self._task = asyncio.create_task(self._serve(client), name="agentos-bus")
        self._watch = asyncio.create_task(self._watch_heartbeats(), name="agentos-bus-heartbeats")
        await asyncio.wait_for(self._connected.wait(), timeout=10)
        await asyncio.sleep(settle_s)  # retained statuses arrive right after the subscription

    async def _serve(self, client: Any) -> None:
        import aiomqtt

        attempt = 0
        while True:
            try:
                if client is None:
                    client = self.broker.client(self.identifier, on_message=self._receive)
                    await client.__aenter__()
                self._client, attempt, self._since = client, 0, time.time()
                await client.subscribe(self.topics.all_workers, qos=1)
                await client.subscribe(self.topics.all_replies, qos=1)
                self._connected.set()
                for p in list(self.pending.values()):  # sent again: the worker answers a job id once
                    for part in p.inputs_sent:
                        await client.publish(self.topics.jobs(p.worker), part, qos=1)
                    await client.publish(self.topics.jobs(p.worker), dump(p.job), qos=1)
                await until_disconnected(client)
            except aiomqtt.MqttError as exc:
                self._connected.clear()
                self._client = None
                wait = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
                attempt += 1
                log.warning("broker %s lost (%s); reconnecting in %.1f s", self.broker, exc, wait)
                await asyncio.sleep(wait)
            finally:
                if client is not None:
                    with contextlib.suppress(Exception):
                        await client.__aexit__(None, None, None)
                client = None

    async def close(self) -> None:
        for task in (self._watch, self._task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    # workers -------------------------------------------------------------------------------------
    def live_workers(self) -> list[str]:
        return sorted(w for w, s in self.workers.items() if s.alive)

    def statuses(self) -> list[WorkerStatus]:
        """Every worker heard of since this dispatcher connected, live or gone, by name."""
        now = time.time()
        return [WorkerStatus(worker=w, alive=s.alive, experts=[f"{e.name}@{w}" for e in s.announce.experts],
                             capabilities=sorted({op.capability for e in s.announce.experts for op in e.operations}),
                             concurrency=s.announce.concurrency, busy=s.busy if s.alive else 0,
                             heartbeat_s=s.announce.heartbeat_s, seen_s_ago=round(max(0.0, now - s.last_seen), 1))
                for w, s in sorted(self.workers.items())]

    def experts(self, local: Registry | None = None) -> list[RemoteExpert]:
        """Every live worker's experts, with the local card's models where this machine has that expert."""
        out = []
        for worker in self.live_workers():
            for info in self.workers[worker].announce.experts:
                here = local.get(info.name) if local is not None and info.name in local else None
                out.append(RemoteExpert(self, worker, info, here))
        return out

    async def _watch_heartbeats(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            if not self._connected.is_set():
                continue  # no heartbeat can arrive now; that says nothing about the workers
            now = time.time()
            for worker, state in self.workers.items():
                heard = max(state.last_seen, self._since)
                if state.alive and now - heard > MISSED_BEATS * state.announce.heartbeat_s:
                    self._gone(worker, f"missed {MISSED_BEATS} heartbeats")

    def _gone(self, worker: str, reason: str, grace_s: float = 0.0) -> None:
        """The worker is gone; its unfinished jobs fail now, or after `grace_s` unless it is back by then."""
        state = self.workers.get(worker)
        if state is not None:
            state.alive, state.gone_at = False, time.time()
        if grace_s > 0 and state is not None:
            gone_at = state.gone_at
            asyncio.get_running_loop().call_later(grace_s, self._still_gone, worker, reason, gone_at)
            return
        self._fail_jobs(worker, reason)

    def _still_gone(self, worker: str, reason: str, gone_at: float) -> None:
        state = self.workers.get(worker)
        if state is not None and not state.alive and state.gone_at == gone_at:
            self._fail_jobs(worker, reason)

    def _fail_jobs(self, worker: str, reason: str) -> None:
        for job_id, p in list(self.pending.items()):
            if p.worker == worker and not p.future.done():
                p.future.set_exception(ExpertError(f"worker {worker} went away mid-job ({reason})"))
                self.pending.pop(job_id, None)

    # messages ------------------------------------------------------------------------------------
    def _receive(self, topic: str, payload: bytes) -> None:
        if not payload:
            return  # a cleared retained message
        try:
            message = parse(payload)
        except BusMessageError as exc:
            log.warning("dropped a message on %s: %s", topic, exc)
            return
        sender = topic.split("/")[-1] if topic.startswith(f"{self.topics.root}/runs/") else topic.split("/")[-2]
        if getattr(message, "worker", sender) != sender:  # a worker may only speak for itself
            log.warning("dropped a %s on %s: it claims to come from %s", message.kind, topic, message.worker)
            return
        if isinstance(message, Announce):
            self.workers[message.worker] = _WorkerState(message, time.time())
        elif isinstance(message, Gone):  # a goodbye is final; a last will may be a broker restart
            state = self.workers.get(message.worker)
            grace = state.grace_s if state is not None and message.reason == "connection lost" else 0.0
            self._gone(message.worker, message.reason or "said goodbye", grace)
        elif isinstance(message, Heartbeat):
            if (state := self.workers.get(message.worker)) is not None:
                state.last_seen = time.time()
                state.alive, state.busy = True, message.busy
        elif isinstance(message, Progress):
            if (p := self.pending.get(message.job_id)) is not None and p.progress is not None:
                p.progress(message.fraction, message.message)
        elif isinstance(message, Chunk):
            if (p := self.pending.get(message.job_id)) is not None and message.worker == p.worker:
                p.parts.setdefault(message.path, {})[message.index] = base64.b64decode(message.data)
        elif isinstance(message, Result):
            p = self.pending.get(message.job_id)
            if p is not None and message.worker == p.worker and not p.future.done():
                p.future.set_result(message)  # a duplicate result of a finished job finds nothing pending
        else:
            log.warning("dropped a %s on %s: not a message for the runtime", message.kind, topic)

    # jobs ----------------------------------------------------------------------------------------
    async def call(self, expert: RemoteExpert, op: OperationCard, inputs: BaseModel, ctx: ExpertContext) -> BaseModel:
        worker = expert.worker
        await self._wait_for(worker)
        job_id = f"{ctx.run_id}:{ctx.node_id}:{ctx.attempt}:{secrets.token_hex(4)}"
        raw = inputs.model_dump(mode="json", exclude_unset=True)
        files, parts = pack_inputs(raw, job_id)
        job = Job(job_id=job_id, run_id=ctx.run_id, node_id=ctx.node_id, attempt=ctx.attempt, expert=expert.remote_name,
                  capability=op.capability, inputs=raw, reply_to=self.topics.replies(ctx.run_id, worker), files=files)
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        pending = _Pending(job, worker, future, progress=ctx.progress,
                           inputs_sent=[dump(part) for part in parts])
        self.pending[job.job_id] = pending
        ctx.emit_event(JobDispatched(run_id=ctx.run_id, node_id=ctx.node_id, worker=worker, job_id=job.job_id))
        try:
            if self._client is not None:  # the files first: one topic keeps its messages in order
                for part in pending.inputs_sent:
                    await self._client.publish(self.topics.jobs(worker), part, qos=1)
                await self._client.publish(self.topics.jobs(worker), dump(job), qos=1)
            result = await future  # a lost broker resends it on reconnect; a lost worker fails it
        except asyncio.CancelledError:  # the run stops: so does the job, wherever it runs
            if self._client is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._client.publish(self.topics.jobs(worker),
                                                              dump(Cancel(job_id=job.job_id)), qos=1))
            raise
        finally:
            self.pending.pop(job.job_id, None)
        ctx.emit_event(JobReturned(run_id=ctx.run_id, node_id=ctx.node_id, worker=worker, job_id=job.job_id,
                                   ok=result.ok))
        if not result.ok:
            raise ExpertError(f"on worker {worker}: {result.error}")
        self._write_artifacts(pending, result, ctx)
        ctx.cost = result.cost
        output = result.output or {}
        if result.artifacts and result.workdir:  # paths only point into a folder that has files
            output = _rewrite(output, result.workdir, str(ctx.artifacts.root.resolve()))
        return op.output_model.model_validate(output)

    async def _wait_for(self, worker: str) -> None:
        """Return when `worker` is live; a worker that dropped off a moment ago gets its grace to come back."""
        state = self.workers.get(worker)
        if state is None:
            raise ExpertError(f"no worker {worker} on {self.broker}")
        deadline = time.time() + state.grace_s
        while not (self.workers[worker].alive and self._connected.is_set()):
            if time.time() > deadline:
                raise ExpertError(f"worker {worker} is gone")
            await asyncio.sleep(0.1)

    def _write_artifacts(self, p: _Pending, result: Result, ctx: ExpertContext) -> None:
        for info in result.artifacts:
            parts = p.parts.get(info.path, {})
            if sorted(parts) != list(range(info.chunks)):
                raise ExpertError(f"artifact {info.path} from worker {p.worker} came in {len(parts)} of "
                                  f"{info.chunks} chunks")
            data = b"".join(parts[i] for i in range(info.chunks))
            if len(data) != info.size or hashlib.sha256(data).hexdigest() != info.sha256:
                raise ExpertError(f"artifact {info.path} from worker {p.worker} does not match its checksum")
            ctx.artifacts.write_bytes(info.path, data)


def _rewrite(value: Any, old: str, new: str) -> Any:
    """`value` with every string under the worker's folder `old` moved under the local folder `new`."""
    if isinstance(value, str):
        return new + value[len(old):] if value == old or value.startswith(old + "/") else value
    if isinstance(value, list):
        return [_rewrite(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _rewrite(v, old, new) for k, v in value.items()}
    return value
