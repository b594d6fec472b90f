"""The showcase page in a real Chromium (Playwright) against a running server: the tabs, a sample run from each
tab followed live to its result and checks, a bad uploaded task file, cancel, the router charts, and the
workers on a broker.

Screenshots of each tab and each finished run are written to runs/ui-screenshots/ (the repository's
ignored runs folder), so a reader can look at the page these tests saw.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bus_workers import stop, worker
from mosquitto_broker import Mosquitto
from support_experts import EXPERTS

from agentos import Registry
from experts.gui.browser import find_chromium
from host_model.testing import serve_in_thread
from ui import UiSettings, create_app

SHOTS = Path(__file__).resolve().parents[1] / "runs" / "ui-screenshots"
TABS = {"image": "Image", "voice": "Voice", "gui": "GUI", "research": "Deep research"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("ui")
    state = tmp / "router" / "state.npz"
    mp = pytest.MonkeyPatch()
    mp.setenv("AGENTOS_ROUTER_STATE", str(state))  # the runs' router learns here, the charts read it
    registry = Registry([*Registry.discover(), *EXPERTS])
    with serve_in_thread(create_app(UiSettings(runs_root=tmp / "runs", router_state=state), registry)) as url:
        yield url.removesuffix("/v1")
    mp.undo()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=find_chromium(), headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, site: str) -> Iterator[Any]:
    p = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    p.goto(site + "/")
    yield p
    p.close()
    assert not errors, errors  # no script error on the page


def finish(page: Any, timeout_s: float = 180) -> str:
    """Wait until the run's status is final; return it."""
    page.wait_for_function("['succeeded','failed','cancelled','timed_out','not started'].includes("
                           "document.getElementById('run-status').textContent)", timeout=timeout_s * 1000)
    return page.locator("#run-status").inner_text()


def test_every_tab_shows_its_three_samples(page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for tab, label in TABS.items():
        page.get_by_role("tab", name=label).click()
        cards = page.locator("#samples article")
        cards.first.wait_for()
        assert [c.get_attribute("aria-label") for c in cards.all()] == [f"{tab}-{k}" for k in "abc"]
        assert page.get_by_role("tab", name=label).get_attribute("aria-selected") == "true"
        page.screenshot(path=str(SHOTS / f"tab-{tab}.png"), full_page=True)


@pytest.mark.slow
@pytest.mark.parametrize(("tab", "sample", "node"), [("image", "image-c", "infographic"), ("voice", "voice-b", "run"),
                                                      ("gui", "gui-a", "report"),
                                                      ("research", "research-c", "trace")])
def test_a_sample_runs_in_the_page_with_its_graph_result_and_checks(page, tab, sample, node):
    page.get_by_role("tab", name=TABS[tab]).click()
    page.get_by_role("button", name=f"Run {sample}").click()
    assert finish(page) == "succeeded", page.locator("#run-error").inner_text()
    drawn = page.evaluate("state.cy.nodes().map(n => [n.id(), n.data('state')])")
    assert drawn and all(state == "succeeded" for _, state in drawn), drawn
    assert node in [n for n, _ in drawn]
    result = page.get_by_role("region", name="Result")
    result.get_by_role("region", name=f"Node {node}").wait_for()
    checks = result.locator("li.pass")
    assert checks.count() >= 1 and result.locator("li.fail").count() == 0
    assert page.locator("#log li").count() >= 4
    if sample == "image-c":  # a picture the run drew, served from its artifacts
        img = result.locator("img").first
        assert page.evaluate("i => i.complete && i.naturalWidth > 100", img.element_handle())
    if sample == "voice-b":
        assert "The first ten primes are" in result.inner_text()
    if sample == "research-c":  # the chain: flagged claims, and citations that lead to their passages
        chain = result.get_by_role("region", name="Evidence chain of trace")
        assert chain.get_by_role("list", name="Statements").locator("li", has_text="Flagged").count() >= 2
        link = chain.locator("a.citation").first
        target = link.get_attribute("href").removeprefix("#")
        link.click()
        assert page.locator(f"[id='{target}']").get_attribute("class") == "cited"
    page.screenshot(path=str(SHOTS / f"run-{sample}.png"), full_page=True)


def test_an_edited_sample_with_a_mistake_shows_the_problem_and_its_line(page):
    page.get_by_role("tab", name="Image").click()
    page.get_by_role("button", name="Edit image-c").click()
    editor = page.get_by_label("Task file of image-c")
    editor.fill(editor.input_value().replace("image.infographic", "image.infographix"))
    page.get_by_role("button", name="Run image-c").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "unknown capability `image.infographix`" in alert.inner_text() and "line " in alert.inner_text()


def test_a_bad_uploaded_task_file_shows_the_validation_error(page, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("graph:\n  - id: a\n    capability: test.stepp\n")
    page.get_by_label("Task file", exact=True).set_input_files(str(bad))
    page.get_by_role("button", name="Run task file").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "line 3" in alert.inner_text() and "unknown capability `test.stepp`" in alert.inner_text()
    assert page.locator("#run-status").inner_text() == "not started"


def test_a_running_task_is_cancelled_from_the_page(page, tmp_path):
    slow = tmp_path / "slow.yaml"
    slow.write_text(json.dumps({"graph": [{"id": "slow", "capability": "test.step", "inputs": {"delay": 60}}]}))
    page.get_by_label("Task file", exact=True).set_input_files(str(slow))
    page.get_by_role("button", name="Run task file").click()
    page.wait_for_function("state.cy && state.cy.getElementById('slow').data('state') === 'running'")
    page.get_by_role("button", name="Cancel run").click()
    assert finish(page, 30) == "cancelled"


def test_the_router_charts_draw_what_the_runs_taught_it(page, tmp_path):
    echo = tmp_path / "echo.yaml"
    echo.write_text(json.dumps({"graph": [{"id": f"e{i}", "capability": "test.echo", "inputs": {"text": "hi"}}
                                          for i in range(6)], "budget": {"retry_backoff_s": 0}}))
    for _ in range(2):
        page.get_by_label("Task file", exact=True).set_input_files(str(echo))
        page.get_by_role("button", name="Run task file").click()
        finish(page, 60)
    page.wait_for_function("Number(document.getElementById('weights-chart').dataset.points) >= 12")
    assert page.evaluate("state.charts.weights.data.datasets.map(d => d.label)") == [
        "test.echo: loud-echo", "test.echo: quiet-echo"]
    assert page.evaluate("state.charts.contrib.data.datasets.length") >= 1
    assert "expert(s) learned about" in page.locator("#router-note").inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.get_by_role("region", name="Router").screenshot(path=str(SHOTS / "router.png"))


@pytest.mark.slow
def test_a_key_visual_is_revised_by_a_follow_up_instruction(page):
    page.get_by_role("button", name="Run image-a").click()
    assert finish(page) == "succeeded", page.locator("#run-error").inner_text()
    page.get_by_label("Follow-up instruction").fill("make the headline bigger")
    page.get_by_role("button", name="Send follow-up").click()
    page.wait_for_function("document.getElementById('run-title').textContent.includes('follow-up')")
    assert finish(page) == "succeeded", page.locator("#run-error").inner_text()
    result = page.get_by_role("region", name="Node revise")
    result.wait_for()
    assert "make the headline bigger" in result.get_by_role("table", name="Fields").inner_text()  # the change made
    page.screenshot(path=str(SHOTS / "run-image-a-follow-up.png"), full_page=True)


def test_a_gated_node_shows_its_candidates_side_by_side(page, tmp_path):
    gated = tmp_path / "gated.yaml"
    gated.write_text(json.dumps({"graph": [{"id": "echo", "capability": "test.echo", "inputs": {"text": "hi"}}],
                                 "router": {"name": "adaptive",
                                            "options": {"gate_confidence": 1.0, "gate_resolution": 0.0}}}))
    page.get_by_label("Task file", exact=True).set_input_files(str(gated))
    page.get_by_role("button", name="Run task file").click()
    finish(page, 60)
    node = page.evaluate("({gated: state.cy.getElementById('echo').data('gated'), "
                         "label: state.cy.getElementById('echo').data('label')})")
    assert node["gated"] == "yes", node
    assert "gated, side by side: " in node["label"] and "loud-echo" in node["label"] and "quiet-echo" in node["label"]


@pytest.mark.slow
def test_a_sample_input_is_replaced_by_a_file_from_the_page(page, tmp_path):
    table = tmp_path / "my-spec.csv"
    table.write_text("field,value,unit,max\nBattery life,9,h,24\nWeight,2.5,kg,3\n")
    page.get_by_role("button", name="Edit image-c").click()
    page.get_by_label("Replace spec of image-c").set_input_files(str(table))
    page.get_by_role("button", name="Run image-c").click()
    assert finish(page) == "succeeded", page.locator("#run-error").inner_text()
    shown = page.get_by_role("region", name="Node infographic").text_content()  # the output JSON included
    assert "Weight" in shown and "Storage" not in shown


def test_the_workers_on_the_broker_are_listed_and_a_gone_one_is_marked(browser, tmp_path):
    broker = Mosquitto(tmp_path / "broker").start()
    w1 = worker(broker.url(), "w1", ["stepper"], tmp_path)
    page = None
    try:
        app = create_app(UiSettings(runs_root=tmp_path / "runs", broker=broker.url()), Registry(EXPERTS))
        with serve_in_thread(app) as url:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url.removesuffix("/v1") + "/")
            panel = page.get_by_role("region", name="Workers")
            row = panel.get_by_role("row").filter(has_text="w1")
            row.wait_for(timeout=30_000)  # the worker starts meanwhile; the page asks every 3 s
            assert "live" in row.inner_text() and "stepper@w1" in row.inner_text() and "0 of 1" in row.inner_text()
            assert f"Broker {broker.url()}: 1 live worker(s)." in panel.inner_text()
            SHOTS.mkdir(parents=True, exist_ok=True)
            panel.screenshot(path=str(SHOTS / "workers.png"))
            stop(w1)  # its goodbye reaches the page at its next refresh
            page.wait_for_function("document.getElementById('workers-note').textContent.includes('1 gone')",
                                   timeout=15_000)
            assert "gone" in row.inner_text()
            assert not errors, errors
    finally:
        if page is not None:
            page.close()
        stop(w1)
        broker.stop()
