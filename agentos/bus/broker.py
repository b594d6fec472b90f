"""Where the broker is and how to log in: `mqtt://USER@HOST:PORT` (or `mqtts://` for TLS).

The password comes from `$AGENTOS_MQTT_PASSWORD` (or the URL, for tests; a URL with a password shows
up in process lists, so the variable is the way to pass it). `$AGENTOS_MQTT_CA` names the CA file
that signs the broker's certificate for `mqtts://`.
"""

from __future__ import annotations

import os
import socket
import ssl
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel

from agentos.errors import UserError

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

    def client(self, identifier: str, *, will: Any = None, clean_session: bool = True) -> Any:
        """An aiomqtt client for this broker (not yet connected; use it as `async with`)."""
        import aiomqtt

        context = None
        if self.tls:
            context = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else ssl.create_default_context()
        # no Nagle: a QoS 1 round trip is ~87 ms with it (delayed ACKs) and under 1 ms without, on both ends
        # (the broker's side is `set_tcp_nodelay true`, docs/bus.md)
        nodelay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        return aiomqtt.Client(self.host, port=self.port, username=self.username, password=self.password,
                              identifier=identifier, will=will, tls_context=context, clean_session=clean_session,
                              keepalive=10, timeout=10, socket_options=nodelay)


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
