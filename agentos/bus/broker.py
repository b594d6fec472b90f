"""Where the broker is and how to log in: `mqtt://USER@HOST:PORT` (or `mqtts://` for TLS).

The password comes from `$AGENTOS_MQTT_PASSWORD` (or the URL, for tests; a URL with a password shows
up in process lists, so the variable is the way to pass it). `$AGENTOS_MQTT_CA` names the CA file
that signs the broker's certificate for `mqtts://`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import ssl
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel

from agentos.errors import UserError

log = logging.getLogger("agentos.bus")
PASSWORD_ENV = "AGENTOS_MQTT_PASSWORD"
CA_ENV = "AGENTOS_MQTT_CA"


class Broker(BaseModel):
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None

    def __str__(self) -> str:  # never the password
        user = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"

    def client(self, identifier: str, *, on_message: Callable[[str, bytes], None] | None = None, will: Any = None,
               clean_session: bool = True) -> Any:
        """An aiomqtt client for this broker (not yet connected; use it as `async with`). With `on_message`, each
        message it receives is handed over as (topic, payload) on the event loop, and `until_disconnected` waits
        on the connection; without, messages queue for `client.messages` as aiomqtt does by default."""
        import aiomqtt

        context = None
        if self.tls:
            context = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else ssl.create_default_context()
        # no Nagle: a QoS 1 round trip is ~87 ms with it (delayed ACKs) and under 1 ms without, on both ends
        # (the broker's side is `set_tcp_nodelay true`, docs/bus.md)
        nodelay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        client = aiomqtt.Client(self.host, port=self.port, username=self.username, password=self.password,
                                identifier=identifier, will=will, tls_context=context, clean_session=clean_session,
                                keepalive=10, timeout=10, socket_options=nodelay,
                                queue_type=_handing_to(on_message) if on_message else None)
        client.pending_calls_threshold = 10_000  # many jobs in flight at once is what a bus is for, not a warning
        return client


def _handing_to(on_message: Callable[[str, bytes], None]) -> type[asyncio.Queue[Any]]:
    """An incoming-message "queue" for aiomqtt that hands each message over as it arrives. Iterating
    `client.messages` costs a task, an `asyncio.wait` and a turn of the event loop per message: a third
    of a job's dispatch time, measured with benchmarks/bus.py."""

    class HandOver(asyncio.Queue):  # type: ignore[type-arg]
        def put_nowait(self, item: Any) -> None:
            try:
                on_message(str(item.topic), bytes(item.payload))
            except Exception:  # a bug in a handler must not take the connection down with it
                log.exception("handling a message on %s failed", item.topic)

    return HandOver


async def until_disconnected(client: Any) -> None:
    """Return never: raise aiomqtt.MqttError when the connection of `client` (made by `Broker.client`) ends."""
    async for _ in client.messages:  # nothing is ever queued: every message went to on_message
        pass


def parse_broker(url: str) -> Broker:
    """The broker in `url`, with the password from the environment when the URL has none."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise UserError(f"broker URL {url!r}: use mqtt://[USER@]HOST[:PORT] or mqtts://... (TLS)")
    if not parts.hostname:
        raise UserError(f"broker URL {url!r} names no host")
    try:
        port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    except ValueError:
        raise UserError(f"broker URL {url!r}: the port is not a number") from None
    password = unquote(parts.password) if parts.password else os.environ.get(PASSWORD_ENV)
    return Broker(host=parts.hostname, port=port, username=unquote(parts.username) if parts.username else None,
                  password=password, tls=parts.scheme == "mqtts", ca_file=os.environ.get(CA_ENV))
