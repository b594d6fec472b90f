"""Every error AgentOS raises on purpose, in one hierarchy.

User errors (a bad task file, an unknown run id, a missing host) carry a message that names
what is wrong and where; the CLI prints them without a traceback and exits with code 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class AgentOSError(Exception):
    """Base of every AgentOS error."""

    exit_code = 1


class UserError(AgentOSError):
    """Something the user can fix: printed without a traceback, exit code 2."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a task file, located as precisely as we can."""

    message: str
    path: str = ""  # field path such as "graph[1].capability"
    line: int | None = None
    column: int | None = None
    hint: str = ""

    def render(self, file: Path | str | None) -> str:
        where = str(file) if file else "<task>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: "
        if self.path:
            text += f"{self.path}: "
        text += self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class TaskFileError(UserError):
    """A task file that cannot be loaded or does not validate; lists every problem found."""

    def __init__(self, problems: list[Problem], file: Path | str | None = None):
        self.problems = problems
        self.file = file
        super().__init__(self._render())

    def _render(self) -> str:
        if len(self.problems) == 1:
            return self.problems[0].render(self.file)
        n = len(self.problems)
        head = f"{self.file or 'task'}: {n} problem{'s' if n != 1 else ''}"
        return head + "\n" + "\n".join("  " + p.render(self.file) for p in self.problems)


class PlanError(AgentOSError):
    """The host model could not produce a valid task graph."""


class PlanDeclinedError(PlanError):
    """The host answered that it will not plan this request: nothing can do it, or it needs to know more."""

    def __init__(self, kind: str, reason: str):
        what = ("the host cannot plan this task: " if kind == "refuse"
                else "the host needs more information to plan this task: ")
        super().__init__(what + reason)
        self.kind = kind
        self.reason = reason


class HostNotConfiguredError(UserError):
    """A goal-only task needs a host model and none is configured."""


class HostError(AgentOSError):
    """The host model endpoint failed (network, HTTP status, malformed reply)."""


class ExpertError(AgentOSError):
    """An expert failed while running a node."""


class ExpertNotFoundError(UserError):
    """A name that no registered expert has."""


class CapabilityNotFoundError(UserError):
    """A capability that no registered expert offers."""


class BudgetExceededError(AgentOSError):
    """A budget (time, nodes, retries, cost) ran out."""


class RunNotFoundError(UserError):
    """A run id with no journal under the runs folder."""


class OverrideError(UserError):
    """A `--set key=value` that does not apply to the task file."""
