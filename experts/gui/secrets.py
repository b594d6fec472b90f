"""Secrets for the GUI steps: read from the environment or a KEY=value file, never written anywhere.

A step types a secret by name (`fill "Password" with secret password`); its value is looked up
here when the node runs, typed into the page, masked in every screenshot (password fields and the
fields a secret went into) and scrubbed from every message, snapshot and trace the node writes.
"""

from __future__ import annotations

import os
from pathlib import Path

from agentos.errors import ExpertError
from experts.gui.models import SecretRef

MASK = "••••"


def _from_file(path: Path, key: str) -> str | None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ExpertError(f"secrets file {path}: cannot be read ({exc.strerror})") from None
    for line in lines:
        k, sep, v = line.partition("=")
        if sep and k.strip() == key:
            return v.strip()
    return None


def resolve_secrets(refs: dict[str, SecretRef]) -> dict[str, str]:
    """Every named secret's value; an `ExpertError` naming the secret and where it was looked for."""
    values = {}
    for name, ref in refs.items():
        if ref.env:
            value = os.environ.get(ref.env)
            where = f"environment variable {ref.env}"
        elif ref.file:
            value = _from_file(ref.file, ref.key or name)
            where = f"{ref.file} (key {ref.key or name})"
        else:
            raise ExpertError(f"secrets.{name}: give `env` (a variable) or `file` (a KEY=value file)")
        if not value:
            raise ExpertError(f"secrets.{name}: {where} is not set or empty")
        values[name] = value
    return values


def scrub(text: str, secrets: dict[str, str]) -> str:
    """`text` with every secret value replaced by the mask."""
    for value in sorted(secrets.values(), key=len, reverse=True):
        text = text.replace(value, MASK)
    return text
