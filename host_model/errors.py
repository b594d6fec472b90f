"""Errors of the host-model clients, with no dependency on `agentos` (which wraps them).

`UnsupportedFeatureError` is separate because callers react to it: a server that rejects
`response_format` or `tools` still answers plain chat, so the planner falls back instead of failing.
"""

from __future__ import annotations

from typing import Literal

Feature = Literal["json_schema", "tools"]


class HostModelError(Exception):
    """A chat call failed; the message names the endpoint, the HTTP status and what the server said."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None,
                 server_message: str | None = None):
        super().__init__(message)
        self.url = url
        self.status = status
        self.server_message = server_message


class UnsupportedFeatureError(HostModelError):
    """The server rejected a request feature (`json_schema` response format, or `tools`)."""

    def __init__(self, message: str, *, feature: Feature, url: str | None = None, status: int | None = None,
                 server_message: str | None = None):
        super().__init__(message, url=url, status=status, server_message=server_message)
        self.feature: Feature = feature


class HostTimeoutError(HostModelError):
    """No complete reply within the client's time limit."""


class ChatFormatError(HostModelError):
    """A tokenizer folder, chat template, message list or tool schema is malformed; the message says which and where."""


class ConstraintError(HostModelError):
    """A decoding constraint cannot be built or followed: bad schema or grammar, tokenizer, or token ids."""
