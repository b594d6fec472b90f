"""Task files: the pydantic models, and the checks that need the expert registry.

`load_task(path, registry)` returns a validated, normalised `TaskSpec` or raises
`TaskFileError` listing every problem with its file, line, column and field path. Host plans go
through the same `parse_task`, so a plan is held to exactly the rules of a hand-written file.
"""

from __future__ import annotations

import copy
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import networkx as nx
import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, TypeAdapter, ValidationError, model_validator
from pydantic.fields import FieldInfo

from agentos.errors import OverrideError, Problem, TaskFileError
from agentos.references import (
    INPUTS,
    Reference,
    ReferenceSyntaxError,
    has_reference,
    is_whole_reference,
    iter_references,
    lookup,
    parse_reference,
    unclosed_references,
)
from agentos.registry import Registry, suggest
from agentos.sdk import OperationCard
from agentos.yamlsource import LoadedYaml, PathKey, SourceMap, describe, format_path, load_yaml_file, load_yaml_text

NODE_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NodeSpec(_Strict):
    """One node of the graph: what to do (capability), optionally who does it (expert), with what."""

    id: str = Field(pattern=NODE_ID_PATTERN, description="unique name, used in `${id.field}` references")
    capability: str | None = Field(None, description="what to do, as `domain.operation`, e.g. `text.summarize`")
    expert: str | None = Field(None, description="pin one expert instead of letting the router choose")
    inputs: dict[str, Any] = Field(default_factory=dict, description="arguments; may hold `${node.field}`")
    after: list[str] = Field(default_factory=list, description="extra ordering edges: run after these nodes")
    retries: int | None = Field(None, ge=0, description="overrides budget.max_retries for this node")
    timeout_s: float | None = Field(None, gt=0, description="overrides budget.node_timeout_s for this node")
    description: str = Field("", description="free text for people and for the router's features")

    @model_validator(mode="after")
    def _needs_what(self) -> NodeSpec:
        if not self.capability and not self.expert:
            raise ValueError("a node needs `capability` (what to do) or `expert` (who does it)")
        return self


class Budget(_Strict):
    """Limits a run may not pass; a run stops cleanly when one is spent."""

    wall_time_s: float | None = Field(None, gt=0, description="whole run, in seconds; none = no limit")
    max_nodes: int = Field(100, ge=1, description="nodes in the graph, replans included")
    max_retries: int = Field(2, ge=0, description="extra attempts per node (next candidate, then same)")
    max_cost: float | None = Field(None, ge=0, description="sum of the experts' cost per call; none = no limit")
    node_timeout_s: float = Field(300.0, gt=0, description="default per-node time limit, in seconds")
    max_parallel: int = Field(8, ge=1, description="nodes running at once")
    retry_backoff_s: float = Field(0.2, ge=0, description="first backoff after an error; doubles each retry")
    max_replans: int = Field(1, ge=0, description="times the host may replan a failed node")


class RouterSettings(_Strict):
    """Which router picks an expert for each node."""

    name: str = Field("adaptive", description="router implementation: `adaptive` (learned, the default), "
                                               "`deterministic`, or one installed under `agentos.routers` entry points")
    options: dict[str, Any] = Field(default_factory=dict, description="keyword options passed to the router")


class HostSettings(_Strict):
    """The host model: an OpenAI-compatible endpoint, or a model folder run in this process.

    `AGENTOS_HOST_URL` / `_MODEL` / `_API_KEY` / `_MODEL_DIR` fill what is missing; with none of them
    set, the bundled offline planner (step3p5-mini) plans.
    """

    base_url: str | None = Field(None, description="e.g. `http://127.0.0.1:8000/v1`; else AGENTOS_HOST_URL")
    model: str | None = Field(None, description="model name the endpoint serves; else AGENTOS_HOST_MODEL")
    api_key_env: str = Field("AGENTOS_HOST_API_KEY", description="environment variable holding the API key")
    timeout_s: float = Field(120.0, gt=0, description="per-request time limit, in seconds")
    temperature: float = Field(0.0, ge=0, description="sampling temperature for planning")
    max_tokens: int | None = Field(None, ge=1, description="reply length limit; none = the server's default")
    model_dir: str | None = Field(None, description="a local model folder (config.json, safetensors, tokenizer) "
                                  "run in-process; `none` turns the bundled offline planner off")
    prompt: Literal["auto", "full", "compact"] = Field(
        "auto", description="planning prompt: `full` catalogue with schemas, or the `compact` format small "
        "planners are trained on; auto = compact for a model folder trained on it")
    stream_plan: bool = Field(True, description="start each planned node as soon as the host has written it "
                              "(when the host can stream); false = wait for the whole plan")


class AgreeCheck(_Strict):
    """Final-result check: two referenced values must agree (numbers within `tolerance`)."""

    agree: list[str] = Field(min_length=2, max_length=2, description="two `${node.field}` references")
    tolerance: float = Field(0.0, ge=0, description="numbers agree when this close, absolutely or relatively")


SPOKEN_GOAL_NODE = "spoken_goal"  # the node that hears a spoken goal; the planned nodes run after it
SPOKEN_GOAL_CAPABILITY = "voice.command"


class SpokenGoal(BaseModel):
    """The request as a recording. A `voice.command` node (id `spoken_goal`) hears it, and the host plans
    what was heard exactly as a typed `goal`; every other key is passed to that node as an input."""

    model_config = ConfigDict(extra="allow")

    audio: str = Field(description="the recording: a path relative to the task file, or `${inputs.NAME}`")
    expert: str | None = Field(None, description="pin the expert that hears it (default: the router chooses)")

    def node(self) -> NodeSpec:
        """The node that hears the goal: `voice.command` with `audio` and the other keys as its inputs."""
        return NodeSpec(id=SPOKEN_GOAL_NODE, capability=SPOKEN_GOAL_CAPABILITY, expert=self.expert,
                        inputs={"audio": self.audio, **(self.model_extra or {})},
                        description="hears the spoken goal; the host plans what it heard")


class TaskSpec(_Strict):
    """A task file. `goal` (the host plans), `graph` (explicit nodes), or both; or a `spoken_goal`."""

    name: str | None = Field(None, description="a label for the run")
    goal: str | None = Field(None, description="the request in plain language; the host plans from it")
    spoken_goal: SpokenGoal | None = Field(None, description="the request as a recording: heard by "
                                           "`voice.command`, then planned like `goal`")
    inputs: dict[str, Any] = Field(default_factory=dict, description="values, or `{file: path}`")
    graph: list[NodeSpec] = Field(default_factory=list, description="explicit nodes")
    budget: Budget = Field(default_factory=Budget, description="limits of the run")
    router: RouterSettings = Field(default_factory=RouterSettings, description="expert selection")
    host: HostSettings | None = Field(None, description="the host model endpoint")
    output: str | None = Field(None, description="runs folder, relative to the task file")
    broker: str | None = Field(None, description="an MQTT broker (mqtt://USER@HOST:PORT) whose workers' experts "
                               "join the candidates; else $AGENTOS_BROKER or `agentos run --broker`")
    checks: list[AgreeCheck] = Field(default_factory=list, description="checks on the final result")

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _file: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _needs_goal_or_graph(self) -> TaskSpec:
        if self.spoken_goal is not None and self.goal:
            raise ValueError("give `goal` (typed) or `spoken_goal` (a recording), not both")
        if not self.goal and not self.graph and self.spoken_goal is None:
            raise ValueError("a task needs `goal` (for the host to plan) or `graph` (explicit nodes), or both; "
                             "or a `spoken_goal`")
        return self

    @property
    def base_dir(self) -> Path:
        return self._base_dir

    @property
    def file(self) -> Path | None:
        return self._file

    def node(self, node_id: str) -> NodeSpec:
        return next(n for n in self.graph if n.id == node_id)


# --------------------------------------------------------------------------------------------------
# loading


def load_task(path: Path | str, registry: Registry, overrides: list[str] | None = None) -> TaskSpec:
    """Read, validate and normalise a task file (paths made absolute, capabilities filled in)."""
    path = Path(path)
    return _load(load_yaml_file(path), registry, overrides, path.resolve().parent, path)


def load_task_text(text: str, registry: Registry, *, file: Path, overrides: list[str] | None = None) -> TaskSpec:
    """A task file's text as if it were saved at `file` (an edited copy): problems name its lines, paths
    resolve in `file`'s folder."""
    return _load(load_yaml_text(text, file), registry, overrides, file.resolve().parent, file)


def _load(loaded: LoadedYaml, registry: Registry, overrides: list[str] | None, base_dir: Path,
          file: Path) -> TaskSpec:
    data, written = _apply_overrides(loaded.data, overrides or [], file)
    loaded.source.overrides.update(written)
    return parse_task(data, registry, base_dir=base_dir, source=loaded.source, file=file)


def parse_task(data: dict[str, Any], registry: Registry, *, base_dir: Path, source: SourceMap | None = None,
               file: Path | None = None, check_paths: bool = True) -> TaskSpec:
    """Validate a task in dict form exactly as a task file; raise TaskFileError listing every problem."""
    try:
        spec = TaskSpec.model_validate(data)
    except ValidationError as exc:
        raise TaskFileError(_in_file_order(_problems_from_errors(exc.errors(), data, (), source)), file) from None
    spec._base_dir = base_dir
    spec._file = file
    problems = _Validator(spec, registry, source, check_paths).run()
    if problems:
        raise TaskFileError(_in_file_order(problems), file)
    return spec


def _in_file_order(problems: list[Problem]) -> list[Problem]:
    """Top to bottom, as a reader fixes them; problems without a line (from `--set`) first."""
    return sorted(problems, key=lambda p: (p.line or 0, p.column or 0))


def restore_task(spec_json: dict[str, Any], base_dir: Path, file: Path | None) -> TaskSpec:
    """A spec already validated and normalised (from the journal); no registry needed."""
    try:
        spec = TaskSpec.model_validate(spec_json)
    except ValidationError as exc:
        problems = _problems_from_errors(exc.errors(), spec_json, (), None)
        head = Problem("the task saved with this run no longer validates; start a new run")
        raise TaskFileError([head, *problems], file) from None
    spec._base_dir = base_dir
    spec._file = file
    return spec


def apply_overrides(data: dict[str, Any], overrides: list[str], file: Path | None = None) -> dict[str, Any]:
    """`data` with `--set a.b=value` applied (value parsed as YAML) to a copy; `graph.<node id>.x` addresses a node.

    With no overrides, `data` itself comes back (validation never mutates it)."""
    return _apply_overrides(data, overrides, file)[0]


def _apply_overrides(data: dict[str, Any], overrides: list[str],
                     file: Path | None) -> tuple[dict[str, Any], dict[PathKey, str]]:
    """Apply overrides to a deep copy; also return which path each `--set` wrote."""
    if not overrides:
        return data, {}
    data = copy.deepcopy(data)
    written: dict[PathKey, str] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not p for p in key.split(".")):
            raise OverrideError(f"--set {item!r}: expected key=value, e.g. --set budget.max_retries=3")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        parts = key.split(".")
        cur: Any = data
        path: list[str | int] = []
        for part in parts[:-1]:
            if isinstance(cur, list):
                index = _list_index(cur, part, path, key, file)
                path.append(index)
                cur = cur[index]
            elif isinstance(cur, dict):
                path.append(part)
                if cur.get(part) is None:
                    cur[part] = {}
                    written.setdefault(tuple(path), f"--set {item}")
                cur = cur[part]
            else:
                raise OverrideError(f"--set {key}: `{format_path(tuple(path))}` is {describe(cur)}, not a mapping")
        if not isinstance(cur, dict):
            raise OverrideError(f"--set {key}: `{format_path(tuple(path))}` is {describe(cur)}, not a mapping"
                                + ("; name a node and a field, e.g. graph.NODE_ID.inputs.x" if path == ["graph"]
                                   else ""))
        cur[parts[-1]] = value
        written[(*path, parts[-1])] = f"--set {item}"
    return data, written


def _list_index(items: list[Any], part: str, path: list[str | int], key: str, file: Path | None) -> int:
    """A list step of an override: nodes of `graph` by id, other lists by position."""
    if path == ["graph"]:
        ids = [str(n.get("id")) for n in items if isinstance(n, dict)]
        for i, n in enumerate(items):
            if isinstance(n, dict) and n.get("id") == part:
                return i
        where = f" of {file}" if file else ""
        hint = suggest(part, ids) or f"nodes: {', '.join(ids) or 'none'}"
        raise OverrideError(f"--set {key}: no node `{part}` in the graph{where} ({hint})")
    if part.isdigit() and int(part) < len(items):
        return int(part)
    raise OverrideError(f"--set {key}: `{format_path(tuple(path))}` is a list of {len(items)}; "
                        f"address an item by its position (0 to {len(items) - 1})")


# --------------------------------------------------------------------------------------------------
# pydantic errors -> problems with positions

_EXPECTED = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "a whole number",
    "float_type": "a number", "float_parsing": "a number", "finite_number": "a finite number",
    "string_type": "a string", "bool_type": "true or false", "bool_parsing": "true or false",
    "list_type": "a list", "tuple_type": "a list", "set_type": "a list",
    "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping",
    "path_type": "a path", "none_required": "null", "url_type": "a URL", "url_parsing": "a URL",
}


def _expected(err: Any, loc: PathKey) -> str:
    """What a pydantic error says was expected, in the words of the task-file reference."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    if kind == "greater_than":
        return f"a number greater than {_num(ctx.get('gt'))}"
    if kind == "greater_than_equal":
        return f"a number of at least {_num(ctx.get('ge'))}"
    if kind == "less_than":
        return f"a number less than {_num(ctx.get('lt'))}"
    if kind == "less_than_equal":
        return f"a number of at most {_num(ctx.get('le'))}"
    if kind == "too_short":
        return f"at least {ctx.get('min_length')} item{'s' if ctx.get('min_length') != 1 else ''}"
    if kind == "too_long":
        return f"at most {ctx.get('max_length')} item{'s' if ctx.get('max_length') != 1 else ''}"
    if kind == "string_too_short":
        return f"a string of at least {ctx.get('min_length')} characters"
    if kind == "string_too_long":
        return f"a string of at most {ctx.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        if loc and loc[-1] == "id":
            return "an id of letters, digits, `_` and `-` that starts with a letter or `_`"
        return f"a string matching {ctx.get('pattern')}"
    if kind in ("literal_error", "enum"):
        return f"one of {ctx.get('expected')}"
    return str(err["msg"]).removeprefix("Value error, ").removeprefix("Input should be ")


def _num(x: Any) -> Any:
    return int(x) if isinstance(x, float) and x.is_integer() else x


def _real_loc(loc: tuple[Any, ...], value: Any, kind: str) -> tuple[PathKey, int | None, str]:
    """Drop the union-member tags pydantic puts in `loc` (`str`, `list[str]`) by walking the value.

    Returns the path in the value, how much of it comes before the first tag (None: no tag),
    and that tag.
    """
    out: list[str | int] = []
    cur = value
    first_tag: int | None = None
    tag = ""
    for i, seg in enumerate(loc):
        if (isinstance(cur, dict) and seg in cur) or (
                isinstance(cur, list) and isinstance(seg, int) and 0 <= seg < len(cur)):
            cur = cur[seg]
        elif i == len(loc) - 1 and kind in ("missing", "extra_forbidden"):
            cur = None
        else:
            if first_tag is None:
                first_tag, tag = len(out), str(seg)
            continue
        out.append(seg)
    return tuple(out), first_tag, tag


def _problems_from_errors(errors: Iterable[Any], value: Any, base: PathKey, source: SourceMap | None,
                          model: type[BaseModel] | None = TaskSpec, hint: str = "") -> list[Problem]:
    """One problem per location; a union whose alternatives all fail is one problem at the union."""
    groups: dict[PathKey, list[tuple[PathKey, str, Any]]] = {}
    for err in errors:
        rel, first_tag, tag = _real_loc(tuple(err["loc"]), value, err["type"])
        key = rel if first_tag is None else rel[:first_tag]
        groups.setdefault(key, []).append((rel, tag, err))
    problems = []
    for rel, errs in groups.items():
        loc = (*base, *rel)
        first = errs[0][2]
        kind = first["type"]
        if kind == "extra_forbidden" and len(errs) == 1:
            key = str(rel[-1])
            inner = _model_at(model, rel[:-1]) if model else None
            allowed = list(inner.model_fields) if inner else []
            near = suggest(key, allowed)
            listed = f"allowed keys: {', '.join(allowed)}" if allowed else ""
            problems.append(_problem(f"unknown key `{key}`", loc[:-1], source, loc, False,
                                     "; ".join(filter(None, [near, listed]))))
        elif kind == "missing" and len(errs) == 1:
            problems.append(_problem(f"missing required key `{rel[-1]}`", loc[:-1], source, loc[:-1], False, hint))
        elif kind in ("value_error", "assertion_error") and len(errs) == 1:
            problems.append(_problem(_expected(first, rel), loc, source, loc, True, hint))
        else:
            problems.append(_problem(_union_message(rel, errs, value), loc, source, loc, True,
                                     _bool_hint(hint, first.get("input"), errs)))
    return problems


def _union_message(at: PathKey, errs: list[tuple[PathKey, str, Any]], value: Any) -> str:
    """`expected A or B, got X`, plus why each deeper alternative failed."""
    direct = [e for rel, _, e in errs if rel == at]
    deeper = [(rel, tag, e) for rel, tag, e in errs if rel != at]
    got = direct[0].get("input") if direct else _value_at(value, at)
    wanted = [_expected(e, at) for e in direct]
    detail: dict[str, list[str]] = {}
    for rel, tag, e in deeper:
        sub = format_path(rel[len(at):]) if rel[len(at):] else "it"
        if e["type"] == "missing":
            text = f"{format_path(rel[len(at):-1]) or 'it'} needs `{rel[-1]}`"
        elif e["type"] == "extra_forbidden":
            text = f"{format_path(rel[len(at):-1]) or 'it'} has unknown key `{rel[-1]}`"
        else:
            text = f"{sub}: expected {_expected(e, rel)}, got {describe(e.get('input'))}"
        detail.setdefault(tag or "value", []).append(text)
    msg = f"expected {' or '.join(dict.fromkeys(wanted)) or 'another value'}, got {describe(got)}"
    for tag, texts in detail.items():
        msg += f"; as {tag}: " + ", ".join(texts)
    return msg


def _bool_hint(hint: str, got: Any, errs: list[tuple[PathKey, str, Any]]) -> str:
    if isinstance(got, bool) and any(e["type"] == "string_type" for _, _, e in errs):
        return "; ".join(filter(None, [hint, "quote it: YAML reads yes/no/on/off as true/false"]))
    return hint


def _value_at(value: Any, path: PathKey) -> Any:
    cur = value
    for seg in path:
        try:
            cur = cur[seg]
        except (KeyError, IndexError, TypeError):
            return None
    return cur


def _problem(msg: str, path: PathKey, source: SourceMap | None, at: PathKey, value: bool, hint: str) -> Problem:
    """A problem at `path`, positioned at `at` (its value when `value`); notes a `--set` that wrote it."""
    line, col = source.locate(at, value) if source else (None, None)
    via = source.override_for(at) if source else ""
    if via:
        hint = "; ".join(filter(None, [hint, f"set by `{via}`"]))
    return Problem(msg, format_path(path), line, col, hint)


def _model_at(model: Any, loc: PathKey) -> type[BaseModel] | None:
    """The model whose fields apply at `loc` (to suggest near-miss keys)."""
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None
        model = _inner_model(model.model_fields[part].annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType, list, dict):
        for arg in typing.get_args(annotation):
            inner = _inner_model(arg)
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
        return None
    return annotation


# --------------------------------------------------------------------------------------------------
# checks that need the registry


def _alternatives(annotation: Any) -> list[Any]:
    """The types a field may hold: the members of a union (`Path | None` → Path, None), else the type itself."""
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return [a for arg in typing.get_args(annotation) for a in _alternatives(arg)]
    if typing.get_origin(annotation) is Annotated:
        return _alternatives(typing.get_args(annotation)[0])
    return [annotation]


class _Validator:
    """Everything pydantic alone cannot check: ids, experts, references, cycles, paths, budgets."""

    def __init__(self, spec: TaskSpec, registry: Registry, source: SourceMap | None, check_paths: bool):
        self.spec = spec
        self.reg = registry
        self.caps = registry.capabilities()
        self.source = source
        self.check_paths = check_paths
        self.problems: list[Problem] = []
        self.ids: dict[str, int] = {}

    def add(self, msg: str, loc: PathKey, hint: str = "", value: bool = True, path: PathKey | None = None) -> None:
        """Record a problem about `loc` (pointing at its value unless `value` is false)."""
        self.problems.append(_problem(msg, loc if path is None else path, self.source, loc, value, hint))

    def run(self) -> list[Problem]:
        spec = self.spec
        if len(spec.graph) > spec.budget.max_nodes:
            self.add(f"the graph has {len(spec.graph)} nodes but budget.max_nodes is {spec.budget.max_nodes}",
                     ("graph",), "raise budget.max_nodes or split the task", value=False)
        self._router()
        for i, node in enumerate(spec.graph):
            if node.id in self.ids:
                first = self.ids[node.id]
                line = self.source.locate(("graph", first, "id"))[0] if self.source else None
                self.add(f"duplicate node id `{node.id}`", ("graph", i, "id"),
                         f"graph[{first}]{f' on line {line}' if line else ''} already uses it; ids must be unique")
            else:
                self.ids[node.id] = i
        self._inputs()
        self._spoken_goal()
        for i, node in enumerate(spec.graph):
            self._node(i, node)
        self._checks()
        if not self.problems:
            self._cycles()
        if spec.output and self.check_paths:
            self._inside(spec.output, ("output",))
        return self.problems

    def _router(self) -> None:
        from agentos.routing import available_routers

        name = self.spec.router.name
        routers = available_routers()
        if name not in routers:
            self.add(f"unknown router `{name}`", ("router", "name"),
                     suggest(name, routers) or f"known routers: {', '.join(sorted(routers))}")

    def _inputs(self) -> None:
        for name, value in self.spec.inputs.items():
            if not (isinstance(value, dict) and "file" in value):
                continue
            loc: PathKey = ("inputs", name, "file")
            if set(value) != {"file"}:
                extra = ", ".join(f"`{k}`" for k in value if k != "file")
                self.add(f"a file input takes only the key `file`; found {extra}", ("inputs", name), value=False)
            elif not isinstance(value["file"], str) or not value["file"].strip():
                self.add(f"expected a path relative to the task file, got {describe(value['file'])}", loc)
            else:
                resolved = self._inside(value["file"], loc, must_exist=True)
                if resolved is not None:
                    self.spec.inputs[name] = str(resolved)

    def _spoken_goal(self) -> None:
        goal = self.spec.spoken_goal
        if goal is None:
            return
        loc: PathKey = ("spoken_goal",)
        if self.spec.graph:
            self.add("a spoken goal is planned into the graph: leave `graph` out (or type the goal as `goal`)",
                     ("graph",), value=False)
        if not has_reference(goal.audio):
            resolved = self._inside(goal.audio, (*loc, "audio"), must_exist=True)
            if resolved is not None:
                goal.audio = str(resolved)
        if SPOKEN_GOAL_CAPABILITY not in self.caps and goal.expert is None:
            self.add(f"no installed expert offers `{SPOKEN_GOAL_CAPABILITY}`, which hears a spoken goal", loc,
                     'install the voice experts: pip install -e ".[voice]"', value=False)
            return
        node = goal.node()
        op = self._operation(node, loc)
        if op is not None:
            self._node_inputs(node, loc, op, inputs_at=loc)

    def _inside(self, rel: str, loc: PathKey, must_exist: bool = False) -> Path | None:
        """Resolve a path against the task folder; it may not leave it."""
        base = self.spec.base_dir.resolve()
        target = (base / rel).resolve()
        if not target.is_relative_to(base):
            self.add(f"path `{rel}` is outside the task folder {base}", loc,
                     "paths resolve relative to the task file's folder and must stay inside it")
            return None
        if must_exist and self.check_paths and not target.exists():
            self.add(f"file `{rel}` does not exist", loc, f"looked for {target}")
            return None
        return target

    def _node(self, i: int, node: NodeSpec) -> None:
        loc: PathKey = ("graph", i)
        for j, dep in enumerate(node.after):
            if dep == node.id:
                self.add("a node cannot run after itself", (*loc, "after", j))
            elif dep not in self.ids:
                self.add(f"`after` names unknown node `{dep}`", (*loc, "after", j),
                         suggest(dep, self.ids) or f"nodes: {', '.join(self.ids)}")
        op = self._operation(node, loc)
        if op is not None:
            self._node_inputs(node, loc, op)

    def _operation(self, node: NodeSpec, loc: PathKey) -> OperationCard | None:
        """The operation whose input model this node's inputs must fit; fills in an implied capability."""
        if node.expert and node.expert not in self.reg:
            names = [e.card.name for e in self.reg]
            hint = (f"`{node.expert}` is a capability; write `capability: {node.expert}`" if node.expert in self.caps
                    else suggest(node.expert, names) or f"known experts: {', '.join(sorted(names)) or 'none'}")
            self.add(f"unknown expert `{node.expert}`", (*loc, "expert"), hint)
            return None
        if node.expert and not node.capability:
            ops = self.reg.get(node.expert).card.operations
            if len(ops) != 1:
                self.add(f"expert `{node.expert}` has several operations; say which with `capability`",
                         (*loc, "expert"), f"one of: {', '.join(o.capability for o in ops)}")
                return None
            node.capability = ops[0].capability
        cap = node.capability
        assert cap is not None  # NodeSpec requires capability or expert
        if cap not in self.caps:
            hint = (f"`{cap}` is an expert; write `expert: {cap}`" if cap in self.reg
                    else suggest(cap, self.caps) or f"known capabilities: {', '.join(sorted(self.caps)) or 'none'}")
            self.add(f"unknown capability `{cap}`", (*loc, "capability"), hint)
            return None
        name = node.expert or self.caps[cap][0]
        op = self.reg.get(name).card.operation_for(cap)
        if op is None:
            offers = ", ".join(o.capability for o in self.reg.get(name).card.operations)
            self.add(f"expert `{name}` does not offer `{cap}`", (*loc, "expert"),
                     f"it offers {offers}; experts offering `{cap}`: {', '.join(self.caps[cap])}")
        return op

    def _node_inputs(self, node: NodeSpec, loc: PathKey, op: OperationCard, inputs_at: PathKey | None = None) -> None:
        """Check the node's inputs against the operation's model; `inputs_at`: where the file writes them
        (default: the node's `inputs`)."""
        model = op.input_model
        fields = {(info.alias or name): info for name, info in model.model_fields.items()}
        open_model = model.model_config.get("extra") == "allow"
        at = (*loc, "inputs") if inputs_at is None else inputs_at
        for key, value in node.inputs.items():
            kloc = (*at, key)
            info = fields.get(key)
            if info is None:
                if not open_model:
                    self.add(f"`{op.capability}` has no input `{key}`", kloc,
                             "; ".join(filter(None, [suggest(key, fields), f"its inputs: {', '.join(fields)}"])),
                             value=False)
                continue
            for sub in unclosed_references(value):
                self.add("`${` is never closed", (*kloc, *sub),
                         "end the reference with `}`, or write `$${` for a literal `${`")
            refs = list(iter_references(value))
            for sub, body in refs:
                self._reference(body, node.id, (*kloc, *sub))
            if not (refs and refs[0][0] == () and is_whole_reference(value)):  # nothing literal to check
                self._literal(key, value, info, node, kloc, op.capability)
        for key, info in fields.items():
            if info.is_required() and key not in node.inputs:
                self.add(f"missing input `{key}` for `{op.capability}`", at,
                         f"expected {type_name(info.annotation)}", value=False)

    def _literal(self, key: str, value: Any, info: FieldInfo, node: NodeSpec, loc: PathKey, cap: str) -> None:
        """Type-check an input against the expert's field; parts that are references are checked at run time."""
        annotation = info.annotation
        try:
            _adapter(info).validate_python(value)
        except ValidationError as exc:
            errors = [e for e in exc.errors() if not _at_reference(value, tuple(e["loc"]))]
            hint = f"`{cap}` takes {key}: {type_name(annotation)}"
            self.problems += _problems_from_errors(errors, value, loc, self.source, None, hint)
            return
        node.inputs[key] = self._paths(annotation, value, loc)

    def _paths(self, annotation: Any, value: Any, loc: PathKey) -> Any:
        """`value` with each literal path in it resolved inside the task folder, found by the field's type: a
        `Path`, and paths inside lists, dicts and models (`corpus: [docs]`, `secrets: {pw: {file: pw.txt}}`)."""
        if isinstance(value, str):
            if Path in _alternatives(annotation) and not has_reference(value):
                resolved = self._inside(value, loc)
                return str(resolved) if resolved is not None else value
            return value
        for alt in _alternatives(annotation):
            origin, args = typing.get_origin(alt), typing.get_args(alt)
            if isinstance(value, list) and origin in (list, tuple) and args:
                return [self._paths(args[0], v, (*loc, i)) for i, v in enumerate(value)]
            if isinstance(value, dict) and origin is dict and len(args) == 2:
                return {k: self._paths(args[1], v, (*loc, k)) for k, v in value.items()}
            if isinstance(value, dict) and isinstance(alt, type) and issubclass(alt, BaseModel):
                fields = alt.model_fields
                return {k: self._paths(fields[k].annotation, v, (*loc, k)) if k in fields else v
                        for k, v in value.items()}
        return value

    def _reference(self, body: str, reader: str | None, loc: PathKey) -> None:
        try:
            ref = parse_reference(body)
        except ReferenceSyntaxError as exc:
            self.add(str(exc), loc)
            return
        if ref.source == INPUTS:
            self._input_reference(ref, loc)
            return
        if ref.source == reader:
            self.add(f"{ref.text}: a node cannot read its own output", loc)
            return
        if ref.source not in self.ids:
            self.add(f"{ref.text}: no node `{ref.source}`", loc,
                     suggest(ref.source, self.ids) or f"nodes: {', '.join(self.ids) or 'none'}")
            return
        upstream = self.spec.graph[self.ids[ref.source]]
        models = self._output_models(upstream)
        if not models:
            return  # the upstream node's own problem is already reported
        walked = {name: _walk_output(model, ref.path) for name, model in models.items()}
        failed = {name: miss for name, miss in walked.items() if miss is not None}
        if len(failed) == len(models):
            why, step, options = next(iter(failed.values()))
            hint = "; ".join(filter(None, [suggest(step, options),
                                           f"fields there: {', '.join(options)}" if options else ""]))
            self.add(f"{ref.text}: `{upstream.capability}` output {why}", loc, hint)
        elif failed:
            ok = [n for n in models if n not in failed]
            self.add(f"{ref.text}: only {', '.join(ok)} of the experts offering `{upstream.capability}` "
                     f"produce it", loc, f"pin one with `expert: {ok[0]}` on node `{upstream.id}`")

    def _input_reference(self, ref: Reference, loc: PathKey) -> None:
        if ref.field not in self.spec.inputs:
            names = list(self.spec.inputs)
            self.add(f"{ref.text}: no task input `{ref.field}`", loc,
                     suggest(ref.field or "", names) or f"task inputs: {', '.join(names) or 'none'}")
            return
        try:
            lookup(self.spec.inputs, ref)
        except KeyError as exc:
            self.add(str(exc.args[0]), loc)

    def _output_models(self, node: NodeSpec) -> dict[str, type[BaseModel]]:
        """Output model of each expert that may run `node` (the pinned one, or every candidate)."""
        if not node.capability or node.capability not in self.caps:
            return {}
        names = [node.expert] if node.expert else self.caps[node.capability]
        ops = {n: self.reg.get(n).card.operation_for(node.capability) for n in names if n in self.reg}
        return {n: op.output_model for n, op in ops.items() if op is not None}

    def _checks(self) -> None:
        for i, check in enumerate(self.spec.checks):
            for j, text in enumerate(check.agree):
                loc: PathKey = ("checks", i, "agree", j)
                refs = list(iter_references(text))
                if len(refs) != 1:
                    self.add(f"expected one `${{node.field}}` reference, got {describe(text)}", loc,
                             'e.g. agree: ["${load.count}", "${keywords.documents}"]')
                    continue
                self._reference(refs[0][1], None, loc)

    def _cycles(self) -> None:
        g = nx.DiGraph()
        for node in self.spec.graph:
            g.add_node(node.id)
            for dep in dependencies(node):
                g.add_edge(dep, node.id)
        if nx.is_directed_acyclic_graph(g):  # linear time; find_cycle alone is quadratic on wide graphs
            return
        cycle = nx.find_cycle(g)
        names = [u for u, _ in cycle]
        start = min(names, key=lambda n: self.ids[n])  # name the cycle from its earliest node in the file
        k = names.index(start)
        names = [*names[k:], *names[:k], start]
        self.add(f"the graph has a cycle: {' -> '.join(names)}", ("graph", self.ids[start], "id"),
                 "each node waits for the one before it; remove one of these references or `after` entries",
                 path=("graph",))


def _walk_output(model: type[BaseModel], path: tuple[str, ...]) -> tuple[str, str, list[str]] | None:
    """Follow a reference's field path through an output model: None if it fits, else (why, step, choices)."""
    tp: Any = model
    done: list[str] = []
    for step in path:
        tp = _unwrap(tp)
        where = f"`{'.'.join(done)}`" if done else ""
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            fields = {(info.alias or name): info for name, info in tp.model_fields.items()}
            if step not in fields:
                return (f"{where + ' ' if where else ''}has no field `{step}`", step, list(fields))
            tp = fields[step].annotation
        elif typing.get_origin(tp) in (list, tuple):
            if not step.isdigit():
                return (f"{where} is a list; take an item by index (`.0`), not `{step}`", step, [])
            args = typing.get_args(tp)
            tp = args[0] if args else Any
        elif typing.get_origin(tp) is dict:
            args = typing.get_args(tp)
            tp = args[1] if len(args) == 2 else Any
        elif tp is Any or typing.get_origin(tp) in (Union, types.UnionType):
            return None  # cannot know statically
        else:
            return (f"{where} is {type_name(tp)}; it has no field `{step}`", step, [])
        done.append(step)
    return None


def _unwrap(tp: Any) -> Any:
    """`X | None` -> X, `Annotated[X, ...]` -> X."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


_ADAPTERS: dict[int, tuple[FieldInfo, TypeAdapter[Any]]] = {}


def _adapter(info: FieldInfo) -> TypeAdapter[Any]:
    """One TypeAdapter per expert input field (building one costs ~100 µs; a graph reuses fields)."""
    hit = _ADAPTERS.get(id(info))
    if hit is None or hit[0] is not info:
        tp = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        hit = _ADAPTERS[id(info)] = (info, TypeAdapter(tp))
    return hit[1]


def dependencies(node: NodeSpec) -> set[str]:
    """Nodes this node waits for: its references and its `after` list (`inputs` excluded)."""
    deps = set(node.after)
    for _, body in iter_references(node.inputs):
        try:
            src = parse_reference(body).source
        except ReferenceSyntaxError:
            continue
        if src != INPUTS:
            deps.add(src)
    return deps


def _at_reference(value: Any, loc: tuple[Any, ...]) -> bool:
    """Whether an error at `loc` lies in (or under) a string holding a reference."""
    cur = value
    for seg in (None, *loc):
        if isinstance(cur, str):
            return has_reference(cur)
        if seg is None:
            continue
        if (isinstance(cur, dict) and seg in cur) or (
                isinstance(cur, list) and isinstance(seg, int) and 0 <= seg < len(cur)):
            cur = cur[seg]
    return isinstance(cur, str) and has_reference(cur)


def type_name(annotation: Any) -> str:
    """A type as the task-file reference writes it: `int`, `str | list[str]`, `list[Document]`."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        return type_name(args[0])
    if origin in (Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if annotation is type(None):
        return "null"
    if annotation is Any:
        return "any value"
    if origin is not None:
        name = getattr(origin, "__name__", str(origin).replace("typing.", ""))
        return f"{name}[{', '.join(type_name(a) for a in args)}]" if args else name
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def task_json_schema() -> dict[str, Any]:
    """JSON Schema of the task file, for editors (`agentos schema`)."""
    schema = TaskSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "AgentOS task file"
    return schema
