"""Uploaded task files and inputs: size-limited, type-checked, and written only inside one workspace folder.

A file's type is told by its name and checked against its first bytes (a `.wav` must start as a WAV, a
`.png` as a PNG; text types must be UTF-8), so a renamed binary is refused before any expert opens it.
Names are reduced to a plain file name: an upload can never write outside its workspace.
"""

from __future__ import annotations

import re
from pathlib import Path

from agentos.errors import UserError

TASK_SUFFIXES = (".yaml", ".yml", ".json")
_MAGIC: dict[str, tuple[bytes, ...]] = {
    ".wav": (b"RIFF",), ".flac": (b"fLaC",), ".ogg": (b"OggS",),
    ".mp3": (b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"),
    ".png": (b"\x89PNG\r\n\x1a\n",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",), ".webp": (b"RIFF",),
    ".pdf": (b"%PDF",),
}
_TEXT = (".yaml", ".yml", ".json", ".md", ".txt", ".rst", ".html", ".htm", ".csv", ".obj", ".ply")
ALLOWED = tuple(sorted({*_MAGIC, *_TEXT}))


class UploadError(UserError):
    """An upload refused; `status` is the HTTP status that says why (413 too large, 415 wrong type)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def safe_name(name: str) -> str:
    """The last path part of an uploaded name, with anything but letters, digits, `.-_` made `_`."""
    base = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name.replace("\\", "/")).name).lstrip(".")
    if not base:
        raise UploadError(f"upload name {name!r} has no usable file name", 415)
    return base


def check_type(name: str, head: bytes, allowed: tuple[str, ...] = ALLOWED) -> None:
    suffix = Path(name).suffix.lower()
    if suffix not in allowed:
        raise UploadError(f"{name}: files of type {suffix or '(none)'} are not accepted; accepted: "
                          f"{', '.join(allowed)}", 415)
    if suffix in _MAGIC and not head.startswith(_MAGIC[suffix]):
        raise UploadError(f"{name}: the content is not a {suffix[1:].upper()} file", 415)
    if suffix in _TEXT:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # a multi-byte character cut by the sniffing window is fine
                raise UploadError(f"{name}: not UTF-8 text", 415) from None


def store(workspace: Path, name: str, data: bytes, *, limit: int, allowed: tuple[str, ...] = ALLOWED) -> Path:
    """Write one upload into `workspace` under its safe name, after the size and type checks."""
    if len(data) > limit:
        raise UploadError(f"{name}: {len(data)} bytes is over the upload limit of {limit} bytes", 413)
    safe = safe_name(name)
    check_type(safe, data[:4096], allowed)
    workspace.mkdir(parents=True, exist_ok=True)
    path = workspace / safe
    if path.exists():
        raise UploadError(f"two uploads are named {safe}", 415)
    path.write_bytes(data)
    return path
