"""Production: everything secret comes from the environment; HTTPS-only cookies and HSTS.

`manage.py check --deploy --fail-level WARNING --settings=safety_reset.settings.production`
is clean when SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL are set.
"""

from .base import *  # noqa: F403
from .base import env, logging_config

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

# --- HTTPS -------------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz/$", r"^readyz/$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# --- API schema and docs ------------------------------------------------------------------
# Behind sign-in (session or token) unless API_DOCS_PUBLIC=true.
if not env.bool("API_DOCS_PUBLIC", default=False):
    SPECTACULAR_SETTINGS = {  # noqa: F405
        **SPECTACULAR_SETTINGS,  # noqa: F405
        "SERVE_PERMISSIONS": ["safety_reset.core.api.IsActivePerson"],
    }

# --- Logging -----------------------------------------------------------------------------
# JSON lines for the log collector, unless LOG_FORMAT says otherwise (see base.py).
LOGGING = logging_config(env("LOG_FORMAT", default="json"))
