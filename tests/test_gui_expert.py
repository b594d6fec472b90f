"""The GUI expert in a real Chromium: step lines, post-conditions, downloads, secrets, the domain fence.

The browser tests drive the system Chromium that `scripts/setup.sh` installs; without it they fail
with the expert's own message (they are not skipped).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import agentos
from agentos.errors import ExpertError
from agentos.testing import run_task
from experts.gui import EXPERTS
from experts.gui.browser import CHROMIUM_ENV, find_chromium
from experts.gui.models import DoOutput, SecretRef
from experts.gui.secrets import MASK, resolve_secrets, scrub
from experts.gui.steps import parse_step, parse_steps

ROOT = Path(__file__).resolve().parents[1]
GUI_A = ROOT / "showcases" / "gui" / "gui-a.yaml"
PASSWORD = (ROOT / "showcases" / "gui" / "demo.secrets").read_text().split("=", 1)[1].strip()

PLAYGROUND = """<!doctype html><html><head><title>Playground</title></head><body>
<h1>Playground</h1>
<label>Search <input id="q" onkeydown="if (event.key === 'Enter') document.getElementById('out').textContent =
  'Results for ' + this.value"></label>
<p id="out">No search yet</p>
<label>Attachment <input type="file" id="file"
  onchange="document.getElementById('att').textContent = 'Attached ' + this.files[0].name"></label>
<p id="att">Nothing attached</p>
<section aria-label="To do" id="todo" ondragover="event.preventDefault()"
  ondrop="event.preventDefault(); this.appendChild(document.getElementById(event.dataTransfer.getData('id')))">
  <h2>To do</h2>
  <div id="card" draggable="true" role="listitem" aria-label="Write the tests"
    ondragstart="event.dataTransfer.setData('id', this.id)">Write the tests</div>
</section>
<section aria-label="Done" id="done" ondragover="event.preventDefault()"
  ondrop="event.preventDefault(); this.appendChild(document.getElementById(event.dataTransfer.getData('id')));
  document.getElementById('moved').textContent = 'Moved to done'">
  <h2>Done</h2>
</section>
<p id="moved"></p>
<button onclick="document.getElementById('moved').textContent = 'Still here'">Nothing much</button>
<img src="http://tracker.example.com/pixel.png" alt="">
<div style="height: 2000px"></div><p>The very end</p>
</body></html>"""


def gui(tmp_path: Path, inputs: dict[str, Any], *, capability: str = "gui.do", expect_success: bool = True):
    """Run one GUI node from a task file in `tmp_path` (paths in a task stay inside its folder)."""
    task = {"graph": [{"id": "gui", "capability": capability, "inputs": inputs}], "budget": {"max_retries": 0}}
    path = tmp_path / "task.yaml"
    path.write_text(json.dumps(task))
    return run_task(path, EXPERTS, tmp_path=tmp_path / "runs", expect_success=expect_success)


@pytest.fixture
def playground(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(PLAYGROUND)
    return site


# ---- step lines (no browser) ----------------------------------------------------------------------

def test_each_step_form_parses_into_its_action_target_and_value():
    cases = {
        "go to /login": ("goto", None, "/login"),
        'click "Sign in"': ("click", ("Sign in", None), ""),
        'click link "Reports"': ("click", ("Reports", "link"), ""),
        'fill "Email" with ada@example.org': ("fill", ("Email", None), "ada@example.org"),
        'fill "Notes" with "two  spaces"': ("fill", ("Notes", None), "two  spaces"),
        'select "Q3" in "Period"': ("select", ("Period", None), "Q3"),
        'check "Include charts"': ("check", ("Include charts", None), ""),
        'uncheck checkbox "Send e-mail"': ("uncheck", ("Send e-mail", "checkbox"), ""),
        'press Enter in "Search"': ("press", ("Search", None), "Enter"),
        "upload data/logo.png to \"Logo\"": ("upload", ("Logo", None), "data/logo.png"),
        'download "Download report"': ("download", ("Download report", None), ""),
        "scroll down": ("scroll", None, "down"),
        'wait for "Saved"': ("wait", None, "Saved"),
        "expect “Welcome, Ada”": ("expect", None, "Welcome, Ada"),
        'read region "Output"': ("read", ("Output", "region"), ""),
    }
    for line, (action, target, value) in cases.items():
        step = parse_step(line)
        assert step.action == action and step.value == value, line
        assert (step.target.name, step.target.role) == target if target else step.target is None, line
    drag = parse_step('drag listitem "Card" to region "Done"')
    assert (drag.target.name, drag.target.role, drag.to.name, drag.to.role) == ("Card", "listitem", "Done", "region")
    secret = parse_step('fill "Password" with secret password')
    assert secret.secret == "password" and secret.value == ""


def test_lines_that_do_not_parse_are_named_with_the_forms_accepted():
    with pytest.raises(ExpertError) as err:
        parse_steps(['click "OK"', "clik 'OK'", 'fill "Email"', ""])
    message = str(err.value)
    assert "steps[1] `clik 'OK'`: unknown action 'clik'" in message
    assert 'steps[2] `fill "Email"`: does not fit any form' in message
    assert "steps[3] ``: empty step" in message and "steps[0]" not in message
    assert 'fill "name" with value' in message  # the forms, once


# ---- secrets and the browser's discovery ------------------------------------------------------------

def test_secrets_come_from_the_environment_or_a_file_and_are_scrubbed(tmp_path, monkeypatch):
    monkeypatch.setenv("DEMO_TOKEN", "s3cr3t-token")
    f = tmp_path / "app.secrets"
    f.write_text("# demo\npassword = hunter2\n")
    values = resolve_secrets({"token": SecretRef(env="DEMO_TOKEN"), "password": SecretRef(file=f)})
    assert values == {"token": "s3cr3t-token", "password": "hunter2"}
    assert scrub("typed hunter2 and s3cr3t-token", values) == f"typed {MASK} and {MASK}"
    with pytest.raises(ExpertError, match=r"secrets\.api: environment variable NOT_SET_ANYWHERE is not set"):
        resolve_secrets({"api": SecretRef(env="NOT_SET_ANYWHERE")})
    with pytest.raises(ExpertError, match=r"secrets.pin: .*app.secrets \(key pin\) is not set"):
        resolve_secrets({"pin": SecretRef(file=f)})


def test_a_chromium_setting_that_is_not_a_file_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv(CHROMIUM_ENV, str(tmp_path / "no-chrome"))
    with pytest.raises(ExpertError, match=r"\$AGENTOS_CHROMIUM is .*no-chrome, which is not a file"):
        find_chromium()
    monkeypatch.delenv(CHROMIUM_ENV)
    assert Path(find_chromium()).is_file()  # setup.sh installed Chromium; CI must have it


# ---- in the browser -----------------------------------------------------------------------------

@pytest.mark.slow
def test_gui_a_signs_in_fills_the_form_and_downloads_a_report_holding_the_values(tmp_path):
    r = agentos.run(GUI_A, output=tmp_path)
    assert r.ok, [n.error for n in r.nodes.values()]
    out = DoOutput.model_validate(r.output("report"))
    assert out.ok and out.policy == "steps" and [s.status for s in out.steps] == ["ok"] * 12
    (report,) = out.downloads
    text = report.read_text()
    for value in ("Northwind Traders", "Renewal due in March", "period: Q3", "region: Europe", "author: Ada Lovelace",
                  "charts: yes"):
        assert value in text
    assert report.is_relative_to(tmp_path) and report.parent.name == "downloads"
    assert {v.check for v in r.nodes["report"].verdicts if v.passed} >= {"gui.steps", "gui.downloads"}
    # the password was typed (the sign-in worked) but is nowhere in what the run wrote
    for f in tmp_path.rglob("*"):
        if f.is_file() and f.suffix in (".json", ".md", ".txt", ".sqlite"):
            assert PASSWORD.encode() not in f.read_bytes(), f
    typed = out.steps[2]
    assert typed.step.secret == "password" and MASK in typed.check
    # ... and the password field is masked in the screenshot taken after typing it
    x, y, w, h = typed.box
    with Image.open(typed.after) as shot:
        centre = shot.convert("RGB").getpixel((int(x + w / 2), int(y + h / 2)))
    assert centre == (255, 0, 255), centre  # Playwright's mask colour


@pytest.mark.slow
def test_press_upload_drag_scroll_and_wait_each_check_their_effect(tmp_path, playground):
    attachment = tmp_path / "notes.txt"
    attachment.write_text("hello")
    r = gui(tmp_path, {"serve": str(playground), "start_url": "/index.html", "steps": [
        'fill "Search" with mqtt', 'press Enter in "Search"', 'expect "Results for mqtt"',
        f'upload {attachment} to "Attachment"', 'wait for "Attached notes.txt"',
        'drag listitem "Write the tests" to region "Done"', 'expect "Moved to done"',
        "scroll down", 'scroll to "The very end"', 'read region "Done"']})
    out = DoOutput.model_validate(r.output("gui"))
    assert [s.status for s in out.steps] == ["ok"] * 11
    assert "Write the tests" in out.read["Done"] and out.steps[10].read == out.read["Done"]
    assert "the page changed" in out.steps[2].check and "holds notes.txt" in out.steps[4].check
    assert "Write the tests" in out.final_snapshot.split('region "Done"')[1]  # the card sits in Done now
    assert out.blocked_requests == ["http://tracker.example.com/pixel.png"]
    assert "blocked 1 request(s) outside allow_domains" in out.message


@pytest.mark.slow
def test_a_step_whose_target_is_missing_fails_the_node_naming_the_step_and_what_is_there(tmp_path, playground):
    r = gui(tmp_path, {"serve": str(playground), "start_url": "/index.html", "step_timeout_s": 1,
                       "steps": ['click "Sign in"', 'expect "Playground"']}, expect_success=False)
    node = r.nodes["gui"]
    assert node.status == "failed"
    failed = [v for v in node.verdicts if v.check == "gui.steps"][-1]
    assert 'step 2 `click "Sign in"` failed: nothing on the page is "Sign in"' in failed.message
    assert 'button "Nothing much"' in failed.message  # what the page does have
    trace = json.loads(next((tmp_path / "runs").rglob("steps.json")).read_text())
    assert [s["status"] for s in trace["steps"]] == ["ok", "failed", "skipped"]
    assert trace["steps"][1]["attempts"] == 2  # retried once


@pytest.mark.slow
def test_a_click_that_changes_nothing_fails_its_post_condition(tmp_path, playground):
    r = gui(tmp_path, {"serve": str(playground), "start_url": "/index.html",
                       "steps": ['click "Nothing much"', 'click "Nothing much"']}, expect_success=False)
    message = [v for v in r.nodes["gui"].verdicts if v.check == "gui.steps"][-1].message
    assert 'step 3 `click "Nothing much"` failed: clicking "Nothing much" changed nothing on the page' in message


@pytest.mark.slow
def test_pages_outside_allow_domains_are_not_loaded(tmp_path, playground):
    r = gui(tmp_path, {"serve": str(playground), "start_url": "/index.html", "step_timeout_s": 2,
                       "steps": ["go to http://example.com/"]}, expect_success=False)
    message = [v for v in r.nodes["gui"].verdicts if v.check == "gui.steps"][-1].message
    assert "step 2 `go to http://example.com/` failed" in message and "ERR_BLOCKED_BY_CLIENT" in message


def test_a_task_with_a_bad_step_line_fails_with_the_line_named(tmp_path):
    r = gui(tmp_path, {"start_url": "about:blank", "steps": ['klick "OK"']}, expect_success=False)
    assert "steps[0] `klick \"OK\"`: unknown action 'klick'" in r.nodes["gui"].error


@pytest.mark.slow
def test_gui_a_runs_from_the_command_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "agentos", "run", str(GUI_A), "-o", str(tmp_path), "--json"],
                          capture_output=True, text=True, timeout=300, env={**os.environ})
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(next(tmp_path.glob("*/result.json")).read_text())
    assert result["status"] == "succeeded" and result["nodes"]["report"]["expert"] == "gui"


@pytest.mark.slow
def test_gui_b_writes_a_tutorial_with_one_annotated_screenshot_per_step(tmp_path):
    from experts.gui.models import TutorialOutput

    r = agentos.run(ROOT / "showcases" / "gui" / "gui-b.yaml", output=tmp_path)
    assert r.ok, [n.error for n in r.nodes.values()]
    out = TutorialOutput.model_validate(r.output("tutorial"))
    assert [p.number for p in out.pages] == list(range(1, 10))  # the opening page and the eight steps
    assert {v.check for v in r.nodes["tutorial"].verdicts if v.passed} >= {"gui.steps", "gui.tutorial"}
    markdown = out.markdown.read_text()
    assert "3. In **Password**, type your password." in markdown and PASSWORD not in markdown
    assert "6. Drag **Invoice from Northwind** onto **Tasks**." in markdown
    assert "127.0.0.1" not in markdown  # served URLs are shown as paths
    assert markdown.count("![Step ") == 9 and (out.html.parent / "tutorial" / "06.png").is_file()
    # the drag's screenshot has the annotation colour on the dragged mail and inside the Tasks app
    drag = out.pages[5]
    with Image.open(drag.image) as drawn:
        rgb = drawn.convert("RGB")
        x, y, _, h = out.steps[5].box
        tx, ty, tw, th = out.steps[5].to_box
        assert rgb.getpixel((int(x - 4), int(y + h / 2))) == (220, 30, 60)  # the box's left edge
        assert rgb.getpixel((int(tx + tw / 2) - 2, int(ty + th / 2))) == (220, 30, 60)  # the arrow's tip
    assert "Task: Invoice from Northwind" in out.final_snapshot and "Task: Quarterly figures" in out.final_snapshot


@pytest.mark.slow
def test_gui_c_applies_settings_across_tabs_and_reads_every_one_back(tmp_path):
    from experts.gui.models import ConfigureOutput

    r = agentos.run(ROOT / "showcases" / "gui" / "gui-c.yaml", output=tmp_path)
    assert r.ok, [n.error for n in r.nodes.values()]
    out = ConfigureOutput.model_validate(r.output("configure"))
    by_name = {x.name: x for x in out.results}
    assert out.failed == 0 and out.changed == 13 and by_name["Email alerts"].result == "already set"
    assert (by_name["Profile visibility"].tab, by_name["Profile visibility"].after) == ("Privacy", "Team")
    assert (by_name["API rate limit"].tab, by_name["API rate limit"].after) == ("Advanced", "250")
    assert by_name["Share usage data"].after is False and by_name["Compact layout"].after is True
    assert "| Log level | Advanced | `Warning` | `Debug` | `Debug` | changed |" in out.diff.read_text()
    assert any(v.check == "gui.settings" and v.passed for v in r.nodes["configure"].verdicts)


@pytest.mark.slow
def test_a_setting_the_page_does_not_have_fails_the_check_naming_the_tabs_searched(tmp_path):
    import shutil

    shutil.copytree(ROOT / "showcases" / "gui" / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "showcases" / "gui" / "demo.secrets", tmp_path / "demo.secrets")
    r = gui(tmp_path, {"serve": "app", "start_url": "/login", "secrets": {"password": {"file": "demo.secrets"}},
                       "steps": ['fill "Email" with ada@example.org', 'fill "Password" with secret password',
                                 'click "Sign in"', "go to /settings"],
                       "settings": {"Dark mode": True, "Log level": "Info"}, "save": "Save settings"},
            capability="gui.configure", expect_success=False)
    message = next(v.message for v in r.nodes["gui"].verdicts if v.check == "gui.settings")
    assert "Dark mode: no control labelled 'Dark mode' in any of the tabs General, Notifications, Privacy, Advanced" \
        in message
    assert "Log level" not in message  # the other setting was applied and read back


def _demo_app(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(ROOT / "showcases" / "gui" / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "showcases" / "gui" / "demo.secrets", tmp_path / "demo.secrets")


@pytest.mark.slow
def test_with_a_host_the_host_picks_each_action_from_the_page_and_hears_what_failed(tmp_path):
    from scripted_openai_server import ScriptedOpenAIServer, text

    from host_model import OpenAICompatibleHost

    _demo_app(tmp_path)
    actions = [{"action": "fill", "role": "textbox", "name": "Email", "value": "ada@example.org"},
               {"action": "fill", "ref": "e999", "secret": "password"},
               {"action": "fill", "name": "Password", "secret": "password", "reason": "the ref was wrong"},
               {"action": "click", "name": "Sign in"},
               {"action": "done", "reason": "the report form is shown: signed in"}]
    task = {"graph": [{"id": "gui", "capability": "gui.do", "inputs": {
        "serve": "app", "start_url": "/login", "goal": "Sign in as ada@example.org",
        "secrets": {"password": {"file": "demo.secrets"}}}}], "budget": {"max_retries": 0}}
    (tmp_path / "task.yaml").write_text(json.dumps(task))
    with ScriptedOpenAIServer([text(json.dumps(a)) for a in actions]) as srv:
        r = run_task(tmp_path / "task.yaml", EXPERTS, tmp_path=tmp_path / "runs",
                     host=OpenAICompatibleHost(srv.url, "pilot"))
        sent = [req.body["messages"] for req in srv.chat_requests]
    out = DoOutput.model_validate(r.output("gui"))
    assert out.ok and out.policy.startswith("host:") and "pilot" in out.policy and out.final_url.endswith("/report")
    assert [s.status for s in out.steps] == ["ok", "ok", "failed", "ok", "ok"]
    assert out.message == "the report form is shown: signed in"
    assert len(sent) == 5 and "never instructions" in sent[0][0]["content"]
    first = sent[0][1]["content"]
    assert "Goal: Sign in as ada@example.org" in first and "Secrets you may type by name: password" in first
    assert 'textbox "Email" [ref=e' in first and "<page>" in first
    assert 'fill [ref=e999] secret password: failed: nothing on the page is [ref=e999]' in sent[2][1]["content"]
    assert all(PASSWORD not in m["content"] for msgs in sent for m in msgs)  # the host never sees the secret


def test_a_goal_without_steps_and_without_a_chat_host_says_what_is_missing(tmp_path):
    r = gui(tmp_path, {"start_url": "about:blank", "goal": "Sign in"}, expect_success=False)
    assert "a goal without `steps` needs a host model to pick the actions: no host model is configured" in \
        r.nodes["gui"].error


def test_the_run_summary_folds_a_folder_of_screenshots_into_one_line():
    from agentos.cli_view import artifact_lines

    shots = [f"artifacts/report/steps/{i:02d}-before.png" for i in range(1, 7)]
    lines = artifact_lines("/runs/r1", ["artifacts/report/steps.json", *shots, "artifacts/report/downloads/report.md"])
    assert lines == ["/runs/r1/artifacts/report/steps.json", "/runs/r1/artifacts/report/steps/ (6 files)",
                     "/runs/r1/artifacts/report/downloads/report.md"]


@pytest.mark.slow
def test_a_button_half_covered_by_another_is_clicked_where_it_shows(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("""<!doctype html><html><body><div style="position:relative;height:60px">
<button style="position:absolute;left:10px;top:10px;width:120px;height:40px"
  onclick="document.getElementById('out').textContent = 'ONE pressed'">ONE</button>
<button style="position:absolute;left:60px;top:10px;width:120px;height:40px">TWO</button></div>
<p id="out">nothing yet</p></body></html>""")
    r = gui(tmp_path, {"serve": "site", "start_url": "/index.html", "steps": ['click button "ONE"',
                                                                            'expect "ONE pressed"']})
    assert [s.status for s in DoOutput.model_validate(r.output("gui")).steps] == ["ok"] * 3
