"""A real Celery worker for the tests that need one, and a deadline-based wait.

The `worker` fixture (tests/conftest.py) starts a worker thread on this session's Redis broker
(its queue purged first) and yields a `TaskCounter`: `worker.all_done()` is true once every task
published so far (here, or by the worker: a fan-out, a retry) has run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from celery import signals
from celery.contrib.testing.worker import start_worker

from safety_reset.celery import app


class TaskCounter:
    """Counts the tasks published and finished."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.published = 0
        self.finished = 0

    def on_publish(self, **_: object) -> None:
        with self.lock:
            self.published += 1

    def on_finish(self, **_: object) -> None:
        with self.lock:
            self.finished += 1

    def all_done(self) -> bool:
        """Every task published so far has run (a retry is published before its try ends)."""
        with self.lock:
            return self.finished == self.published


@contextmanager
def running_worker(broker_url: str) -> Iterator[TaskCounter]:
    app.conf.broker_url = broker_url
    app.conf.task_always_eager = False
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")
    counter = TaskCounter()
    signals.after_task_publish.connect(counter.on_publish, weak=False)
    signals.task_postrun.connect(counter.on_finish, weak=False)
    try:
        with start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
            yield counter
    finally:
        signals.after_task_publish.disconnect(counter.on_publish)
        signals.task_postrun.disconnect(counter.on_finish)


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll until `condition()` holds, or fail after `timeout` seconds (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the worker")
