"""The `make run` launcher's pure parts: reading DATABASE_URL and stopping a process group.

The whole launcher (embedded PostgreSQL, migrate, seed, web, worker, beat, Ctrl-C) is exercised
by running `make run` itself; these pin the pieces that are easy to get subtly wrong.
"""

from __future__ import annotations

import importlib.util
import signal
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "run_local.py"


@pytest.fixture(scope="module")
def run_local() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_local", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_local"] = module
    spec.loader.exec_module(module)
    return module


def test_tcp_database_url(run_local):
    conninfo, name = run_local.external_conninfo("postgres://app:s3cret@db.internal:6543/tracker")
    assert name == "tracker"
    assert conninfo == {
        "connect_timeout": 5,
        "host": "db.internal",
        "port": "6543",
        "user": "app",
        "password": "s3cret",
    }


def test_socket_directory_database_url(run_local):
    # django-environ puts ?host= in OPTIONS, not HOST: the launcher must still find it.
    conninfo, name = run_local.external_conninfo("postgres://postgres@/safety_reset?host=/run/pg")
    assert name == "safety_reset"
    assert conninfo["host"] == "/run/pg"
    assert "password" not in conninfo


def test_stop_children_ends_the_whole_process_group(run_local, tmp_path, monkeypatch):
    # A leader that ignores SIGTERM and has a child of its own: both must be gone afterwards.
    script = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = run_local.Child("sleeper", [sys.executable, "-c", script], env={})
    monkeypatch.setattr(run_local, "LOG_DIR", tmp_path)
    monkeypatch.setattr(run_local, "GRACE_SECONDS", 0.5)
    monkeypatch.setattr(run_local, "GROUP_GRACE_SECONDS", 0.5)
    child.spawn()
    child.start_reader()
    deadline = time.monotonic() + 10
    while "ready" not in (tmp_path / "sleeper.log").read_text() and time.monotonic() < deadline:
        time.sleep(0.05)

    signals = run_local.Signals()
    run_local.stop_children([child], signals)

    assert not child.running()
    assert child.proc.returncode == -signal.SIGKILL
    # The grandchild was re-parented when its parent died; give init a moment to reap it.
    deadline = time.monotonic() + 5
    while child.group_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not child.group_alive()
