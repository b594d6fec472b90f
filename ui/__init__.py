"""The showcase web app (`agentos ui`): the samples, runs started and followed over SSE, their artifacts.

It calls the same runtime as the CLI (`agentos.arun`); it never runs a task another way.
"""

from ui.app import UiSettings, create_app

__all__ = ["UiSettings", "create_app"]
