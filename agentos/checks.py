"""Consistency checks: small objects that judge a node's output (or the final result).

Each returns a `Verdict` with a score in [0, 1]. A node's verdicts are folded into one score,
which the runtime sends to the router as its reward; a failed verdict makes the runtime try the
next candidate, then ask the host to replan, within the budget.
"""

from __future__ import annotations

import abc
import functools
import json
import math
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from agentos.references import Reference


class Verdict(BaseModel):
    check: str
    passed: bool
    score: float
    message: str = ""
    node_id: str | None = None
    expert: str | None = None


@dataclass
class NodeOutcome:
    """What a node check looks at."""

    node_id: str
    expert: str
    output: Any  # the raw object the expert returned; the schema check replaces it with the validated model
    output_model: type[BaseModel]
    run_dir: Path
    artifacts: list[Path] = field(default_factory=list)


class NodeCheck(Protocol):
    name: str

    def __call__(self, outcome: NodeOutcome) -> Verdict: ...


def _verdict(check: str, outcome: NodeOutcome, score: float, message: str) -> Verdict:
    score = max(0.0, min(1.0, score))
    return Verdict(check=check, passed=score >= 1.0 - 1e-9, score=score, message=message,
                   node_id=outcome.node_id, expert=outcome.expert)


def tally(check: str, outcome: NodeOutcome, total: int, problems: list[str], what: str) -> Verdict:
    """The verdict of a check that judged `total` items and found `problems` (one line each): the score is
    the share that held, any problem fails it, and the message shows the first three."""
    shown = "; ".join(problems[:3]) + (f" (+{len(problems) - 3} more)" if len(problems) > 3 else "")
    score = max(0, total - len(problems)) / total if total else 1.0
    return Verdict(check=check, passed=not problems, score=score, node_id=outcome.node_id, expert=outcome.expert,
                   message=shown if problems else f"{total} {what} ok")


class OutputCheck(abc.ABC):
    """A check of one property of an operation's output, for experts to subclass: `inspect` returns how
    many items it judged and a line per problem; an output that is not a `kind` fails it."""

    name: str
    what: str  # the items judged, for the message when all pass ("statement(s) cite evidence")
    kind: type[BaseModel] = BaseModel

    def __call__(self, outcome: NodeOutcome) -> Verdict:
        out = outcome.output
        if not isinstance(out, self.kind):
            return tally(self.name, outcome, 1, [f"output is not a {self.kind.__name__}"], "")
        total, problems = self.inspect(out, outcome)
        return tally(self.name, outcome, total, problems, self.what)

    @abc.abstractmethod
    def inspect(self, out: Any, outcome: NodeOutcome) -> tuple[int, list[str]]:
        """(how many items were judged, one line per problem found)."""


class OutputMatchesSchema:
    """The output validates against the operation's output model."""

    name = "schema"

    def __call__(self, outcome: NodeOutcome) -> Verdict:
        if type(outcome.output) is outcome.output_model:  # built through its own validator already
            return _verdict(self.name, outcome, 1.0, f"matches {outcome.output_model.__name__}")
        try:
            validated = outcome.output_model.model_validate(
                outcome.output.model_dump() if isinstance(outcome.output, BaseModel) else outcome.output)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(map(str, first["loc"])) or "output"
            return _verdict(self.name, outcome, 0.0, f"{where}: {first['msg']} ({exc.error_count()} errors)")
        outcome.output = validated
        return _verdict(self.name, outcome, 1.0, f"matches {outcome.output_model.__name__}")


class NonEmptyText:
    """Every required text field of the output has something in it."""

    name = "non_empty_text"

    def __call__(self, outcome: NodeOutcome) -> Verdict:
        out = outcome.output
        if not isinstance(out, BaseModel):
            return _verdict(self.name, outcome, 0.0, "output is not a model")
        names = _required_text_fields(type(out))
        if not names:
            return _verdict(self.name, outcome, 1.0, "no required text fields")
        empty = [k for k in names if not getattr(out, k).strip()]
        score = 1.0 - len(empty) / len(names)
        return _verdict(self.name, outcome, score, f"empty: {', '.join(empty)}" if empty else
                        f"{len(names)} text field(s) non-empty")


@functools.cache
def _required_text_fields(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(k for k, f in model.model_fields.items() if f.is_required() and f.annotation is str)


class FilesExistAndOpen:
    """Every path in the output and every artifact exists, is non-empty, and opens (JSON parses)."""

    name = "files_exist"

    def __call__(self, outcome: NodeOutcome) -> Verdict:
        out = outcome.output
        fields = _path_fields(type(out)) if isinstance(out, BaseModel) else ()
        if not outcome.artifacts and not fields:
            return _verdict(self.name, outcome, 1.0, "no files")
        paths = {p.resolve() for p in outcome.artifacts}
        for key in fields:
            value = getattr(out, key)
            for v in value if isinstance(value, list) else [value]:
                if v is not None:
                    p = Path(v)
                    paths.add(p.resolve() if p.is_absolute() else (outcome.run_dir / p).resolve())
        if not paths:
            return _verdict(self.name, outcome, 1.0, "no files")
        bad = [f"{p.name}: {why}" for p in sorted(paths) if (why := _file_problem(p))]
        score = 1.0 - len(bad) / len(paths)
        return _verdict(self.name, outcome, score, "; ".join(bad) if bad else f"{len(paths)} file(s) ok")


@functools.cache
def _path_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """Fields typed Path, Path | None or list[Path]: the outputs that name files."""
    return tuple(k for k, f in model.model_fields.items() if names_a_path(f.annotation))


def names_a_path(annotation: Any) -> bool:
    """Whether a type is Path or holds one (Path | None, list[Path], ...)."""
    return annotation is Path or any(names_a_path(a) for a in typing.get_args(annotation))


def _file_problem(p: Path) -> str:
    if not p.exists():
        return "missing"
    if p.is_dir():
        return ""
    if p.stat().st_size == 0:
        return "empty"
    try:
        with p.open("rb") as fh:
            head = fh.read(1 << 20)
    except OSError as exc:
        return f"cannot open ({exc.strerror})"
    if p.suffix == ".json":
        try:
            json.loads(head)
        except (ValueError, UnicodeDecodeError) as exc:
            return f"invalid JSON ({exc})"
    return ""


NODE_CHECKS: list[NodeCheck] = [OutputMatchesSchema(), NonEmptyText(), FilesExistAndOpen()]


def run_node_checks(outcome: NodeOutcome, checks: list[NodeCheck] | None = None) -> list[Verdict]:
    """Run checks in order; after a schema failure the others would judge garbage, so stop there."""
    verdicts = []
    for check in checks or NODE_CHECKS:
        v = check(outcome)
        verdicts.append(v)
        if check.name == "schema" and not v.passed:
            break
    return verdicts


def fold(verdicts: list[Verdict]) -> tuple[bool, float]:
    """One pass/fail and one score (the mean) for a node's verdicts."""
    if not verdicts:
        return True, 1.0
    return all(v.passed for v in verdicts), sum(v.score for v in verdicts) / len(verdicts)


def references_resolve(node_id: str, refs: list[Reference], resolve: Callable[[Reference], Any]) -> Verdict:
    """Every `${...}` a node reads exists in what finished before it."""
    missing = []
    for ref in refs:
        try:
            resolve(ref)
        except KeyError as exc:
            missing.append(str(exc.args[0]))
    score = 1.0 - len(missing) / len(refs) if refs else 1.0
    return Verdict(check="references", passed=not missing, score=score, node_id=node_id,
                   message="; ".join(missing) if missing else f"{len(refs)} reference(s) resolved")


def agreement(name: str, left: tuple[str, Any], right: tuple[str, Any], tolerance: float = 0.0) -> Verdict:
    """Two outputs agree on a value: equal, or numbers within `tolerance` (relative)."""
    (ln, lv), (rn, rv) = left, right
    if isinstance(lv, (int, float)) and isinstance(rv, (int, float)):
        ok = math.isclose(float(lv), float(rv), rel_tol=tolerance, abs_tol=tolerance)
        score = 1.0 if ok else max(0.0, 1.0 - abs(float(lv) - float(rv)) / (abs(float(lv)) + abs(float(rv)) + 1e-12))
    else:
        ok = _norm(lv) == _norm(rv)
        score = 1.0 if ok else 0.0
    msg = f"{ln} = {lv!r} {'==' if ok else '!='} {rn} = {rv!r}"
    return Verdict(check=name, passed=ok, score=score, message=msg)


def _norm(v: Any) -> Any:
    return v.strip().casefold() if isinstance(v, str) else v
