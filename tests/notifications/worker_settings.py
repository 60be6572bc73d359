"""Settings of the Celery worker *process* the kill tests start: the test settings, with mail
to the test's SMTP server (EMAIL_HOST / EMAIL_PORT from the environment) instead of locmem."""

import os

from safety_reset.settings.test import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ["TEST_SMTP_HOST"]
EMAIL_PORT = int(os.environ["TEST_SMTP_PORT"])
EMAIL_USE_TLS = False
EMAIL_USE_SSL = False
EMAIL_HOST_USER = ""
EMAIL_HOST_PASSWORD = ""  # noqa: S105 - a local test server without authentication
EMAIL_TIMEOUT = 10
SITE_URL = "https://reset.example.test"
CONN_MAX_AGE = 0
