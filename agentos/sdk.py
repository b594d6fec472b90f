"""The expert SDK: cards, the `Expert` base class, `@operation`, and `@expert` for plain functions.

An expert is something the host can read (a card with typed operations) and the runtime can
call (`await expert.run(op, inputs, ctx)`). Write a class with `@operation` methods when an
expert has several operations or state; decorate a typed function with `@expert` otherwise.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, get_type_hints

from pydantic import BaseModel, ConfigDict, Field

from agentos.errors import AgentOSError, ExpertError
from agentos.events import ArtifactWritten, EventSink, NodeProgress


class OperationCard(BaseModel):
    """One thing an expert can do: a capability with typed input and output."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str
    capability: str
    description: str
    input_model: type[BaseModel] = Field(exclude=True)
    output_model: type[BaseModel] = Field(exclude=True)
    cost: float = 0.0  # abstract cost units per call, summed against budget.max_cost
    latency_s: float = 0.0  # typical wall time, used for the critical path
    checks: list[Any] = Field(default_factory=list, exclude=True, description="consistency checks "
                              "(`agentos.checks.NodeCheck`) the runtime runs on this operation's output after "
                              "the common ones")

    def describe(self) -> dict[str, Any]:
        """JSON form for the host model's catalogue and `agentos experts list --json`."""
        return {
            "capability": self.capability,
            "description": self.description,
            "input_schema": self.input_model.model_json_schema(),
            "output_schema": self.output_model.model_json_schema(),
            "cost": self.cost,
            "latency_s": self.latency_s,
        }


class ExpertCard(BaseModel):
    """What the host and the router know of an expert."""

    name: str
    domain: str
    description: str
    version: str = "0.1.0"
    operations: list[OperationCard]

    def operation_for(self, capability: str) -> OperationCard | None:
        return next((op for op in self.operations if op.capability == capability), None)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "domain": self.domain,
            "description": self.description,
            "version": self.version,
            "operations": [op.describe() for op in self.operations],
        }


class ArtifactStore:
    """Files a node produces, kept under `<run>/artifacts/<node_id>/`."""

    def __init__(self, run_dir: Path, node_id: str, emit: EventSink | None = None, run_id: str = ""):
        self.run_dir = run_dir
        self._emit = emit
        self._run_id = run_id
        self._node_id = node_id

    @functools.cached_property
    def root(self) -> Path:
        return self.run_dir / "artifacts" / self._node_id

    def path(self, name: str) -> Path:
        """A path for an artifact named `name` (folders allowed); its parent exists."""
        target = (self.root / name).resolve()
        if not target.is_relative_to(self.root.resolve()):
            raise ExpertError(f"artifact name {name!r} escapes the node's artifact folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_bytes(self, name: str, data: bytes) -> Path:
        p = self.path(name)
        p.write_bytes(data)
        self._announce(p)
        return p

    def write_text(self, name: str, text: str) -> Path:
        return self.write_bytes(name, text.encode("utf-8"))

    def _announce(self, p: Path) -> None:
        if self._emit:
            rel = p.relative_to(self.run_dir.resolve())
            self._emit(ArtifactWritten(run_id=self._run_id, node_id=self._node_id, path=str(rel),
                                       bytes=p.stat().st_size))

    def files(self) -> list[Path]:
        """Every file under the node's artifact folder; none unless the expert asked for a path."""
        if "root" not in self.__dict__ or not self.root.is_dir():  # `root` is computed on first use
            return []
        return sorted(p for p in self.root.rglob("*") if p.is_file())


class ExpertContext:
    """What an expert gets besides its inputs: artifacts, progress, cancellation, a logger, the host."""

    def __init__(self, *, run_id: str, node_id: str, run_dir: Path, attempt: int = 1,
                 host: Any = None, emit: EventSink | None = None, expert_name: str = ""):
        self.run_id = run_id
        self.node_id = node_id
        self.attempt = attempt
        self.host = host
        self.artifacts = ArtifactStore(run_dir, node_id, emit, run_id)
        self._expert_name = expert_name or "anon"
        self._log: logging.LoggerAdapter[logging.Logger] | None = None
        self.cost = 0.0  # an expert may add what a call really cost; the card's hint is the default
        self._emit = emit
        self._cancelled = False  # set on the loop thread, read by worker threads; a bool is enough

    @property
    def log(self) -> logging.LoggerAdapter[logging.Logger]:
        """A logger named `agentos.expert.<expert>` whose records carry the run and node ids."""
        if self._log is None:
            self._log = logging.LoggerAdapter(logging.getLogger(f"agentos.expert.{self._expert_name}"),
                                              {"run_id": self.run_id, "node_id": self.node_id})
        return self._log

    def emit_event(self, event: Any) -> None:
        """Record an event of this node's run (the journal and every listener get it)."""
        if self._emit:
            self._emit(event)

    def progress(self, fraction: float | None = None, message: str = "") -> None:
        """Report progress (0..1, or None when unknown) with a short message."""
        if self._emit:
            self._emit(NodeProgress(run_id=self.run_id, node_id=self.node_id, fraction=fraction,
                                    message=message))

    @property
    def cancelled(self) -> bool:
        """True once the run is being cancelled; blocking code in threads should poll it."""
        return self._cancelled

    def raise_if_cancelled(self) -> None:
        if self._cancelled:
            raise asyncio.CancelledError()

    def cancel(self) -> None:
        self._cancelled = True


def no_chat_host(host: Any) -> str | None:
    """Why `host` cannot hold a conversation for an expert (write prose, pick actions), or None when it can.
    The bundled planner plans task graphs and nothing else: its folder has a planner card."""
    if host is None:
        return "no host model is configured (set `host:` in the task file, or AGENTOS_HOST_URL)"
    if getattr(host, "planner_card", None) is not None:
        return "the host is the bundled task-graph planner, which only plans; point `host:` at a chat model"
    return None


def _io_models(fn: Callable[..., Any], skip_self: bool) -> tuple[type[BaseModel], type[BaseModel], bool]:
    """The input and output models of an operation, and whether it takes `ctx` as its second parameter."""
    where = getattr(fn, "__qualname__", repr(fn))
    try:
        hints = get_type_hints(fn)
    except NameError as exc:  # string annotations naming something not at module level
        raise AgentOSError(f"{where}: cannot resolve its type annotations ({exc}); define the input and "
                           "output models at module level") from None
    params = list(inspect.signature(fn).parameters.values())
    if skip_self:
        params = params[1:]
    if not params:
        raise AgentOSError(f"{where}: an operation takes (inputs: Model, ctx: ExpertContext)")
    if len(params) > 2:
        raise AgentOSError(f"{where}: an operation takes (inputs: Model, ctx: ExpertContext), "
                           f"not {len(params)} parameters")
    inp = hints.get(params[0].name)
    out = hints.get("return")
    for what, model in ((f"input parameter `{params[0].name}`", inp), ("return", out)):
        if model is None:
            raise AgentOSError(f"{where}: annotate the {what} with a pydantic model (it has no annotation)")
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise AgentOSError(f"{where}: the {what} type must be a pydantic model, got {model!r}")
    return inp, out, len(params) == 2  # type: ignore[return-value]


def _with_ctx(fn: Callable[..., Any], takes_ctx: bool) -> Callable[..., Any]:
    """Call every operation as `fn(inputs, ctx)`, even one written as `fn(inputs)`; keeps it async or sync."""
    if takes_ctx:
        return fn
    if inspect.iscoroutinefunction(fn):
        async def call_async(inputs: BaseModel, ctx: ExpertContext) -> Any:
            return await fn(inputs)

        return call_async

    def call(inputs: BaseModel, ctx: ExpertContext) -> Any:
        return fn(inputs)

    return call


def _own_doc(cls: type) -> str:
    """The class's own docstring; `inspect.getdoc` would hand a subclass the base class's text."""
    doc = cls.__dict__.get("__doc__")
    return inspect.cleandoc(doc) if isinstance(doc, str) else ""


async def _call(fn: Callable[..., Any], *args: Any) -> Any:
    """Await coroutine functions; run plain functions in a thread so they never block the loop."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    return await asyncio.to_thread(fn, *args)


def operation(capability: str | Callable[..., Any] | None = None, *, cost: float = 0.0,
              latency_s: float = 0.0, description: str | None = None, checks: Sequence[Any] = ()) -> Any:
    """Mark a method `(self, inputs: In, ctx) -> Out` as an operation of an `Expert` subclass.

    The capability defaults to `<domain>.<method name>`; the description to the docstring.
    `ctx` may be left out when the operation does not use it; bare `@operation` works too.
    `checks` are consistency checks for this operation's output: a failed one rejects the attempt,
    so the runtime retries on the next candidate or replans, as for the common checks.
    """
    if callable(capability):  # used bare, as `@operation`
        return operation()(capability)

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.__agentos_operation__ = {  # type: ignore[attr-defined]
            "capability": capability, "cost": cost, "latency_s": latency_s, "description": description,
            "checks": list(checks)}
        return fn

    return mark


class Expert:
    """Base class for experts. Subclasses set `name`, `domain`, `description` and define operations."""

    name: ClassVar[str] = ""
    domain: ClassVar[str] = ""
    description: ClassVar[str] = ""
    version: ClassVar[str] = "0.1.0"

    _card: ExpertCard | None = None
    _handlers: dict[str, Callable[..., Any]]

    @property
    def card(self) -> ExpertCard:
        if self._card is None:
            self._card, self._handlers = self._build_card()
        return self._card

    def _build_card(self) -> tuple[ExpertCard, dict[str, Callable[..., Any]]]:
        cls = type(self)
        if not cls.name or not cls.domain:
            raise AgentOSError(f"{cls.__qualname__}: an expert needs class attributes `name` and `domain`")
        ops: list[OperationCard] = []
        handlers: dict[str, Callable[..., Any]] = {}
        for attr in dir(cls):
            fn = getattr(cls, attr, None)
            meta = getattr(fn, "__agentos_operation__", None)
            if meta is None:
                continue
            inp, out, takes_ctx = _io_models(fn, skip_self=True)  # type: ignore[arg-type]
            cap = meta["capability"] or f"{cls.domain}.{attr}"
            if cap in handlers:
                raise AgentOSError(f"{cls.__qualname__}: two operations offer {cap!r}; "
                                   "capabilities must differ")
            ops.append(OperationCard(
                name=attr, capability=cap, input_model=inp, output_model=out, cost=meta["cost"],
                latency_s=meta["latency_s"], checks=meta.get("checks", []),
                description=meta["description"] or inspect.getdoc(fn) or "",
            ))
            handlers[cap] = _with_ctx(getattr(self, attr), takes_ctx)
        if not ops:
            raise AgentOSError(f"{cls.__qualname__}: no `@operation` methods")
        card = ExpertCard(name=cls.name, domain=cls.domain, version=cls.version,
                          description=cls.description or _own_doc(cls), operations=ops)
        return card, handlers

    def unavailable(self, host: Any) -> str | None:
        """Why this expert cannot run here and now (no weights at the configured path, no suitable host),
        or None. The runtime leaves an unavailable expert out of routing instead of failing on it."""
        return None

    async def run(self, capability: str, inputs: BaseModel, ctx: ExpertContext) -> BaseModel:
        """Run one operation; the runtime has already validated `inputs` against its model."""
        _ = self.card
        handler = self._handlers.get(capability)
        if handler is None:
            raise ExpertError(f"expert {self.card.name!r} has no operation for capability {capability!r}")
        return await _call(handler, inputs, ctx)

    def __repr__(self) -> str:
        return f"<Expert {self.card.name} ({', '.join(o.capability for o in self.card.operations)})>"


class FunctionExpert(Expert):
    """An expert made from one typed function by `@expert`."""

    def __init__(self, fn: Callable[..., Any], card: ExpertCard, takes_ctx: bool = True):
        self._fn = fn
        self._card = card
        self._handlers = {card.operations[0].capability: _with_ctx(fn, takes_ctx)}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._fn(*args, **kwargs)


def expert(name: str | None = None, *, domain: str, capability: str | None = None,
           description: str | None = None, cost: float = 0.0, latency_s: float = 0.0,
           version: str = "0.1.0", checks: Sequence[Any] = ()) -> Callable[[Callable[..., Any]], FunctionExpert]:
    """Turn `async def f(inputs: In, ctx) -> Out` (or a plain def; `ctx` optional) into an expert.

    The name defaults to the function's, the capability to `<domain>.<function name>`, the
    description to the docstring. The result is still callable as the plain function.

    >>> @expert(domain="demo", capability="demo.greet")
    ... async def greeter(inputs: GreetIn, ctx) -> GreetOut: ...
    """

    def wrap(fn: Callable[..., Any]) -> FunctionExpert:
        inp, out, takes_ctx = _io_models(fn, skip_self=False)
        op_name = capability.split(".", 1)[1] if capability and "." in capability else fn.__name__
        doc = description or inspect.getdoc(fn) or ""
        card = ExpertCard(
            name=name or fn.__name__, domain=domain, description=doc, version=version,
            operations=[OperationCard(name=op_name, capability=capability or f"{domain}.{fn.__name__}",
                                      description=doc, input_model=inp, output_model=out,
                                      cost=cost, latency_s=latency_s, checks=list(checks))],
        )
        return FunctionExpert(fn, card, takes_ctx)

    return wrap

