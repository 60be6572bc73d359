"""Settings for the test suite: a real PostgreSQL and a real Redis, never stand-ins.

DATABASE_URL and REDIS_URL default to the servers on this machine. If Redis cannot be reached
the suite stops at start-up and says how to start it (tests/conftest.py).
"""

import os
from urllib.parse import urlsplit, urlunsplit

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production-" + "t" * 32  # noqa: S105
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/15")
# Under pytest-xdist each worker gets its own Redis database (cache.clear() flushes a whole
# database, so workers sharing one would wipe each other's ETags and locks mid-test).
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _xdist_worker.startswith("gw"):
    _url = urlsplit(REDIS_URL)
    _base_db = int(_url.path.lstrip("/") or 0)
    _db = (_base_db - 1 - int(_xdist_worker[2:])) % 16
    REDIS_URL = urlunsplit(_url._replace(path=f"/{_db}"))
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
EXPORT_SIGNING_KEY = "test-export-signing-key"  # noqa: S105
# API rates far above what any test sends (tests/core/test_api_throttling.py sets its own).
REST_FRAMEWORK = {  # noqa: F405
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": dict.fromkeys(("anon", "user", "writes", "imports"), "100000/min"),
}
