"""Settings for the test suite: a real PostgreSQL and a real Redis, never stand-ins.

DATABASE_URL and REDIS_URL default to the servers on this machine. If Redis cannot be reached
the suite stops at start-up and says how to start it (tests/conftest.py). REDIS_TEST_DBS lists
the Redis databases the suite may flush, one per pytest-xdist worker (default: REDIS_URL's).
"""

import os
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production-" + "t" * 32  # noqa: S105
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/15")


def redis_test_dbs(spec: str) -> list[int]:
    """The Redis databases given to the suite: "4", "4,5,6" or "4-7" (0..15, no repeats)."""
    dbs: list[int] = []
    for part in spec.replace(" ", "").split(","):
        first, dash, last = part.partition("-")
        if not dash:
            last = first
        if not (first.isdigit() and last.isdigit() and int(first) <= int(last)):
            raise ImproperlyConfigured(f"REDIS_TEST_DBS: {spec!r} is not like 4 or 4,5 or 4-7")
        dbs.extend(range(int(first), int(last) + 1))
    if not dbs or len(set(dbs)) != len(dbs) or not all(0 <= db <= 15 for db in dbs):
        raise ImproperlyConfigured(f"REDIS_TEST_DBS: {spec!r} must name distinct databases 0-15")
    return dbs


# The suite flushes the Redis database it uses before each test (tests/conftest.py), so it uses
# only databases it was given: REDIS_URL's, or the list REDIS_TEST_DBS ("4-7", "4,5,6,7") on
# REDIS_URL's server. Under pytest-xdist worker gwN takes the Nth of them; tests/conftest.py
# refuses `-n` with more workers than databases.
_url = urlsplit(REDIS_URL)
REDIS_TEST_DBS = redis_test_dbs(env("REDIS_TEST_DBS", default=_url.path.lstrip("/") or "0"))
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
_worker_index = int(_xdist_worker[2:]) if _xdist_worker.startswith("gw") else 0
if _worker_index >= len(REDIS_TEST_DBS):
    raise ImproperlyConfigured(
        f"pytest-xdist worker {_xdist_worker} has no Redis database of its own: "
        f"REDIS_TEST_DBS gives {len(REDIS_TEST_DBS)}"
    )
REDIS_URL = urlunsplit(_url._replace(path=f"/{REDIS_TEST_DBS[_worker_index]}"))
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "sr-test",
    }
}
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
# A fast hasher: the suite creates many people; the algorithm under test is Django's, not ours.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "safety_reset.core.observability.RequestIdFilter"}},
    "root": {"level": "WARNING"},
}
# Serve static files from the finders: no collectstatic before tests.
WHITENOISE_AUTOREFRESH = True
# A key pair for the tests only (never used anywhere else): archives are signed with Ed25519.
EXPORT_SIGNING_KEY = (  # noqa: S105
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIFgxbBpbIwqIyt1bjArAeBHeqX3/5QqQMfG+ECwUyYu5\n"
    "-----END PRIVATE KEY-----\n"
)
EXPORT_TEST_PUBLIC_KEY = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEARu2Epe436ICRfX2I9obAQEobj4MHi64by7ovctzqJeU=\n"
    "-----END PUBLIC KEY-----\n"
)
# API rates far above what any test sends (tests/core/test_api_throttling.py sets its own).
REST_FRAMEWORK = {  # noqa: F405
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": dict.fromkeys(("anon", "user", "writes", "imports"), "100000/min"),
}
