"""A throwaway redis-server process on a free port, to stop or pause without touching the
machine's shared Redis (which other test runs use)."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from django.test import override_settings

from safety_reset.core.health import CHECK_TIMEOUT_SECONDS


def free_port() -> int:
    """A localhost TCP port with nothing listening on it (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(workdir),
                "--enable-debug-command", "local",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    @contextmanager
    def paused(self, seconds: int = 4) -> Iterator[None]:
        """The server blocked in `DEBUG SLEEP` (it accepts connections and answers nothing)."""
        client = redis.Redis.from_url(self.url, socket_timeout=seconds + 5)
        sleeper = threading.Thread(target=client.execute_command, args=("DEBUG", "SLEEP", seconds))
        sleeper.start()
        time.sleep(0.2)  # let the command reach the server
        try:
            yield
        finally:
            sleeper.join()
            client.close()

    @contextmanager
    def as_cache_and_broker(self) -> Iterator[str]:
        """The app's cache and broker pointed at this server inside the block.

        override_settings(CACHES=...) makes Django rebuild its cache connections on the way in
        and out (django.test.signals.clear_cache_handlers).
        """
        caches = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": self.url,
                "OPTIONS": {
                    "socket_connect_timeout": CHECK_TIMEOUT_SECONDS,
                    "socket_timeout": CHECK_TIMEOUT_SECONDS,
                },
            }
        }
        with override_settings(CACHES=caches, CELERY_BROKER_URL=self.url):
            yield self.url


@contextmanager
def redis_server(workdir: Path) -> Iterator[RedisServer]:
    server = RedisServer(workdir)
    try:
        yield server
    finally:
        server.stop()
