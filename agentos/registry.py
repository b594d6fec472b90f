"""Which experts exist: registered in code, or discovered through the `agentos.experts` entry points.

An entry point may name an `Expert` instance, an `Expert` subclass, a list of either, or a
zero-argument callable returning one of those. A plugin that fails to load is reported, not fatal.
"""

from __future__ import annotations

import difflib
import importlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from agentos.errors import AgentOSError, CapabilityNotFoundError, ExpertNotFoundError
from agentos.sdk import Expert, OperationCard

ENTRY_POINT_GROUP = "agentos.experts"
MODULES_ENV = "AGENTOS_EXPERT_MODULES"  # "pkg.mod:attr,other.mod" for experts not packaged yet


@dataclass(frozen=True)
class LoadFailure:
    source: str
    error: str


def suggest(word: str, choices: Iterable[str]) -> str:
    """`did you mean ...?` text for a near miss, or empty."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else ""


def _as_experts(obj: Any, source: str) -> list[Expert]:
    if isinstance(obj, Expert):
        return [obj]
    if isinstance(obj, type) and issubclass(obj, Expert):
        return [obj()]
    if isinstance(obj, (list, tuple)):
        return [e for item in obj for e in _as_experts(item, source)]
    if callable(obj) and not isinstance(obj, type):  # a factory; another class is a mistake, not one
        return _as_experts(obj(), source)
    raise AgentOSError(f"{source}: expected an Expert, an Expert class or a list of them, "
                       f"got {type(obj).__name__}")


class Registry:
    """Experts by name, and the experts that offer each capability."""

    def __init__(self, experts: Iterable[Expert | type[Expert]] = ()):
        self._experts: dict[str, Expert] = {}
        self._caps: dict[str, list[str]] | None = None  # capability -> expert names, rebuilt on register
        self.failures: list[LoadFailure] = []
        for e in experts:
            self.register(e)

    def register(self, item: Expert | type[Expert]) -> Expert:
        exp = item() if isinstance(item, type) else item
        name = exp.card.name
        if name in self._experts and self._experts[name] is not exp:
            raise AgentOSError(f"two experts are named {name!r}; expert names must be unique")
        self._experts[name] = exp
        self._caps = None
        return exp

    @classmethod
    def discover(cls, extra: Iterable[Expert | type[Expert]] = ()) -> Registry:
        """Everything installed (entry points) plus `AGENTOS_EXPERT_MODULES` plus `extra`."""
        reg = cls()
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            reg._load(f"entry point {ep.name} = {ep.value}", ep.load)
        for spec in filter(None, (s.strip() for s in os.environ.get(MODULES_ENV, "").split(","))):
            reg._load(f"{MODULES_ENV} {spec}", lambda spec=spec: _import(spec))
        for e in extra:
            reg.register(e)
        return reg

    def _load(self, source: str, loader: Any) -> None:
        try:
            for exp in _as_experts(loader(), source):
                self.register(exp)
        except Exception as exc:  # a broken plugin must not take the others down
            self.failures.append(LoadFailure(source, f"{type(exc).__name__}: {exc}"))

    # lookups -------------------------------------------------------------------------------------
    def __contains__(self, name: str) -> bool:
        return name in self._experts

    def __iter__(self) -> Iterator[Expert]:
        return iter(self._experts.values())

    def __len__(self) -> int:
        return len(self._experts)

    def get(self, name: str) -> Expert:
        try:
            return self._experts[name]
        except KeyError:
            known = ", ".join(sorted(self._experts)) or "none"
            hint = suggest(name, self._experts) or f"known experts: {known}"
            raise ExpertNotFoundError(f"no expert named {name!r} ({hint})") from None

    def capabilities(self) -> dict[str, list[str]]:
        """Capability -> names of the experts offering it (registration order). Do not mutate."""
        if self._caps is None:
            caps: dict[str, list[str]] = {}
            for exp in self._experts.values():
                for op in exp.card.operations:
                    caps.setdefault(op.capability, []).append(exp.card.name)
            self._caps = caps
        return self._caps

    def candidates(self, capability: str) -> list[Expert]:
        found = [self._experts[n] for n in self.capabilities().get(capability, [])]
        if not found:
            caps = self.capabilities()
            hint = suggest(capability, caps) or f"known capabilities: {', '.join(sorted(caps)) or 'none'}"
            raise CapabilityNotFoundError(f"no expert offers capability {capability!r} ({hint})")
        return found

    def operation(self, expert_name: str, capability: str) -> OperationCard:
        op = self.get(expert_name).card.operation_for(capability)
        if op is None:
            offered = ", ".join(o.capability for o in self.get(expert_name).card.operations)
            raise CapabilityNotFoundError(
                f"expert {expert_name!r} does not offer {capability!r} (it offers: {offered})")
        return op

    def catalogue(self) -> list[dict[str, Any]]:
        """The JSON the host model reads to plan."""
        return [e.card.describe() for e in sorted(self._experts.values(), key=lambda e: e.card.name)]


def _import(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    mod = importlib.import_module(module)
    return getattr(mod, attr) if attr else mod.EXPERTS
