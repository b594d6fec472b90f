"""The host model: one chat interface (`HostModel`) and its backends.

`OpenAICompatibleHost` talks to any OpenAI-compatible server. This package knows nothing of
experts or task graphs, and importing it never imports torch.
"""

from host_model.base import ChatReply, HostModel, ToolCall, ToolChoice
from host_model.errors import HostModelError, HostTimeoutError, UnsupportedFeatureError
from host_model.openai_client import OpenAICompatibleHost

__all__ = [
    "ChatReply", "HostModel", "HostModelError", "HostTimeoutError", "OpenAICompatibleHost", "ToolCall",
    "ToolChoice", "UnsupportedFeatureError",
]
