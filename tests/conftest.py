"""Test-session settings shared by every test file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from host_model.chat_service import ChatService

# The model tests use tiny tensors: extra intra-op threads only add synchronisation, and on a busy
# 2-core machine they made them ten times slower. Set before anything imports torch; subprocesses
# (servers, CLIs) inherit it.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Runs in tests plan only with the host a test sets up: the bundled offline planner (the default
# for users) is switched off here, and the tests of that default switch it back on themselves.
os.environ["AGENTOS_HOST_MODEL_DIR"] = "none"
# The adaptive router (the default) keeps what it learns in memory only, so tests never share or
# touch ~/.agentos; the router's own tests give it a state file explicitly.
os.environ["AGENTOS_ROUTER_STATE"] = "none"
# Research indexes are cached per corpus content; tests keep theirs in a folder of their own.
os.environ.setdefault("AGENTOS_RESEARCH_CACHE", tempfile.mkdtemp(prefix="agentos-research-index-"))


# ---- the tiny Step 3.5 model, served once per session (host server and EngineHost tests) -----------
# Imports stay inside the fixtures so test files that never touch a model do not pay for torch.

TINY_MODEL = "tiny"
TINY_CONTEXT = 1024


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from host_model.testing import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny") / TINY_MODEL)


@pytest.fixture(scope="session")
def service(model_dir: Path) -> Iterator[ChatService]:
    from host_model.chat_service import load_chat_service
    from host_model.engine import EngineSettings

    svc = load_chat_service(model_dir, engine_settings=EngineSettings(max_batch=4, max_context=TINY_CONTEXT),
                            model_name=TINY_MODEL, enable_thinking=False)
    yield svc
    svc.close()


@pytest.fixture(scope="session")
def base_url(service: ChatService) -> Iterator[str]:
    from host_model.server import create_app
    from host_model.testing import serve_in_thread

    with serve_in_thread(create_app(service)) as url:
        yield url
