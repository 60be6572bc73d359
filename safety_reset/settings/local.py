"""Settings for a developer's machine and `make run`: debug on, mail written to var/mail."""

from .base import *  # noqa: F403
from .base import VAR_DIR, env

DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

# Mail is written as .log files under var/mail/ unless EMAIL_URL says otherwise, so a person can
# read what would have been sent without any mail server.
if not env("EMAIL_URL", default=""):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")

# Serve static files straight from static/ while developing.
WHITENOISE_AUTOREFRESH = True

# /metrics for this machine only.
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=True)
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
