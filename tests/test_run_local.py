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


SLEEPER = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(120)"]


def _until(predicate, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(predicate())


def test_a_killed_worker_is_restarted_with_back_off_and_the_web_keeps_serving(
    run_local, tmp_path, monkeypatch, capsys
):
    import threading

    monkeypatch.setattr(run_local, "LOG_DIR", tmp_path)
    monkeypatch.setattr(run_local, "BACKOFF_FIRST_SECONDS", 0.2)
    monkeypatch.setattr(run_local, "GRACE_SECONDS", 2)
    monkeypatch.setattr(run_local, "GROUP_GRACE_SECONDS", 1)
    children = [run_local.Child(name, SLEEPER, env={}) for name in ("web", "worker", "beat")]
    for child in children:
        child.spawn()
    for child in children:
        child.start_reader()
    web, worker, beat = children
    signals = run_local.Signals()
    result: list[int] = []
    supervisor = threading.Thread(
        target=lambda: result.append(run_local.supervise(children, signals, poll=0.05))
    )
    supervisor.start()
    try:
        first_web, first_worker = web.proc.pid, worker.proc.pid
        worker.proc.send_signal(signal.SIGKILL)
        assert _until(lambda: worker.proc.pid != first_worker and worker.running())
        log = tmp_path / "worker.log"
        assert _until(lambda: log.read_text().count("up") == 2)  # appended, not written over
        # Killed again at once: the next restart waits twice as long.
        second_worker = worker.proc.pid
        worker.proc.send_signal(signal.SIGKILL)
        assert _until(lambda: worker.proc.pid != second_worker and worker.running())
        assert _until(lambda: log.read_text().count("up") == 3)
        assert web.running()
        assert web.proc.pid == first_web  # never touched
        assert beat.running()
    finally:
        signals.stop.set()
        supervisor.join(timeout=10)
        run_local.stop_children(children, signals)
    assert result == [0]
    assert not any(c.running() for c in children)
    out = capsys.readouterr().out
    assert "worker exited (-9); restarting in 0.2s" in out
    assert "restart 1)" in out
    assert "worker exited (-9); restarting in 0.4s" in out  # doubled: it died at once again
    assert "restart 2)" in out


def test_the_web_exiting_stops_everything(run_local, tmp_path, monkeypatch):
    monkeypatch.setattr(run_local, "LOG_DIR", tmp_path)
    web = run_local.Child("web", [sys.executable, "-c", "import sys; sys.exit(3)"], env={})
    worker = run_local.Child("worker", SLEEPER, env={})
    for child in (web, worker):
        child.spawn()
        child.start_reader()
    signals = run_local.Signals()
    try:
        assert run_local.supervise([web, worker], signals, poll=0.05) == 1
    finally:
        run_local.stop_children([web, worker], signals)


@pytest.mark.parametrize(
    ("value", "seeds"), [(None, True), ("1", True), ("0", False), ("no", False)]
)
def test_seed_demo_0_starts_empty(run_local: ModuleType, value: str | None, seeds: bool):
    env = {} if value is None else {"SEED_DEMO": value}
    assert bool(run_local.seed_command(env)) == seeds
    if seeds:
        assert run_local.seed_command(env)[0] == "seed_demo"
