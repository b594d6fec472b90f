"""The workers the page lists: one dispatcher connection to the server's broker, opened on first use.

Runs started from the page open their own connection (through `agentos.arun`), as CLI runs do; this
one only watches the workers' announces and heartbeats. A broker that cannot be reached is said in
the answer, and tried again on a later request, so the page works without one.
"""

from __future__ import annotations

import asyncio
import secrets
import time

from pydantic import BaseModel, Field

from agentos.bus import Broker, Dispatcher, WorkerStatus, parse_broker
from agentos.errors import AgentOSError
from agentos.registry import Registry

RETRY_S = 5.0  # a broker that could not be reached is not tried again sooner than this


class WorkersOut(BaseModel):
    broker: str | None = Field(description="the broker the server's runs use (no password); null without one")
    error: str | None = Field(None, description="why the broker could not be reached")
    workers: list[WorkerStatus] = Field(default_factory=list)


class WorkerWatch:
    def __init__(self, broker_url: str | None):
        self.broker = parse_broker(broker_url) if broker_url else None
        self._dispatcher: Dispatcher | None = None
        self._error: str | None = None
        self._tried = -RETRY_S
        self._attempt: asyncio.Task[None] | None = None
        self._first_done = asyncio.Event()

    async def _connected(self) -> Dispatcher | None:
        """The dispatcher when connected. Only the first request waits for a connection attempt: a broker that
        hangs (a firewalled host) must not stall the page on every retry."""
        if self.broker is None:
            return None
        if self._dispatcher is None and self._attempt is None and time.monotonic() - self._tried >= RETRY_S:
            self._tried = time.monotonic()
            self._attempt = asyncio.create_task(self._connect(self.broker), name="ui-workers-connect")
        if not self._first_done.is_set():
            await self._first_done.wait()
        return self._dispatcher

    async def _connect(self, broker: Broker) -> None:
        dispatcher = Dispatcher(broker, identifier=f"agentos-ui-{secrets.token_hex(4)}")
        try:
            await dispatcher.start()
            self._dispatcher, self._error = dispatcher, None
        except (AgentOSError, TimeoutError) as exc:
            await dispatcher.close()
            self._error = str(exc) or "the broker did not answer in time"
        finally:
            self._attempt = None
            self._first_done.set()

    async def snapshot(self) -> WorkersOut:
        dispatcher = await self._connected()
        if dispatcher is None:
            return WorkersOut(broker=str(self.broker) if self.broker else None, error=self._error)
        return WorkersOut(broker=str(self.broker), workers=dispatcher.statuses())

    async def catalogue(self, local: Registry) -> Registry:
        """`local` and the live workers' experts: what a run started here may use, so what its task file is
        checked against and what a sample needs is looked for in."""
        dispatcher = await self._connected()
        return local if dispatcher is None else Registry([*local, *dispatcher.experts(local)])

    async def close(self) -> None:
        if self._attempt is not None:
            self._attempt.cancel()
        if self._dispatcher is not None:
            await self._dispatcher.close()
