"""The expert SDK's contracts, with small real experts: cards, both expert forms, the context, the
registry, and the `agentos.testing` helpers an author uses."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

import agentos
from agentos import AgentOSError, Expert, ExpertContext, ExpertError, Registry, expert, operation
from agentos.errors import CapabilityNotFoundError, ExpertNotFoundError
from agentos.events import ArtifactWritten, NodeProgress
from agentos.testing import arun_expert, check_card, run_expert, run_task

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------------------------------
# experts used below


class GreetIn(BaseModel):
    name: str = Field(description="who to greet")
    excited: bool = False


class GreetOut(BaseModel):
    text: str


class Greeter(Expert):
    """Greets people."""

    name = "greeter"
    domain = "demo"

    @operation("demo.greet", cost=0.5, latency_s=0.01)
    def greet(self, inputs: GreetIn, ctx: ExpertContext) -> GreetOut:
        """Say hello to someone."""
        return GreetOut(text=f"Hello, {inputs.name}{'!!' if inputs.excited else '!'}")

    @operation
    async def farewell(self, inputs: GreetIn) -> GreetOut:
        """Say goodbye (no ctx: an operation may leave it out)."""
        return GreetOut(text=f"Goodbye, {inputs.name}.")


@expert(domain="demo", capability="demo.shout", cost=0.1)
async def shout(inputs: GreetIn, ctx: ExpertContext) -> GreetOut:
    """Greets loudly."""
    await asyncio.sleep(0)
    return GreetOut(text=f"HELLO, {inputs.name.upper()}!")


@expert("whisperer", domain="demo")
def whisper(inputs: GreetIn) -> GreetOut:
    """Greets quietly, synchronously."""
    return GreetOut(text=f"hello, {inputs.name.lower()}")


class NapIn(BaseModel):
    seconds: float


class Span(BaseModel):
    start: float
    end: float
    thread: str


@expert("napper", domain="sdk", capability="sdk.nap")
def nap(inputs: NapIn) -> Span:
    """Blocks its thread (time.sleep) like CPU-bound or blocking-IO code would."""
    start = time.monotonic()
    time.sleep(inputs.seconds)
    return Span(start=start, end=time.monotonic(), thread=threading.current_thread().name)


class TickIn(BaseModel):
    ticks: int
    every: float


class Ticks(BaseModel):
    times: list[float]


@expert("ticker", domain="sdk", capability="sdk.tick")
async def tick(inputs: TickIn) -> Ticks:
    """Records the time at each step of the event loop it gets."""
    times = []
    for _ in range(inputs.ticks):
        times.append(time.monotonic())
        await asyncio.sleep(inputs.every)
    return Ticks(times=times)


class WriteIn(BaseModel):
    text: str


class WriteOut(BaseModel):
    path: Path
    done: bool


@expert("writer", domain="sdk", capability="sdk.write", cost=1.0)
def write(inputs: WriteIn, ctx: ExpertContext) -> WriteOut:
    """Writes two artifacts and reports progress on the way."""
    ctx.progress(0.0, "starting")
    path = ctx.artifacts.write_text("notes/out.txt", inputs.text)
    ctx.progress(0.5, "half way")
    ctx.artifacts.write_bytes("data.json", b'{"ok": true}')
    ctx.progress(None, "wrapping up")
    ctx.cost = 2.5  # what this call really cost
    return WriteOut(path=path, done=True)


CANCEL_SEEN = threading.Event()


@expert("stubborn", domain="sdk", capability="sdk.wait")
def wait_until_cancelled(inputs: NapIn, ctx: ExpertContext) -> Span:
    """Blocking code that polls `ctx.cancelled`, as the docs ask."""
    start = time.monotonic()
    while not ctx.cancelled and time.monotonic() - start < inputs.seconds:
        time.sleep(0.01)
    if ctx.cancelled:
        CANCEL_SEEN.set()
    return Span(start=start, end=time.monotonic(), thread=threading.current_thread().name)


# --------------------------------------------------------------------------------------------------
# cards


def test_class_expert_with_two_operations_has_both_capabilities_and_schemas() -> None:
    card = Greeter().card
    assert (card.name, card.domain, card.description) == ("greeter", "demo", "Greets people.")
    ops = {op.capability: op for op in card.operations}
    assert set(ops) == {"demo.greet", "demo.farewell"}  # `farewell` got `<domain>.<method>`
    described = card.describe()["operations"]
    greet = next(op for op in described if op["capability"] == "demo.greet")
    assert greet["input_schema"]["properties"]["name"]["description"] == "who to greet"
    assert greet["output_schema"]["required"] == ["text"]
    assert (greet["cost"], greet["latency_s"], greet["description"]) == (0.5, 0.01, "Say hello to someone.")
    assert ops["demo.farewell"].description.startswith("Say goodbye")


def test_expert_decorator_on_an_async_function_makes_a_one_operation_expert() -> None:
    assert isinstance(shout, Expert)
    card = check_card(shout)
    assert (card.name, card.description) == ("shout", "Greets loudly.")
    assert [(op.capability, op.cost) for op in card.operations] == [("demo.shout", 0.1)]
    assert run_expert(shout, "demo.shout", {"name": "Ada"}).text == "HELLO, ADA!"


def test_expert_decorator_on_a_sync_function_runs_and_stays_a_plain_function() -> None:
    assert whisper.card.name == "whisperer"
    assert whisper.card.operations[0].capability == "demo.whisper"  # `<domain>.<function name>`
    assert run_expert(whisper, "demo.whisper", {"name": "ADA"}).text == "hello, ada"
    assert whisper(GreetIn(name="Bo")).text == "hello, bo"  # still callable directly


def test_an_operation_may_leave_out_ctx() -> None:
    assert run_expert(Greeter(), "demo.farewell", {"name": "Ada"}).text == "Goodbye, Ada."


def test_a_missing_input_annotation_is_a_clear_error() -> None:
    with pytest.raises(AgentOSError, match=r"annotate the input parameter `inputs` with a pydantic model"):
        @expert(domain="demo")
        def untyped(inputs, ctx: ExpertContext) -> GreetOut:  # type: ignore[no-untyped-def]
            return GreetOut(text="")


def test_a_return_type_that_is_not_a_model_is_a_clear_error() -> None:
    with pytest.raises(AgentOSError, match=r"the return type must be a pydantic model, got <class 'str'>"):
        @expert(domain="demo")
        def returns_str(inputs: GreetIn) -> str:
            return inputs.name


def test_models_the_annotations_cannot_reach_are_a_clear_error() -> None:
    class LocalIn(BaseModel):  # string annotations (future import) cannot see function locals
        x: int

    with pytest.raises(AgentOSError, match=r"define the input and output models at module level"):
        @expert(domain="demo")
        def local(inputs: LocalIn) -> GreetOut:
            return GreetOut(text=str(inputs.x))


def test_a_class_expert_needs_a_name_and_an_operation() -> None:
    class Nameless(Expert):
        domain = "demo"

    class Idle(Expert):
        name = "idle"
        domain = "demo"

    with pytest.raises(AgentOSError, match="needs class attributes `name` and `domain`"):
        _ = Nameless().card
    with pytest.raises(AgentOSError, match="no `@operation` methods"):
        _ = Idle().card


def test_two_operations_of_one_expert_may_not_share_a_capability() -> None:
    class Twice(Expert):
        name = "twice"
        domain = "demo"

        @operation("demo.greet")
        def one(self, inputs: GreetIn) -> GreetOut:
            return GreetOut(text="1")

        @operation("demo.greet")
        def two(self, inputs: GreetIn) -> GreetOut:
            return GreetOut(text="2")

    with pytest.raises(AgentOSError, match=r"two operations offer 'demo\.greet'"):
        _ = Twice().card


# --------------------------------------------------------------------------------------------------
# the context, inside real runs


def test_sync_experts_run_in_threads_while_the_event_loop_keeps_going(tmp_path: Path) -> None:
    task = {"graph": [
        {"id": "nap_a", "capability": "sdk.nap", "inputs": {"seconds": 0.3}},
        {"id": "nap_b", "capability": "sdk.nap", "inputs": {"seconds": 0.3}},
        {"id": "ticks", "capability": "sdk.tick", "inputs": {"ticks": 30, "every": 0.02}},
    ]}
    result = run_task(task, experts=[nap, tick], tmp_path=tmp_path)
    a, b = (Span(**result.output(n)) for n in ("nap_a", "nap_b"))
    assert a.thread != "MainThread" and b.thread != "MainThread"
    assert a.start < b.end and b.start < a.end  # the two blocking naps overlapped
    both_asleep = [t for t in result.output("ticks")["times"] if max(a.start, b.start) < t < min(a.end, b.end)]
    assert both_asleep, "the async node made no progress while both sync experts were blocked"


def test_artifacts_land_under_the_node_folder_and_in_the_node_result(tmp_path: Path) -> None:
    events: list[Any] = []
    task = {"graph": [{"id": "w", "capability": "sdk.write", "inputs": {"text": "hello"}}]}
    result = run_task(task, experts=[write], tmp_path=tmp_path, on_event=events.append)
    run_dir = Path(result.run_dir)
    assert (run_dir / "artifacts" / "w" / "notes" / "out.txt").read_text() == "hello"
    assert result.nodes["w"].artifacts == ["artifacts/w/data.json", "artifacts/w/notes/out.txt"]
    assert result.output("w")["path"] == str(run_dir / "artifacts" / "w" / "notes" / "out.txt")
    written = [e for e in events if isinstance(e, ArtifactWritten)]
    assert [(e.node_id, e.path, e.bytes) for e in written] == [
        ("w", "artifacts/w/notes/out.txt", 5), ("w", "artifacts/w/data.json", 12)]


def test_progress_reports_become_node_progress_events(tmp_path: Path) -> None:
    events: list[Any] = []
    task = {"graph": [{"id": "w", "capability": "sdk.write", "inputs": {"text": "x"}}]}
    run_task(task, experts=[write], tmp_path=tmp_path, on_event=events.append)
    progress = [(e.node_id, e.fraction, e.message) for e in events if isinstance(e, NodeProgress)]
    assert progress == [("w", 0.0, "starting"), ("w", 0.5, "half way"), ("w", None, "wrapping up")]


def test_cost_set_on_the_context_replaces_the_card_hint(tmp_path: Path) -> None:
    task = {"graph": [{"id": "w", "capability": "sdk.write", "inputs": {"text": "x"}},
                      {"id": "hi", "capability": "demo.greet", "inputs": {"name": "Ada"}}]}
    result = run_task(task, experts=[write, Greeter()], tmp_path=tmp_path)
    assert result.nodes["w"].cost == 2.5  # ctx.cost, not the card's 1.0
    assert result.nodes["hi"].cost == 0.5  # the card's hint
    assert result.cost == 3.0


def test_a_timed_out_blocking_expert_sees_ctx_cancelled(tmp_path: Path) -> None:
    CANCEL_SEEN.clear()
    task = {"graph": [{"id": "slow", "capability": "sdk.wait", "inputs": {"seconds": 30},
                       "timeout_s": 0.1, "retries": 0}]}
    result = run_task(task, experts=[wait_until_cancelled], tmp_path=tmp_path, expect_success=False)
    assert result.nodes["slow"].status == "failed"
    assert "timed out after 0.1s" in (result.nodes["slow"].error or "")
    assert CANCEL_SEEN.wait(10), "the expert's thread never saw ctx.cancelled"


@expert("chatty", domain="sdk", capability="sdk.chat")
def chatty(inputs: WriteIn, ctx: ExpertContext) -> WriteOut:
    """Logs what it does."""
    ctx.log.info("saying %s", inputs.text)
    return WriteOut(path=ctx.artifacts.write_text("said.txt", inputs.text), done=True)


def test_ctx_log_names_the_expert_and_tags_records_with_the_node(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="agentos.expert"):
        run_expert(chatty, "sdk.chat", {"text": "hi"}, node_id="n7")
    [record] = [r for r in caplog.records if r.name.startswith("agentos.expert")]
    assert (record.name, record.getMessage(), record.node_id) == ("agentos.expert.chatty", "saying hi", "n7")


def test_artifact_names_may_not_escape_the_node_folder(tmp_path: Path) -> None:
    ctx = ExpertContext(run_id="r", node_id="n", run_dir=tmp_path)
    with pytest.raises(ExpertError, match="escapes the node's artifact folder"):
        ctx.artifacts.write_text("../other/x.txt", "no")
    assert not (tmp_path / "artifacts" / "other").exists()


# --------------------------------------------------------------------------------------------------
# the registry


class OtherGreeter(Expert):
    name = "greeter"  # clashes with Greeter
    domain = "demo"

    @operation("demo.greet")
    def greet(self, inputs: GreetIn) -> GreetOut:
        return GreetOut(text="hi")


def test_registry_rejects_two_experts_with_one_name() -> None:
    with pytest.raises(AgentOSError, match="two experts are named 'greeter'"):
        Registry([Greeter, OtherGreeter])


def test_registry_lists_every_capability_and_who_offers_it() -> None:
    reg = Registry([Greeter(), shout, whisper])
    assert reg.capabilities() == {"demo.farewell": ["greeter"], "demo.greet": ["greeter"],
                                  "demo.shout": ["shout"], "demo.whisper": ["whisperer"]}
    assert [c["name"] for c in reg.catalogue()] == ["greeter", "shout", "whisperer"]


def test_unknown_capability_error_suggests_the_near_miss() -> None:
    reg = Registry([Greeter(), shout])
    with pytest.raises(CapabilityNotFoundError, match=r"'demo\.gret' \(did you mean `demo\.greet`\?\)"):
        reg.candidates("demo.gret")
    with pytest.raises(ExpertNotFoundError, match=r"did you mean `greeter`\?"):
        reg.get("greter")


@pytest.fixture
def forget_modules() -> Iterator[list[str]]:
    """Module names a test imports from tmp_path; removed from sys.modules afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        sys.modules.pop(name, None)


ENV_MODULE = '''
from pydantic import BaseModel
from agentos import Expert, expert, operation

class In(BaseModel):
    word: str

class Out(BaseModel):
    word: str

class Echo(Expert):
    """Says the word back."""
    name = "env-echo"
    domain = "env"

    @operation("env.echo")
    def echo(self, inputs: In) -> Out:
        return Out(word=inputs.word)

@expert("env-upper", domain="env", capability="env.upper")
def upper(inputs: In) -> Out:
    """Upper-cases the word."""
    return Out(word=inputs.word.upper())

EXPERTS = [Echo]

def make_experts():
    return [upper]
'''


def test_expert_modules_env_loads_unpackaged_experts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     forget_modules: list[str]) -> None:
    (tmp_path / "sdk_env_experts.py").write_text(ENV_MODULE)
    forget_modules.append("sdk_env_experts")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("AGENTOS_EXPERT_MODULES", "sdk_env_experts, sdk_env_experts:make_experts")
    reg = Registry.discover()
    assert "env-echo" in reg and "env-upper" in reg  # `EXPERTS` by default; a factory by name
    assert reg.failures == []
    assert "text.summarize" in reg.capabilities()  # installed experts are still there


def test_a_broken_expert_module_is_recorded_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      forget_modules: list[str]) -> None:
    (tmp_path / "sdk_env_ok.py").write_text(ENV_MODULE)
    (tmp_path / "sdk_env_broken.py").write_text("raise RuntimeError('plugin bug at import')\n")
    forget_modules += ["sdk_env_ok", "sdk_env_broken"]
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("AGENTOS_EXPERT_MODULES", "sdk_env_broken,sdk_env_ok:NOPE,sdk_env_ok")
    reg = Registry.discover()
    assert "env-echo" in reg
    errors = {f.source: f.error for f in reg.failures}
    assert errors == {
        "AGENTOS_EXPERT_MODULES sdk_env_broken": "RuntimeError: plugin bug at import",
        "AGENTOS_EXPERT_MODULES sdk_env_ok:NOPE": "AttributeError: module 'sdk_env_ok' has no attribute 'NOPE'",
    }


def test_entry_points_load_installed_experts_and_record_broken_ones(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    forget_modules: list[str]) -> None:
    """A distribution's metadata on sys.path is what `pip install` leaves; importlib.metadata reads it."""
    (tmp_path / "sdk_ep_plugin.py").write_text(ENV_MODULE)
    dist = tmp_path / "sdk_ep_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sdk-ep-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[agentos.experts]\ngood = sdk_ep_plugin:EXPERTS\nbroken = sdk_ep_missing_module:EXPERTS\n"
        "wrong = sdk_ep_plugin:In\n")
    forget_modules.append("sdk_ep_plugin")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = Registry.discover()
    assert "env-echo" in reg
    errors = {f.source: f.error for f in reg.failures}
    assert errors["entry point broken = sdk_ep_missing_module:EXPERTS"].startswith("ModuleNotFoundError")
    assert "expected an Expert, an Expert class or a list of them" in errors["entry point wrong = sdk_ep_plugin:In"]


# --------------------------------------------------------------------------------------------------
# agentos.testing


class EmptyOut(Expert):
    """Returns an empty greeting."""

    name = "empty-greeter"
    domain = "demo"

    @operation("demo.greet")
    def greet(self, inputs: GreetIn) -> GreetOut:
        """Forgets to say anything."""
        return GreetOut(text="  ")


class EmptyFile(Expert):
    """Writes an empty artifact."""

    name = "empty-file"
    domain = "demo"

    @operation("demo.write")
    def write(self, inputs: WriteIn, ctx: ExpertContext) -> WriteOut:
        """Writes nothing into a file."""
        return WriteOut(path=ctx.artifacts.write_text("out.txt", ""), done=True)


class WrongShape(Expert):
    """Returns a dict without the required field."""

    name = "wrong-shape"
    domain = "demo"

    @operation("demo.greet")
    def greet(self, inputs: GreetIn) -> GreetOut:
        """Returns the wrong thing."""
        return {"txt": "hi"}  # type: ignore[return-value]


class Unexplained(Expert):
    name = "unexplained"
    domain = "demo"

    @operation("greet")
    def greet(self, inputs: GreetIn) -> GreetOut:
        return GreetOut(text="hi")


class Opaque(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    lock: Any = None
    handle: threading.Event


class OpaqueExpert(Expert):
    """Takes something no JSON schema can describe."""

    name = "opaque"
    domain = "demo"

    @operation("demo.opaque")
    def use(self, inputs: Opaque) -> GreetOut:
        """Uses an event."""
        return GreetOut(text="ok")


def test_run_expert_validates_inputs_with_the_operation_model() -> None:
    with pytest.raises(AssertionError, match=r"inputs do not fit `demo.greet` of greeter:(.|\n)*name"):
        run_expert(Greeter(), "demo.greet", {"nam": "Ada"})
    with pytest.raises(AssertionError, match=r"has no operation 'demo.hello' \(it offers: "):
        run_expert(Greeter(), "demo.hello", {"name": "Ada"})


def test_run_expert_accepts_a_model_and_returns_the_checked_output() -> None:
    out = run_expert(Greeter(), "demo.greet", GreetIn(name="Ada", excited=True))
    assert isinstance(out, GreetOut) and out.text == "Hello, Ada!!"


def test_run_expert_names_the_failing_check_for_empty_text() -> None:
    with pytest.raises(AssertionError, match=r"failed 1 check\(s\):\n  non_empty_text: empty: text"):
        run_expert(EmptyOut(), "demo.greet", {"name": "Ada"})


def test_run_expert_names_the_failing_check_for_an_empty_file(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match=r"files_exist: out.txt: empty"):
        run_expert(EmptyFile(), "demo.write", {"text": "x"}, run_dir=tmp_path)


def test_run_expert_names_the_failing_check_for_the_wrong_output_shape() -> None:
    with pytest.raises(AssertionError, match=r"schema: text: Field required"):
        run_expert(WrongShape(), "demo.greet", {"name": "Ada"})


def test_arun_expert_works_inside_an_event_loop_and_run_expert_says_to_use_it(tmp_path: Path) -> None:
    async def main() -> tuple[str, str]:
        out = await arun_expert(write, "sdk.write", {"text": "async"}, run_dir=tmp_path, node_id="n1")
        with pytest.raises(RuntimeError, match=r"use `await arun_expert\(\.\.\.\)`"):
            run_expert(shout, "demo.shout", {"name": "x"})
        return out.path.read_text(), str(out.path.relative_to(tmp_path))

    assert asyncio.run(main()) == ("async", "artifacts/n1/notes/out.txt")


def test_check_card_lists_everything_missing() -> None:
    with pytest.raises(AssertionError) as caught:
        check_card(Unexplained())
    message = str(caught.value)
    assert "card.description is empty" in message
    assert "operation greet (greet): capability should read `domain.verb`" in message
    assert "operation greet (greet): no description" in message


def test_check_card_catches_models_without_a_json_schema() -> None:
    with pytest.raises(AssertionError, match=r"the input model Opaque has no JSON schema"):
        check_card(OpaqueExpert())


def test_check_card_reports_a_card_that_cannot_be_built() -> None:
    class NoOps(Expert):
        name = "no-ops"
        domain = "demo"

    with pytest.raises(AssertionError, match=r"the card cannot be built: .*no `@operation` methods"):
        check_card(NoOps())


def test_run_task_fails_loudly_naming_the_failed_node(tmp_path: Path) -> None:
    task = {"graph": [{"id": "hi", "capability": "demo.greet", "inputs": {"name": "Ada"}, "retries": 0},
                      {"id": "after", "capability": "demo.shout", "inputs": {"name": "${hi.text}"}}]}
    with pytest.raises(AssertionError) as caught:
        run_task(task, experts=[EmptyOut(), shout], tmp_path=tmp_path)
    message = str(caught.value)
    assert "node hi: failed: check failed: non_empty_text: empty: text" in message
    assert "node after: skipped: upstream node `hi` failed" in message


def test_run_task_reads_a_task_file(tmp_path: Path) -> None:
    (tmp_path / "task.yaml").write_text(
        "graph:\n  - {id: hi, capability: demo.greet, inputs: {name: Ada}}\n"
        "  - {id: loud, capability: demo.shout, inputs: {name: '${hi.text}'}}\n")
    result = run_task(tmp_path / "task.yaml", experts=[Greeter(), shout], tmp_path=tmp_path / "runs")
    assert result.output("loud")["text"] == "HELLO, HELLO, ADA!!"
    assert Path(result.run_dir).parent == (tmp_path / "runs").resolve()


# --------------------------------------------------------------------------------------------------
# docs/sdk.md: its examples run as written


def _doc_blocks() -> dict[str, str]:
    """Code blocks of docs/sdk.md that follow a `<!-- test: NAME -->` marker."""
    text = (REPO / "docs" / "sdk.md").read_text()
    return {m[1]: m[2] for m in re.finditer(r"<!-- test: (\S+) -->\n```(?:python|toml)\n(.*?)```", text, re.S)}


def test_docs_quick_example_runs_as_a_script(tmp_path: Path) -> None:
    (tmp_path / "example.py").write_text(_doc_blocks()["quick-example"])
    done = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Hello, Ada!"


def test_docs_class_expert_and_its_tests_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             forget_modules: list[str]) -> None:
    blocks = _doc_blocks()
    package = tmp_path / "src" / "my_experts"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "greeter.py").write_text(blocks["class-expert"])
    (tmp_path / "src" / "doc_author_tests.py").write_text(blocks["author-tests"])
    forget_modules += ["my_experts", "my_experts.greeter", "doc_author_tests"]
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    tests = importlib.import_module("doc_author_tests")
    ran = []
    for name, fn in vars(tests).items():
        if name.startswith("test_"):
            params = inspect.signature(fn).parameters
            fn(**({"tmp_path": tmp_path / name} if "tmp_path" in params else {}))
            ran.append(name)
    assert ran == ["test_card_is_complete", "test_greets_in_french", "test_greet_then_count"]


def test_docs_entry_point_snippet_names_the_group_the_registry_reads() -> None:
    from agentos.registry import ENTRY_POINT_GROUP

    assert f'[project.entry-points."{ENTRY_POINT_GROUP}"]' in _doc_blocks()["entry-point"]


def test_agentos_run_is_the_public_python_api(tmp_path: Path) -> None:
    result = agentos.run({"graph": [{"id": "hi", "expert": "whisperer", "inputs": {"name": "Ada"}}]},
                         output=tmp_path, registry=Registry([whisper]))
    assert result.ok and result.output("hi") == {"text": "hello, ada"}
    assert (Path(result.run_dir) / "result.json").exists()
