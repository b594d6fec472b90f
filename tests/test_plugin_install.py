"""A pip-installed plugin adds experts through the `agentos.experts` entry points, for real.

The example plugin (examples/hello-plugin) is installed into a fresh virtual environment that
sees this environment's packages (AgentOS included); the run there uses its experts, and this
process, where it is not installed, does not see them.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from agentos.registry import Registry

REPO = Path(__file__).resolve().parents[1]
PLUGIN = REPO / "examples" / "hello-plugin"

pytestmark = pytest.mark.slow


def _venv_with_this_environment(where: Path) -> Path:
    """A venv that sees the packages of the running interpreter, even when that is itself a venv."""
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(where)
    python = where / "bin" / "python"
    if sys.prefix != sys.base_prefix:  # --system-site-packages reaches the base, not this venv
        purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        lines = [f"import site; site.addsitedir({d!r})" for d in site.getsitepackages()]
        Path(purelib, "_outer_env.pth").write_text("\n".join(lines) + "\n")
    return python


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AGENTOS_EXPERT_MODULES")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(cmd: list[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def plugin_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(python of a venv with agentos-hello-plugin installed, a copy of the plugin's source)."""
    root = tmp_path_factory.mktemp("plugin")
    source = root / "hello-plugin"  # build from a copy: pip writes egg-info next to the sources
    shutil.copytree(PLUGIN, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    python = _venv_with_this_environment(root / "venv")
    probe = subprocess.run([python, "-c", "import setuptools.command.bdist_wheel"], capture_output=True, text=True)
    assert probe.returncode == 0, ("building the plugin offline needs setuptools>=70.1 in this environment "
                                   f"(pip install -e '.[dev]'):\n{probe.stderr}")
    _run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", source],
         cwd=root)
    return python, source


def test_installed_plugin_experts_run_a_task_from_the_command_line(plugin_venv: tuple[Path, Path],
                                                                     tmp_path: Path) -> None:
    python, _ = plugin_venv
    _run([python, "-m", "agentos", "run", PLUGIN / "task.yaml", "--output", tmp_path / "runs",
          "--run-id", "hello"], cwd=tmp_path)

    result = json.loads((tmp_path / "runs" / "hello" / "result.json").read_text())
    assert result["status"] == "succeeded"
    nodes = result["nodes"]
    assert nodes["greet"]["expert"] == "hello-greeter"
    assert nodes["greet"]["output"]["text"] == "Bonjour, Ada!"
    assert nodes["shout"]["output"]["text"] == "BONJOUR, ADA!"
    assert nodes["farewell"]["expert"] == "hello-farewell"
    assert nodes["farewell"]["artifacts"] == ["artifacts/farewell/card.txt"]
    assert "Bonjour, Ada!" in nodes["note"]["output"]["markdown"]  # the built-in text.report read it


def test_installed_plugin_is_listed_with_its_cards(plugin_venv: tuple[Path, Path], tmp_path: Path) -> None:
    python, _ = plugin_venv
    listing = json.loads(_run([python, "-m", "agentos", "experts", "list", "--json"], cwd=tmp_path).stdout)
    cards = {e["name"]: e for e in listing["experts"]}
    assert [op["capability"] for op in cards["hello-greeter"]["operations"]] == ["hello.greet", "hello.shout"]
    assert cards["hello-farewell"]["operations"][0]["input_schema"]["required"] == ["name"]
    assert listing["failures"] == []
    where = _run([python, "-c", "import agentos_hello; print(agentos_hello.__file__)"], cwd=tmp_path).stdout
    assert Path(where.strip()).is_relative_to(python.parent.parent)  # imported from the venv's site-packages


def test_plugin_own_tests_pass_against_the_installed_package(plugin_venv: tuple[Path, Path],
                                                             tmp_path: Path) -> None:
    python, source = plugin_venv
    done = _run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:langsmith_plugin",
                 "-p", "no:hypothesispytest", source / "tests"], cwd=tmp_path)
    assert " passed" in done.stdout


def test_this_environment_does_not_see_the_plugin() -> None:
    """So the experts above came from the install into the venv, not from this checkout."""
    registry = Registry.discover()
    assert "hello-greeter" not in registry
    assert "hello.greet" not in registry.capabilities()
    assert "text.report" in registry.capabilities()  # while the built-in ones are there
