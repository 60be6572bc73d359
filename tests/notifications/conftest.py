"""A real SMTP server (aiosmtpd on 127.0.0.1, a free port) that records what it receives."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from celery import signals
from celery.contrib.testing.worker import start_worker

from safety_reset.celery import app


@dataclass
class Mailbox:
    """What the server accepted, and how many DATA commands it should still refuse."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: int = 0
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            if self.refuse > 0:
                self.refuse -= 1
                self.refused += 1
                return "451 4.3.0 Try again later"
            message = message_from_bytes(envelope.content, policy=policy.default)
            assert isinstance(message, EmailMessage)
            self.messages.append(message)
        return "250 OK"

    def to(self) -> list[str]:
        return sorted(str(m["To"]) for m in self.messages)

    def for_(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if str(m["To"]) == address]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings) -> Iterator[Mailbox]:
    box = Mailbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    settings.SITE_URL = "https://reset.example.test"
    try:
        yield box
    finally:
        controller.stop()


def bodies(message: EmailMessage) -> tuple[str, str]:
    """(plain text, HTML) of a received multipart/alternative message."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    return str(text.get_content()), str(html.get_content())


# --- A real Celery worker on the Redis broker (in a thread; tests need transaction=True) ---


class Tasks:
    """Counts the tasks published (here or by the worker: a fan-out, a retry) and finished."""

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


@pytest.fixture
def worker(settings) -> Iterator[Tasks]:
    app.conf.broker_url = settings.CELERY_BROKER_URL
    app.conf.task_always_eager = False
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")
    tasks_seen = Tasks()
    signals.after_task_publish.connect(tasks_seen.on_publish, weak=False)
    signals.task_postrun.connect(tasks_seen.on_finish, weak=False)
    try:
        with start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=10):
            yield tasks_seen
    finally:
        signals.after_task_publish.disconnect(tasks_seen.on_publish)
        signals.task_postrun.disconnect(tasks_seen.on_finish)


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the worker")
