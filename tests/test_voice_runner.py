"""The voice showcase's project runner: its pages served for real, and its sandbox run on real scripts."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from experts.gui.serve import serve

RUNNER = Path(__file__).resolve().parents[1] / "showcases" / "voice" / "runner"


def _load_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("voice_runner_app", RUNNER / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


runner = _load_runner()


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve(RUNNER) as url:
        yield url


def project(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for file, text in files.items():
        (folder / file).write_text(text, encoding="utf-8")
    return folder


def sandboxed(folder: Path, script: str, time_limit_s: float = 5) -> runner.RunResult:
    return asyncio.run(runner.run_sandboxed(folder, script, time_limit_s))


# ---- the pages ------------------------------------------------------------------------------------------

def test_home_lists_each_bundled_project_as_a_link(base_url: str) -> None:
    page = httpx.get(base_url)
    assert page.status_code == 200
    assert "<title>Project runner</title>" in page.text
    assert '<nav class="window" aria-label="Projects">' in page.text
    for name in ("hello", "primes", "spin"):
        assert f'<a href="/projects/{name}">{name}</a>' in page.text


def test_project_page_lists_files_and_a_run_button_per_script(base_url: str) -> None:
    page = httpx.get(f"{base_url}/projects/primes")
    assert page.status_code == 200
    assert "Prints the first ten prime numbers." in page.text
    assert "<li>primes.py (" in page.text and "<li>README.txt (" in page.text
    assert re.findall(r'<button type="submit">([^<]*)</button>', page.text) == ["Run primes"]
    assert '<form method="post" action="/projects/primes/run">' in page.text


def test_running_primes_shows_its_output_and_exit_code(base_url: str) -> None:
    page = httpx.post(f"{base_url}/projects/primes/run", data={"script": "primes.py"})
    assert page.status_code == 200
    panel = page.text[page.text.index('<section role="region" aria-label="Output">'):]
    assert "The first ten primes are 2 3 5 7 11 13 17 19 23 29" in panel
    assert re.search(r'<p role="status" aria-label="Result">primes\.py exited with code 0 in \d+\.\d\d s</p>', panel)
    isolation = "rlimits+no-network" if runner.network_isolation() else "rlimits"
    assert f"Sandbox: {isolation}" in panel and "5 s time limit" in panel


def test_endless_loop_is_stopped_at_the_time_limit(base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTOS_RUNNER_TIME_LIMIT_S", "1")  # read per request
    start = time.monotonic()
    page = httpx.post(f"{base_url}/projects/spin/run", data={"script": "loop.py"}, timeout=10)
    assert time.monotonic() - start < 4
    assert page.status_code == 200
    assert '<p role="status" aria-label="Result">loop.py was stopped after the 1 s time limit</p>' in page.text
    assert "Spinning forever..." in page.text  # what it printed before it was stopped


def test_unknown_project_is_a_404_naming_it_and_the_projects(base_url: str) -> None:
    page = httpx.get(f"{base_url}/projects/nothing")
    assert page.status_code == 404
    assert "There is no project named &#x27;nothing&#x27;." in page.text
    assert "The projects are: hello, primes, spin." in page.text


@pytest.mark.parametrize("name", ["%2E%2E", ".git", ".hidden"])
def test_names_that_are_not_plain_folder_names_are_refused(base_url: str, name: str) -> None:
    for page in (httpx.get(f"{base_url}/projects/{name}"),
                 httpx.post(f"{base_url}/projects/{name}/run", data={"script": "app.py"})):
        assert page.status_code == 400
        assert "is not a project name: plain folder names only." in page.text
        assert "The projects are: hello, primes, spin." in page.text


def test_a_slash_in_a_project_name_finds_no_page(base_url: str) -> None:
    page = httpx.get(f"{base_url}/projects/..%2Fgui")
    assert page.status_code == 404
    assert "There is no page at /projects/../gui." in page.text


def test_unknown_or_outside_script_is_a_clear_error(base_url: str) -> None:
    for script in ("nope.py", "../hello/main.py", "README.txt"):
        page = httpx.post(f"{base_url}/projects/primes/run", data={"script": script})
        assert page.status_code == 404
        assert f"primes has no script {script!r}; its scripts are: primes.py.".replace("'", "&#x27;") in page.text
        assert 'aria-label="Output"' not in page.text
    assert httpx.post(f"{base_url}/projects/primes/run", data={}).status_code == 400


def test_projects_folder_is_overridable_and_a_flood_is_cut_with_a_note(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project(tmp_path, "flood", {"flood.py": "import sys\nsys.stdout.write('x' * 200_000)\n"})
    monkeypatch.setenv("AGENTOS_RUNNER_PROJECTS", str(tmp_path))
    with serve(RUNNER) as url:
        assert '<a href="/projects/flood">flood</a>' in httpx.get(url).text
        assert "primes" not in httpx.get(url).text
        page = httpx.post(f"{url}/projects/flood/run", data={"script": "flood.py"})
    assert "flood.py exited with code 0" in page.text
    assert "Output cut at 64 KiB; the script wrote 200000 bytes." in page.text
    assert "x" * 65536 + "</pre>" in page.text


# ---- the sandbox ----------------------------------------------------------------------------------------

def test_a_script_changes_only_its_own_copy_of_the_project(tmp_path: Path) -> None:
    script = "import os\nopen('mine.py', 'w').write('changed')\nopen('new.txt', 'w').write('new')\nprint(os.getcwd())\n"
    folder = project(tmp_path, "writer", {"mine.py": script})
    result = sandboxed(folder, "mine.py")
    assert result.exit_code == 0
    assert (folder / "mine.py").read_text() == script
    assert sorted(p.name for p in folder.iterdir()) == ["mine.py"]
    copy = Path(result.output.strip())
    assert copy != folder and not copy.exists()  # the copy is gone too


def test_output_flood_is_capped(tmp_path: Path) -> None:
    folder = project(tmp_path, "flood", {"flood.py": "for _ in range(10_000):\n    print('y' * 99)\n"})
    result = sandboxed(folder, "flood.py")
    assert result.exit_code == 0
    assert result.output_bytes == 1_000_000 and result.cut
    assert result.output == ("y" * 99 + "\n") * 655 + "y" * 36  # exactly the first 64 KiB


def test_network_is_unreachable_when_the_isolation_says_so(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        folder = project(tmp_path, "net", {"net.py": f"""import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
    print("connected")
except OSError as exc:
    print("blocked:", exc)
"""})
        result = sandboxed(folder, "net.py")
    assert result.exit_code == 0
    if runner.network_isolation():
        assert result.isolation == "rlimits+no-network"
        assert result.output.startswith("blocked:"), result.output
    else:
        assert result.isolation == "rlimits"
        assert result.output == "connected\n"


def test_exit_codes_and_tracebacks_are_reported(tmp_path: Path) -> None:
    folder = project(tmp_path, "codes", {"three.py": "import sys\nprint('bye')\nsys.exit(3)\n",
                                         "boom.py": "raise RuntimeError('boom')\n"})
    three = sandboxed(folder, "three.py")
    assert (three.exit_code, three.output) == (3, "bye\n")
    assert three.status.startswith("three.py exited with code 3 in ")
    boom = sandboxed(folder, "boom.py")
    assert boom.exit_code == 1
    assert "RuntimeError: boom" in boom.output  # stderr is in the output too


def test_file_size_and_memory_are_limited(tmp_path: Path) -> None:
    folder = project(tmp_path, "greedy", {"big_file.py": "open('big', 'wb').write(b'0' * (17 << 20))\n",
                                          "big_memory.py": "bytearray(2 << 30)\n"})
    assert "File too large" in sandboxed(folder, "big_file.py").output
    assert "MemoryError" in sandboxed(folder, "big_memory.py").output


def test_environment_is_minimal_and_home_is_the_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTOS_TEST_SECRET", "do-not-pass-on")
    script = "import os\nprint(sorted(os.environ), os.environ['HOME'] == os.getcwd())\n"
    result = sandboxed(project(tmp_path, "env", {"env.py": script}), "env.py")
    assert result.output == "['HOME', 'LANG', 'PATH', 'PYTHONIOENCODING'] True\n"
