"""Input files shipped with a job: the files and folders its inputs name on this machine, sent in chunks.

A job's inputs are JSON; any string in them that is an absolute path to an existing file or folder here
is shipped (a folder as a tar of its contents), in checksummed chunks on the worker's job topic just
before the job. The worker puts each under its own folder for the job and rewrites the inputs to point
there (a path inside a shipped folder too), so an expert reads the same bytes on any machine.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
from pathlib import Path
from typing import Any

from agentos.bus.messages import CHUNK_BYTES, FileInfo, FilePart
from agentos.errors import ExpertError

MAX_INPUT_BYTES = 512 * 1024 * 1024  # the files one job may ship


def local_paths(value: Any) -> list[str]:
    """The absolute paths in `value` (any JSON) that exist on this machine, each once, in order."""
    found: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            if v.startswith("/") and len(v) > 1 and v not in found and Path(v).exists():
                found.append(v)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)

    walk(value)
    # a path inside another shipped folder travels with that folder
    return [p for p in found if not any(p != q and p.startswith(q.rstrip("/") + "/") for q in found)]


def _pack(path: Path) -> bytes:
    if path.is_file():
        return path.read_bytes()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for item in sorted(path.rglob("*")):
            if item.is_file():
                tar.add(item, arcname=str(item.relative_to(path)), recursive=False)
    return buf.getvalue()


def pack_inputs(inputs: dict[str, Any], job_id: str) -> tuple[list[FileInfo], list[FilePart]]:
    """What to ship for `inputs`: the files' descriptions (for the job) and their chunks (sent before it)."""
    infos, parts, total = [], [], 0
    for original in local_paths(inputs):
        path = Path(original)
        data = _pack(path)
        total += len(data)
        if total > MAX_INPUT_BYTES:
            raise ExpertError(f"the job's input files pass {MAX_INPUT_BYTES} bytes at {original}: too much to "
                              "send over the broker; put them where the worker can read them")
        pieces = [data[i:i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)] or [b""]
        infos.append(FileInfo(original=original, name=path.name or "root", form="file" if path.is_file() else "folder",
                              size=len(data), sha256=hashlib.sha256(data).hexdigest(), chunks=len(pieces)))
        parts += [FilePart(job_id=job_id, original=original, index=i, total=len(pieces),
                           data=base64.b64encode(piece).decode()) for i, piece in enumerate(pieces)]
    return infos, parts


def unpack(info: FileInfo, chunks: dict[int, bytes], folder: Path) -> Path:
    """Write one shipped input under `folder` after checking it is whole; its new path."""
    if sorted(chunks) != list(range(info.chunks)):
        raise ExpertError(f"input {info.original} arrived in {len(chunks)} of {info.chunks} chunks")
    data = b"".join(chunks[i] for i in range(info.chunks))
    if len(data) != info.size or hashlib.sha256(data).hexdigest() != info.sha256:
        raise ExpertError(f"input {info.original} does not match its checksum")
    target = folder / info.name
    target.parent.mkdir(parents=True, exist_ok=True)
    if info.form == "file":
        target.write_bytes(data)
    else:
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
            tar.extractall(target, filter="data")  # no absolute paths, no `..`, no links out
    return target


def relocate(value: Any, moved: dict[str, str]) -> Any:
    """`value` with each shipped path (and any path inside a shipped folder) pointing at its new place."""
    if isinstance(value, str):
        for old, new in moved.items():
            if value == old:
                return new
            if value.startswith(old.rstrip("/") + "/"):
                return new + value[len(old.rstrip("/")):]
        return value
    if isinstance(value, list):
        return [relocate(v, moved) for v in value]
    if isinstance(value, dict):
        return {k: relocate(v, moved) for k, v in value.items()}
    return value
