"""A model folder as the host, run in this process: the offline default, loaded only when first asked.

A task with an explicit graph may never need its host (only a failed node asks for a replan), and
loading means importing torch and starting an engine thread, so `LocalHost` waits for its first
`chat`. The folder's `agentos_planner.json` says which planning prompt the model was trained on.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agentos.errors import UserError
from agentos.planning.format import PLANNER_FILE, PlannerCard

if TYPE_CHECKING:
    from host_model import ChatReply
    from host_model.engine_host import EngineHost

BUNDLED_NAME = "step3p5-mini"


def bundled_model_dir() -> Path | None:
    """The shipped offline planner's folder, or None when this install has no host_model or no checkpoint."""
    spec = importlib.util.find_spec("host_model")  # finds the package without importing torch
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "checkpoints" / BUNDLED_NAME
    return folder if (folder / "config.json").is_file() else None


def read_planner_card(folder: Path) -> PlannerCard | None:
    path = folder / PLANNER_FILE
    if not path.is_file():
        return None
    try:
        return PlannerCard.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise UserError(f"{path}: not a valid planner card: {exc}") from None


class LocalHost:
    """`HostModel` over a model folder, loaded in-process on first use (greedy, thinking off)."""

    def __init__(self, folder: Path, *, temperature: float = 0.0, max_tokens: int | None = None) -> None:
        self.folder = folder
        missing = [f for f in ("config.json", "tokenizer.json") if not (folder / f).is_file()]
        if not folder.is_dir() or missing:
            raise UserError(f"host model_dir {folder}: not a model folder (missing "
                            f"{', '.join(missing) or 'the folder itself'}; it needs config.json, safetensors "
                            "weights, tokenizer.json and tokenizer_config.json)")
        self.card = read_planner_card(folder)
        self.temperature = temperature
        self.max_tokens = max_tokens or (self.card.max_new_tokens if self.card else None)
        self.name = f"local:{folder.name}"
        self._engine: EngineHost | None = None
        self._loading = threading.Lock()

    def __repr__(self) -> str:
        return f"<LocalHost {self.folder}>"

    @property
    def planner_card(self) -> PlannerCard | None:
        """The folder's planner card, which `HostAgent` reads for the prompt and the copy rule."""
        return self.card

    @property
    def prompt_format(self) -> str | None:
        """The planning prompt the model was trained on (its card), which `HostAgent(prompt="auto")` reads."""
        return self.card.format if self.card else None

    def engine(self) -> EngineHost:
        """The loaded engine (loading it now if this is the first call); blocking, so call it in a thread."""
        with self._loading:
            if self._engine is None:
                from host_model.engine_host import EngineHost

                self._engine = EngineHost.from_folder(self.folder, temperature=self.temperature,
                                                      max_tokens=self.max_tokens, model_name=self.folder.name,
                                                      enable_thinking=False)
        return self._engine

    async def chat(self, messages: list[dict[str, Any]], **options: Any) -> ChatReply:
        engine = self._engine or await asyncio.to_thread(self.engine)
        return await engine.chat(messages, **options)

    async def chat_stream(self, messages: list[dict[str, Any]], **options: Any) -> AsyncIterator[str]:
        """The engine's text deltas (see `host_model.StreamingHostModel`), loading it first if needed."""
        engine = self._engine or await asyncio.to_thread(self.engine)
        async with contextlib.aclosing(engine.chat_stream(messages, **options)) as deltas:
            async for delta in deltas:
                yield delta

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
