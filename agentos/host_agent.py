"""The host agent: plans a task graph from a goal, and replans a node that failed.

The host model is asked for JSON `{"nodes": [...]}` matching the graph's JSON Schema by the
strongest means its server supports: `response_format` json_schema (constrained decoding), else
one forced tool call, else plain prompting with the schema in the prompt. A plan is held to the
same validator as a hand-written task file (`parse_task`); when it fails, the host is asked once
more with every problem listed, and then `PlanError` says what it returned and what was wrong.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import networkx as nx

from agentos.errors import HostError, PlanDeclinedError, PlanError, Problem, TaskFileError, UserError
from agentos.plan_stream import NodeScanner
from agentos.planning.format import FORMAT_NAME, PlannerCard, entries_from_registry, request_line
from agentos.planning.format import render_prompt as planning_request
from agentos.planning.guard import PlanGuard
from agentos.planning.schema import DECISIONS, plan_schema, strip_titles
from agentos.references import iter_references, parse_reference
from agentos.registry import Registry
from agentos.taskspec import HostSettings, NodeSpec, TaskSpec, parse_task

if TYPE_CHECKING:  # host_model imports the openai client; load it only when a host is configured
    from agentos.graph import TaskGraph
    from host_model import HostModel
    from host_model.base import StreamingHostModel

log = logging.getLogger("agentos.host")

URL_ENV = "AGENTOS_HOST_URL"
MODEL_ENV = "AGENTOS_HOST_MODEL"
KEY_ENV = "AGENTOS_HOST_API_KEY"
MODEL_DIR_ENV = "AGENTOS_HOST_MODEL_DIR"

Mode = Literal["json_schema", "tools", "prompt"]
PromptStyle = Literal["auto", "full", "compact"]
MODES: tuple[Mode, ...] = ("json_schema", "tools", "prompt")
TOOL_NAME = "submit_plan"
TRIES = 2  # the first answer, and one re-ask with the problems listed
RETRY_TEMPERATURE = 0.8  # a compact-prompt model was not trained on repair turns: resample instead
MIN_TEXT_LIMIT = 64  # a compact-prompt plan's strings may be as long as its goal, and at least this long
_CLIP = 600


# --------------------------------------------------------------------------------------------------
# configuration


def host_from_settings(settings: HostSettings | None, env: Mapping[str, str] | None = None) -> HostModel | None:
    """The host a task asks for: its `host:` block, with AGENTOS_HOST_* filling what it leaves out.

    An endpoint (URL and model name) wins; else a model folder (`model_dir`); else the bundled
    offline planner when this install has it. `model_dir: none` turns that default off, and then
    None means no host. A half-configured endpoint is a `UserError` saying what to add.
    """
    env = os.environ if env is None else env
    s = settings or HostSettings()
    url = s.base_url or env.get(URL_ENV) or None
    model = s.model or env.get(MODEL_ENV) or None
    if not url and not model:
        return _local_host(s, env)
    if not url or not model:
        missing, key, var, example = (
            ("URL", "base_url", URL_ENV, "http://127.0.0.1:8000/v1") if not url else
            ("model name", "model", MODEL_ENV, "step-3.5-flash"))
        have = f"model {model!r}" if model else f"URL {url}"
        raise UserError(f"the host model is half configured: it has a {have} but no {missing}. Set `host: "
                        f"{{{key}: {example}}}` in the task file, or export {var}={example}")
    if not re.match(r"^https?://", url):
        raise UserError(f"host base_url {url!r} is not an http(s) URL (e.g. http://127.0.0.1:8000/v1)")
    api_key = env.get(s.api_key_env) or None
    if api_key is None and s.api_key_env != KEY_ENV:
        raise UserError(f"host.api_key_env names ${s.api_key_env}, but that variable is not set")
    from host_model import OpenAICompatibleHost

    return OpenAICompatibleHost(url, model, api_key=api_key, timeout_s=s.timeout_s, temperature=s.temperature,
                                max_tokens=s.max_tokens)


def _local_host(s: HostSettings, env: Mapping[str, str]) -> HostModel | None:
    from agentos.local_host import LocalHost, bundled_model_dir

    where = s.model_dir or env.get(MODEL_DIR_ENV) or None
    if where is not None and where.strip().lower() == "none":
        return None
    folder = Path(where).expanduser() if where else bundled_model_dir()
    if folder is None:
        return None
    return LocalHost(folder, temperature=s.temperature, max_tokens=s.max_tokens)


# --------------------------------------------------------------------------------------------------
# what the host is shown


def catalogue(registry: Registry) -> list[dict[str, Any]]:
    """The registry as the planner needs it: one entry per capability, with its input and output schema."""
    entries: dict[str, dict[str, Any]] = {}
    for exp in registry:
        for op in exp.card.operations:
            entry = entries.get(op.capability)
            if entry is None:
                entries[op.capability] = {
                    "capability": op.capability,
                    "description": op.description or exp.card.description,
                    "input_schema": strip_titles(op.input_model.model_json_schema()),
                    "output_schema": strip_titles(op.output_model.model_json_schema()),
                    "experts": [exp.card.name],
                }
            else:
                entry["experts"].append(exp.card.name)
    return [entries[c] for c in sorted(entries)]


_RULES = """\
You are the planner of AgentOS. You turn a task into a task graph: a list of nodes, each of which \
calls one capability from the catalogue. A node runs as soon as the nodes it reads from have \
finished, so independent nodes run in parallel.

Each node has:
- `id`: a short unique name (letters, digits, `_` and `-`; it starts with a letter or `_`).
- `capability`: one capability from the catalogue, exactly as written there.
- `inputs`: an object whose keys are fields of that capability's input_schema; give every required field.
- optionally `after` (ids to wait for without reading their output) and `description` (one line).
Leave out `expert`: the router picks one, unless the task names the expert to use.

To pass a task input write the string `${inputs.NAME}`; to pass an earlier node's output write \
`${NODE_ID.FIELD}`, with FIELD from that capability's output_schema (`${NODE_ID.FIELD.SUB}` or \
`${NODE_ID.FIELD.0}` go deeper). A string that is exactly one reference passes the value with its \
type (a list stays a list); inside longer text it is written into the text. References are the \
edges of the graph: they must not form a cycle, and a node never reads its own output.

Use as few nodes as the task needs. Reply with one JSON object {"nodes": [...]} and nothing else. \
If no capability in the catalogue can do what the task asks, reply {"refuse": "<why>"} instead; if the \
task leaves out what it is about (a file, a folder, a web address) and no task input supplies it, reply \
{"clarify": "<your question>"}."""


def _task_text(spec: TaskSpec, registry: Registry) -> str:
    parts = []
    if spec.name:
        parts.append(f"Task: {spec.name}")
    if spec.goal:
        parts.append(f"Goal: {spec.goal}")
    if spec.inputs:
        lines = [f"- {name}: {_clip(json.dumps(value, default=str), 300)}" for name, value in spec.inputs.items()]
        parts.append("Task inputs (pass them as `${inputs.NAME}`; file inputs are absolute paths):\n"
                     + "\n".join(lines))
    else:
        parts.append("The task has no inputs.")
    if spec.checks:
        sides = ", ".join(f"{c.agree[0]} = {c.agree[1]}" for c in spec.checks)
        parts.append(f"The task's final checks read these node outputs, so the graph must have those nodes "
                     f"and fields: {sides}")
    parts.append(f"Budget: at most {spec.budget.max_nodes} nodes.")
    parts.append("Catalogue (JSON):\n" + json.dumps(catalogue(registry), separators=(",", ":")))
    return "\n\n".join(parts)


# --------------------------------------------------------------------------------------------------
# the agent


class _Rejected(Exception):
    """A reply that cannot be used; `problems` are what the host is told."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class _Unstreamable(Exception):
    """Internal: the server rejected json_schema on a streamed request; plan the other way."""


class HostAgent:
    """Plans and replans through one host model; remembers which structured-output mode the server took.

    `prompt` picks what the host is shown: "full" (rules, full catalogue with JSON Schemas: for large
    models), "compact" (the one-line-per-capability format small planners are trained on, see
    `agentos.planning.format`), or "auto": compact when the host says it was trained on it.
    """

    def __init__(self, host: HostModel, registry: Registry, *, prompt: PromptStyle = "auto"):
        self.host = host
        self.registry = registry
        self.backend: str = host.name
        self.mode: Mode = "json_schema"
        if prompt == "auto":
            prompt = "compact" if getattr(host, "prompt_format", None) == FORMAT_NAME else "full"
        self.prompt: PromptStyle = prompt
        self._inputs: dict[str, Any] | None = None  # the task being planned: its inputs bind references
        self._goal = ""

    async def plan(self, spec: TaskSpec) -> list[NodeSpec]:
        """A validated graph for `spec.goal` (the nodes of a spec that passed `parse_task`).

        Raises `PlanDeclinedError` when the host answers that it cannot or should not plan the goal.
        """
        self._begin(spec)
        return await self._negotiate(self.plan_messages(spec), "plan", lambda nodes: self._check_plan(spec, nodes))

    def plan_messages(self, spec: TaskSpec) -> list[dict[str, Any]]:
        """The chat messages that ask for a plan of `spec.goal` in this agent's prompt style."""
        if self.prompt == "compact":
            request = planning_request(spec.goal or spec.name or "", entries_from_registry(self.registry),
                                       spec.inputs)
            return [{"role": "user", "content": request}]
        return [{"role": "system", "content": _RULES},
                {"role": "user", "content": _task_text(spec, self.registry) + "\n\nPlan the task graph."}]

    async def first_answer(self, spec: TaskSpec) -> str:
        """The host's first reply to the plan request, unvalidated: benchmarks score it before any repair."""
        self._begin(spec)
        raw, _ = await self._ask(self.plan_messages(spec))
        return raw

    def check_answer(self, spec: TaskSpec, raw: str) -> list[NodeSpec]:
        """`raw` as a validated plan; raises PlanError (listing the problems) or PlanDeclinedError."""
        try:
            return self._check_plan(spec, extract_nodes(raw))
        except _Rejected as exc:
            raise PlanError("; ".join(exc.problems)) from None

    @property
    def can_replan(self) -> bool:
        """Small compact-prompt planners are trained to plan, not to repair a graph: they do not replan."""
        return self.prompt == "full"

    async def replan(self, spec: TaskSpec, graph: TaskGraph, node_id: str, error: str) -> list[NodeSpec]:
        """A replacement fragment for failed node `node_id`: one node keeps that id, new ones may precede it."""
        self._begin(spec)
        failed = graph.spec(node_id)
        done = sorted(nx.ancestors(graph.g, node_id))
        reads = _fields_read_from(node_id, graph, spec)
        current = [n.model_dump(mode="json", exclude_defaults=True) for n in graph.specs()]
        lines = [
            _task_text(spec, self.registry),
            "The current graph (JSON):\n" + json.dumps(current, separators=(",", ":")),
            f"Node `{node_id}` failed on every expert that was tried:\n"
            f"  node: {json.dumps(failed.model_dump(mode='json', exclude_defaults=True))}\n"
            f"  error: {_clip(error, 1500)}",
            "Finished nodes (their outputs can be referenced): " + (", ".join(f"`{d}`" for d in done) or "none"),
        ]
        if reads:
            lines.append(f"Other nodes read these fields of `{node_id}`, so its replacement must output them: "
                         + ", ".join(f"`{f}`" for f in reads))
        lines.append(
            f"Reply with {{\"nodes\": [...]}} holding the replacement fragment: exactly one node keeps the id "
            f"`{node_id}`; new nodes get new ids and may read finished nodes. Choose another capability, other "
            f"inputs, or pin another expert with `expert`, so that it does not fail the same way.")
        messages = [{"role": "system", "content": _RULES}, {"role": "user", "content": "\n\n".join(lines)}]
        return await self._negotiate(messages, f"replacement for node `{node_id}`",
                                     lambda nodes: self._check_fragment(spec, graph, node_id, nodes))

    # streaming -----------------------------------------------------------------------------------
    def streams(self) -> bool:
        """Whether `plan_stream` streams: the host has `chat_stream` and this server takes json_schema."""
        from host_model.base import StreamingHostModel

        return isinstance(self.host, StreamingHostModel) and self.mode == "json_schema"

    async def plan_stream(self, spec: TaskSpec) -> AsyncIterator[list[NodeSpec]]:
        """The nodes of `plan(spec)` in batches as the host writes them, so the first can run before it is done.

        The first answer is streamed. Each node the host completes is validated together with every node
        before it (the plan so far, by `plan`'s validator, the task's final checks aside: they read the
        whole plan), and the nodes that make it valid are yielded; a node that is not valid yet (it reads
        one written later) is held until a longer prefix is. At the end the whole reply is validated as
        `plan` does, and it must be what was yielded. If it fails with nothing yielded, the host is re-asked
        with the problems, as `plan` does (the streamed reply was its first try); if nodes were yielded
        (they may be running), `PlanError` names the problems, and what ran stays done. A decline
        (`PlanDeclinedError`) propagates. A host that cannot stream (see `streams`) is planned by `plan`,
        and its plan is yielded once.
        """
        if not self.streams():
            yield await self.plan(spec)
            return
        self._begin(spec)
        messages = self.plan_messages(spec)
        partial = spec.model_copy(update={"checks": []})
        scanner = NodeScanner()
        scanned: list[Any] = []
        yielded: list[NodeSpec] = []
        try:
            async with contextlib.aclosing(self._ask_stream(messages)) as deltas:
                async for delta in deltas:
                    done = scanner.feed(delta)
                    scanned += done
                    if done and (new := self._newly_valid(partial, scanned, len(yielded))):
                        yielded += new
                        yield new
        except _Unstreamable:
            yield await self.plan(spec)  # the server wants another structured-output mode
            return
        if not yielded:
            yield await self._negotiate(messages, "plan", lambda nodes: self._check_plan(spec, nodes),
                                        first_reply=(scanner.text, None))
            return
        if rest := self._rest_of_streamed(spec, scanner.text, yielded):
            yield rest

    def _newly_valid(self, partial: TaskSpec, nodes: list[Any], done: int) -> list[NodeSpec]:
        """The nodes after the first `done` when `nodes` form a valid plan so far; none while they do not."""
        try:
            return self._validate(partial, nodes).graph[done:]
        except _Rejected:
            return []

    def _rest_of_streamed(self, spec: TaskSpec, raw: str, yielded: list[NodeSpec]) -> list[NodeSpec]:
        """The whole streamed reply, validated: the nodes not yet yielded, or `PlanError` naming the problems."""
        started = ", ".join(f"`{n.id}`" for n in yielded)
        try:
            final = self._check_plan(spec, extract_nodes(raw))
        except _Rejected as exc:
            problems = "\n".join(f"  - {p}" for p in exc.problems)
            raise PlanError(f"the host ({self.backend}) streamed a plan that is not valid as a whole, after its "
                            f"first nodes ({started}) were handed to the runtime:\n{problems}\n"
                            f"the host returned: {_clip(raw, _CLIP) or '(nothing)'}") from None
        if final[:len(yielded)] != yielded:
            raise PlanError(f"the host ({self.backend}) streamed a plan whose whole reply differs from the nodes "
                            f"handed to the runtime ({started}): {_clip(raw, _CLIP)}")
        return final[len(yielded):]

    async def _ask_stream(self, messages: list[dict[str, Any]]) -> AsyncIterator[str]:
        """The reply's text deltas under the plan's JSON Schema; `_Unstreamable` if the server rejects that."""
        from host_model import HostModelError, UnsupportedFeatureError

        host = cast("StreamingHostModel", self.host)
        started = False
        try:
            async with contextlib.aclosing(host.chat_stream(messages, json_schema=self._schema(),
                                                            schema_name="task_graph",
                                                            text_guard=self._guard())) as deltas:
                async for delta in deltas:
                    started = True
                    yield delta
        except UnsupportedFeatureError as exc:
            if started:
                raise HostError(f"host {self.backend}: {exc}") from exc
            log.info("host %s: %s; falling back to %s", self.backend, exc, MODES[1])
            self.mode = MODES[1]
            raise _Unstreamable() from exc
        except HostModelError as exc:
            raise HostError(f"host {self.backend}: {exc}") from exc

    # asking --------------------------------------------------------------------------------------
    async def _negotiate(self, messages: list[dict[str, Any]], what: str,
                         check: Callable[[list[Any]], list[NodeSpec]],
                         first_reply: tuple[str, str | None] | None = None) -> list[NodeSpec]:
        """`first_reply`: the first try's reply when it was already read (a streamed plan)."""
        tries: list[tuple[str, list[str]]] = []
        first = messages
        for attempt in range(TRIES):
            if attempt == 0 and first_reply is not None:
                raw, finish = first_reply
            elif attempt and self.prompt == "compact":  # same question, sampled instead of greedy
                raw, finish = await self._ask(first, temperature=RETRY_TEMPERATURE)
            else:
                raw, finish = await self._ask(messages)
            try:
                return check(extract_nodes(raw, finish))
            except _Rejected as exc:
                tries.append((raw, exc.problems))
                log.info("host %s: %s rejected: %s", self.backend, what, exc)
            messages = [*messages, {"role": "assistant", "content": raw or "(empty reply)"},
                        {"role": "user", "content": "Your reply cannot be used:\n"
                         + "\n".join(f"- {p}" for p in tries[-1][1])
                         + '\nReply again with the whole corrected JSON object {"nodes": [...]}.'}]
        report = [f"the host ({self.backend}) did not produce a valid {what} in {TRIES} tries"]
        for i, (raw, problems) in enumerate(tries, 1):
            report.append(f"try {i}: the host returned: {_clip(raw, _CLIP) or '(nothing)'}")
            report += [f"  - {p}" for p in problems]
        raise PlanError("\n".join(report))

    def _begin(self, spec: TaskSpec) -> None:
        """Remember what the schema and the guard depend on: the task's input names and its goal."""
        self._inputs = dict(spec.inputs)
        self._goal = request_line(spec.goal or spec.name or "")

    def _schema(self, decisions: bool = True) -> dict[str, Any]:
        # a compact-prompt planner copies its values from the request: none is longer, and the limit ends a
        # string that runs away (the plan then still parses instead of being cut off at max_tokens)
        max_text = max(MIN_TEXT_LIMIT, len(self._goal)) if self.prompt == "compact" else None
        inputs = list(self._inputs) if self._inputs is not None else None
        return plan_schema(self.registry, decisions=decisions, inputs=inputs, max_text=max_text)

    def _guard(self) -> PlanGuard:
        """A fresh check of the plan's references and ids, for a host that decodes here (with the copy rule
        when a compact-prompt host's planner card asks for it)."""
        card: PlannerCard | None = getattr(self.host, "planner_card", None) if self.prompt == "compact" else None
        return PlanGuard.for_planner(self.registry, self._inputs or {}, self._goal, card)

    async def _ask(self, messages: list[dict[str, Any]],
                   temperature: float | None = None) -> tuple[str, str | None]:
        """The reply's JSON text, by the first mode this server supports (then remembered)."""
        from host_model import HostModelError, UnsupportedFeatureError

        schema = self._schema()
        while True:
            try:
                if self.mode == "json_schema":
                    reply = await self.host.chat(messages, json_schema=schema, schema_name="task_graph",
                                                 temperature=temperature, text_guard=self._guard())
                    return reply.text, reply.finish_reason
                if self.mode == "tools":  # function parameters must be an object: plans only
                    tool = {"type": "function", "function": {
                        "name": TOOL_NAME, "description": "Submit the task graph.",
                        "parameters": self._schema(decisions=False)}}
                    reply = await self.host.chat(messages, tools=[tool], tool_choice=TOOL_NAME,
                                                 temperature=temperature)
                    call = next((c for c in reply.tool_calls if c.name == TOOL_NAME), None)
                    return (call.arguments if call else reply.text), reply.finish_reason
                prompted = [*messages]
                if self.prompt == "full":
                    prompted[0] = {**messages[0], "content": messages[0]["content"]
                                   + "\n\nThe JSON object must match this JSON Schema:\n" + json.dumps(schema)}
                reply = await self.host.chat(prompted, temperature=temperature)
                return reply.text, reply.finish_reason
            except UnsupportedFeatureError as exc:
                if self.mode == "prompt":
                    raise HostError(f"host {self.backend}: {exc}") from exc
                nxt = MODES[MODES.index(self.mode) + 1]
                log.info("host %s: %s; falling back to %s", self.backend, exc, nxt)
                self.mode = nxt
            except HostModelError as exc:
                raise HostError(f"host {self.backend}: {exc}") from exc

    # checking ------------------------------------------------------------------------------------
    def _check_plan(self, spec: TaskSpec, nodes: list[Any]) -> list[NodeSpec]:
        return self._validate(spec, nodes).graph

    def _check_fragment(self, spec: TaskSpec, graph: TaskGraph, node_id: str, nodes: list[Any]) -> list[NodeSpec]:
        others = {n.id for n in graph.specs() if n.id != node_id}
        # a host that repeats nodes it was not asked to change: keep the graph's own version of those
        nodes = [n for n in nodes if not (isinstance(n, dict) and n.get("id") in others)]
        ids = [n.get("id") for n in nodes if isinstance(n, dict)]
        problems = []
        if node_id not in ids:
            problems.append(f"no node keeps the id `{node_id}`: exactly one node of the fragment must have it")
        merged: list[Any] = []
        for n in graph.specs():
            if n.id == node_id:
                merged += nodes
            else:
                merged.append(n.model_dump(mode="json", exclude_defaults=True))
        try:
            checked = self._validate(spec, merged)
        except _Rejected as exc:
            raise _Rejected(problems + exc.problems) from None
        if problems:
            raise _Rejected(problems)
        return [checked.node(i) for i in ids]

    def _validate(self, spec: TaskSpec, nodes: list[Any]) -> TaskSpec:
        """The task as written, with `graph` = these nodes, through the task-file validator."""
        data = spec.model_dump(mode="json", exclude_unset=True)
        data["graph"] = nodes
        try:
            return parse_task(data, self.registry, base_dir=spec.base_dir, file=spec.file)
        except TaskFileError as exc:
            raise _Rejected([_problem_line(p, nodes) for p in exc.problems]) from None


# --------------------------------------------------------------------------------------------------
# reading replies


_FENCE = re.compile(r"```[A-Za-z]*[ \t]*\n?(.*?)```", re.S)


def extract_nodes(raw: str, finish_reason: str | None = None) -> list[Any]:
    """The node list from a reply: bare JSON, a ```json fence, or the first JSON object in prose.

    A reasoning model's `<think>...</think>` is skipped; `{"nodes": [...]}`, `{"graph": [...]}`
    and a bare list of nodes are all accepted.
    """
    text = raw.rsplit("</think>", 1)[-1].strip()
    if not text:
        hint = " (finish_reason=length: the model ran out of tokens; raise host.max_tokens)" \
            if finish_reason == "length" else ""
        raise _Rejected([f'the reply was empty{hint}; send the JSON object {{"nodes": [...]}}'])
    error = ""
    for candidate in [text, *(m.group(1) for m in _FENCE.finditer(text))]:
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError as exc:
            error = error or f"{exc.msg} at line {exc.lineno} column {exc.colno}"
            continue
        _raise_if_declined(value)
        if (nodes := _nodes_of(value)) is not None:
            return nodes
        error = "the JSON has no `nodes` list"
    decoder = json.JSONDecoder()
    starts = [i for i, ch in enumerate(text) if ch == "{"][:200]
    for i in starts:
        try:
            value, _ = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            continue
        _raise_if_declined(value)
        if (nodes := _nodes_of(value)) is not None:
            return nodes
    hint = " (finish_reason=length: the reply was cut off; raise host.max_tokens)" if finish_reason == "length" else ""
    raise _Rejected([f'the reply is not a JSON object {{"nodes": [...]}}: {error or "no JSON found"}{hint}'])


def _raise_if_declined(value: Any) -> None:
    """A `{"refuse": ...}` or `{"clarify": ...}` answer ends planning with the host's own words."""
    if isinstance(value, dict) and "nodes" not in value:
        for kind in DECISIONS:
            if isinstance(value.get(kind), str) and value[kind].strip():
                raise PlanDeclinedError(kind, value[kind].strip())


def _nodes_of(value: Any) -> list[Any] | None:
    if isinstance(value, dict):
        for key in ("nodes", "graph"):
            inner = value.get(key)
            if isinstance(inner, str):  # a tool-call parser that left an array argument as JSON text
                try:
                    inner = json.loads(inner)
                except json.JSONDecodeError:
                    continue
            if isinstance(inner, list):
                return inner
        return None
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return value
    return None


def _problem_line(p: Problem, nodes: list[Any]) -> str:
    """A validation problem in the host's terms: `graph[3]` becomes the node's id."""
    path = p.path
    if m := re.match(r"graph\[(\d+)\]", path):
        k = int(m.group(1))
        node_id = nodes[k].get("id") if k < len(nodes) and isinstance(nodes[k], dict) else None
        path = (f"node `{node_id}`" if isinstance(node_id, str) else f"nodes[{k}]") + path[m.end():]
    elif path == "graph":
        path = "nodes"
    text = f"{path}: {p.message}" if path else p.message
    return f"{text} ({p.hint})" if p.hint else text


def _fields_read_from(node_id: str, graph: TaskGraph, spec: TaskSpec) -> list[str]:
    """Output fields of `node_id` that other nodes or the final checks reference."""
    bodies = [b for n in graph.specs() if n.id != node_id for _, b in iter_references(n.inputs)]
    bodies += [b for c in spec.checks for _, b in iter_references(c.agree)]
    fields = set()
    for body in bodies:
        try:
            ref = parse_reference(body)
        except ValueError:
            continue
        if ref.source == node_id and ref.field:
            fields.add(ref.field)
    return sorted(fields)


def _clip(text: str, n: int) -> str:
    text = text.strip()
    return text if len(text) <= n else text[:n] + f"... ({len(text)} chars)"
