"""The messages workers and the runtime exchange over MQTT, and the topics they travel on.

Every payload is one JSON object with a `kind`, validated on arrival against these models (size first):
a message that does not validate is logged and dropped, never acted on. Jobs and their results carry
the job id the runtime chose, so a redelivered job (QoS 1 delivers at least once) is recognised and its
effect happens once. Artifact files travel as chunks with the whole file's SHA-256, so a missing or
damaged chunk is noticed instead of a file truncated silently.

Topics (`agentos/` by default):
    agentos/workers/<worker>/status      retained: the worker's announce; its last will clears it to gone
    agentos/workers/<worker>/heartbeat   every few seconds while it lives
    agentos/jobs/<worker>                jobs for that worker, each after its input files (only it may read them)
    agentos/runs/<run>/<worker>          what that worker sends back for that run (only it may write there)
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # a message larger than this is refused unread
CHUNK_BYTES = 256 * 1024  # artifact bytes per chunk message (before base64)
ROOT = "agentos"
SAFE_NAME = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$"


class BusMessageError(ValueError):
    """A payload that is too large, not JSON, or not one of the messages below."""


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OperationInfo(_Message):
    capability: str
    description: str = ""
    input_schema: dict[str, Any] = Field(default_factory=dict)
    output_schema: dict[str, Any] = Field(default_factory=dict)
    cost: float = 0.0
    latency_s: float = 0.0


class ExpertInfo(_Message):
    name: str
    domain: str
    description: str = ""
    version: str = "0.1.0"
    operations: list[OperationInfo]


class Announce(_Message):
    kind: Literal["worker.announce"] = "worker.announce"
    worker: str
    experts: list[ExpertInfo]
    concurrency: int = Field(ge=1)
    started: float
    heartbeat_s: float = Field(gt=0, description="how often it beats; missing three beats means it is gone")


class Gone(_Message):
    kind: Literal["worker.gone"] = "worker.gone"
    worker: str
    reason: str = ""


class Heartbeat(_Message):
    kind: Literal["worker.heartbeat"] = "worker.heartbeat"
    worker: str
    ts: float
    busy: int = 0


class _Blob(_Message):
    """Bytes sent in chunks: how many, and what the whole must add up to."""

    size: int = Field(ge=0)
    sha256: str
    chunks: int = Field(ge=1)


class _Part(_Message):
    """One chunk of a blob."""

    job_id: str
    index: int = Field(ge=0)
    total: int = Field(ge=1)
    data: str = Field(description="base64")


class FileInfo(_Blob):
    original: str = Field(description="the path as the job's inputs name it on the runtime's machine")
    name: str
    form: Literal["file", "folder"] = Field(description="a folder travels as a tar of its contents")


class FilePart(_Part):
    kind: Literal["job.file"] = "job.file"
    original: str


class Job(_Message):
    kind: Literal["job"] = "job"
    job_id: str = Field(min_length=8, max_length=80, pattern=r"^[A-Za-z0-9._:-]+$")
    # both name folders on the worker: no separator, and no leading dot (so never "." or "..")
    run_id: str = Field(pattern=SAFE_NAME)
    node_id: str = Field(pattern=SAFE_NAME)
    attempt: int = 1
    expert: str
    capability: str
    inputs: dict[str, Any]
    reply_to: str = Field(description="the topic the worker answers on (agentos/runs/<run>/<worker>)")
    files: list[FileInfo] = Field(default_factory=list, description="input files sent just before the job")


class Cancel(_Message):
    """The runtime no longer wants this job (the run was cancelled or timed out): stop it."""

    kind: Literal["job.cancel"] = "job.cancel"
    job_id: str


class Progress(_Message):
    kind: Literal["job.progress"] = "job.progress"
    job_id: str
    worker: str
    fraction: float | None = None
    message: str = ""


class Chunk(_Part):
    kind: Literal["job.chunk"] = "job.chunk"
    worker: str
    path: str = Field(description="relative to the node's artifacts folder")


class ArtifactInfo(_Blob):
    path: str


class Result(_Message):
    kind: Literal["job.result"] = "job.result"
    job_id: str
    worker: str
    ok: bool
    output: dict[str, Any] | None = None
    error: str | None = None
    artifacts: list[ArtifactInfo] = Field(default_factory=list)
    cost: float = 0.0
    duration_s: float = 0.0
    workdir: str = Field("", description="the worker's folder for this node: output paths under it are "
                         "rewritten to the runtime's own")


Message = Annotated[Announce | Gone | Heartbeat | Job | FilePart | Cancel | Progress | Chunk | Result,
                    Field(discriminator="kind")]
_MESSAGE: TypeAdapter[Any] = TypeAdapter(Message)


def parse(payload: bytes | bytearray | str) -> Any:
    """The message in `payload`; BusMessageError (saying why) when it is too large or not a valid message."""
    if len(payload) > MAX_MESSAGE_BYTES:
        raise BusMessageError(f"message of {len(payload)} bytes is over the {MAX_MESSAGE_BYTES}-byte limit")
    try:  # pydantic-core parses and validates in one pass, without building the JSON tree in Python first
        return _MESSAGE.validate_json(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise BusMessageError(f"not JSON: {first['ctx']['error']}") from None
        where = ".".join(map(str, first["loc"])) or "the message"
        raise BusMessageError(f"not a valid message: {where}: {first['msg']}") from None


def dump(message: BaseModel) -> bytes:
    return message.model_dump_json().encode()


class Topics:
    """The topic names under one root."""

    def __init__(self, root: str = ROOT):
        self.root = root.strip("/")

    def status(self, worker: str) -> str:
        return f"{self.root}/workers/{worker}/status"

    def heartbeat(self, worker: str) -> str:
        return f"{self.root}/workers/{worker}/heartbeat"

    def jobs(self, worker: str) -> str:
        return f"{self.root}/jobs/{worker}"

    def replies(self, run_id: str, worker: str) -> str:
        return f"{self.root}/runs/{run_id}/{worker}"

    @property
    def all_workers(self) -> str:
        return f"{self.root}/workers/+/+"

    @property
    def all_replies(self) -> str:
        return f"{self.root}/runs/+/+"
