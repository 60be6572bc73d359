"""Settings shared by every environment.

Everything that differs between machines comes from the environment, with django-environ
names: DATABASE_URL, REDIS_URL, EMAIL_URL, SECRET_KEY, DEBUG, ALLOWED_HOSTS, GITHUB_API_URL,
GITHUB_TOKEN. `local.py`, `test.py` and `production.py` only change defaults and hardening.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

# --- Core --------------------------------------------------------------------------------
SECRET_KEY = env("SECRET_KEY", default="insecure-local-key-change-me-" + "x" * 32)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

ROOT_URLCONF = "safety_reset.urls"
WSGI_APPLICATION = "safety_reset.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Applications ------------------------------------------------------------------------
# Our apps are split by bounded context; imports flow one way:
# core <- inventory <- catalog <- audits <- remediation/incidents/repo_status
#      <- notifications/dashboards <- demo
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "pgtrigger",
    "pghistory",
    "safety_reset.core",
    "safety_reset.inventory",
    "safety_reset.catalog",
    "safety_reset.audits",
    "safety_reset.remediation",
    "safety_reset.incidents",
    "safety_reset.repo_status",
    "safety_reset.notifications",
    "safety_reset.dashboards",
    "safety_reset.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Tags every history event written during a request with who made it and on which URL.
    "pghistory.middleware.HistoryMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "safety_reset.core.context_processors.navigation",
            ],
        },
    },
]

# --- Database ----------------------------------------------------------------------------
# PostgreSQL everywhere (one dialect: partial indexes, conditional aggregates, triggers).
# `make run` starts an embedded server and sets DATABASE_URL itself.
DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/safety_reset"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# PostgreSQL's JIT costs more than it saves on our short aggregate queries (measured: 0.63 s
# of a 0.89 s export at 10,000 systems was JIT compilation).
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"

# --- Cache and broker --------------------------------------------------------------------
# With REDIS_URL, Redis is the cache and the Celery broker. Without it (the embedded `make
# run`), the cache is a database table and the broker is kombu's SQLAlchemy transport on the
# same PostgreSQL, so no outside server is needed.
REDIS_URL = env("REDIS_URL", default="")


def _sqlalchemy_url(db: dict) -> str:
    from urllib.parse import quote

    user = quote(db.get("USER") or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    # A unix-socket directory may come as HOST or (from "?host=/path") in OPTIONS.
    host = db.get("HOST") or db.get("OPTIONS", {}).get("host") or ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    if host.startswith("/"):
        return f"postgresql+psycopg://{user}{password}@/{db['NAME']}?host={quote(host)}"
    return f"postgresql+psycopg://{user}{password}@{host}{port}/{db['NAME']}"


if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "sr",
        }
    }
    CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "django_cache",
        }
    }
    CELERY_BROKER_URL = env(
        "CELERY_BROKER_URL", default="sqla+" + _sqlalchemy_url(DATABASES["default"])
    )

# --- Celery ------------------------------------------------------------------------------
# JSON only, late acknowledgement so a killed worker's task is redelivered, hard and soft time
# limits so nothing hangs forever. The beat schedule lives in safety_reset/celery.py.
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Auth --------------------------------------------------------------------------------
AUTH_USER_MODEL = "inventory.Person"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)

# --- Internationalisation ----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files -----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
EVIDENCE_MAX_UPLOAD_BYTES = env.int("EVIDENCE_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)

# --- Email -------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Code Safety Reset <reset@example.com>")
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

# --- REST API ----------------------------------------------------------------------------
# /api/v1/ (safety_reset/api_urls.py). Tools send `Authorization: Token …` (make one with
# `manage.py drf_create_token EMAIL`); the browser uses its session. Token first, so a request
# without credentials gets 401 with `WWW-Authenticate: Token`. Services' ValidationError and
# PermissionDenied become 400 (keyed by field) and 403 in safety_reset/core/api.py.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["safety_reset.core.api.IsActivePerson"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "safety_reset.core.api.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "safety_reset.core.api_schema.AutoSchema",
    "EXCEPTION_HANDLER": "safety_reset.core.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Code Safety Reset API",
    "DESCRIPTION": (
        "The tracker's data and actions. Every list and detail shows only what the person may "
        "see (an object outside that answers 404); every action calls the same service as the "
        "pages, so the same rules and permissions apply (403 when the role may not, 400 keyed "
        "by field when the input is refused). Authenticate with `Authorization: Token <key>` "
        "(`manage.py drf_create_token EMAIL`) or a browser session. Lists are cursor-paginated."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs pages load Swagger UI / ReDoc from our own static files, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "SeverityEnum": "safety_reset.core.models.Severity",
    },
}

# --- Repositories ------------------------------------------------------------------------
# Where repository status is pulled from (safety_reset/repo_status). GitHub Enterprise: set
# GITHUB_API_URL to https://HOST/api/v3. Lists take comma-separated values from the environment.
GITHUB_API_URL = env("GITHUB_API_URL", default="https://api.github.com")
GITHUB_TOKEN = env("GITHUB_TOKEN", default="")
# Per-request timeout (seconds) and how long an ETag with its cached body is kept.
REPO_HTTP_TIMEOUT = env.float("REPO_HTTP_TIMEOUT", default=15.0)
REPO_ETAG_TTL = env.int("REPO_ETAG_TTL", default=14 * 24 * 3600)
# How far back the first pull of a repository reads merged changes; the AI-review control
# looks at the changes merged in this window.
REPO_CHANGES_WINDOW_DAYS = env.int("REPO_CHANGES_WINDOW_DAYS", default=30)
# A label on a pull request that marks it AI-assisted.
REPO_AI_LABELS = env.list("REPO_AI_LABELS", default=["ai-assisted"])
# Authors that are coding agents (besides any GitHub App / bot account).
REPO_AI_AGENT_LOGINS = env.list(
    "REPO_AI_AGENT_LOGINS",
    default=[
        "Copilot",
        "copilot-swe-agent[bot]",
        "devin-ai-integration[bot]",
        "chatgpt-codex-connector[bot]",
        "claude[bot]",
        "cursor[bot]",
        "google-labs-jules[bot]",
        "amazon-q-developer[bot]",
    ],
)
# Commit trailers whose mere presence marks a change AI-assisted (case-insensitive keys).
REPO_AI_TRAILERS = env.list(
    "REPO_AI_TRAILERS", default=["Assisted-by", "Generated-by", "AI-Assisted"]
)
# Regular expressions: a `Co-authored-by:` trailer matching one names an AI assistant.
REPO_AI_COAUTHOR_PATTERNS = env.list(
    "REPO_AI_COAUTHOR_PATTERNS",
    default=[
        r"copilot",
        r"claude|anthropic",
        r"chatgpt|openai|codex",
        r"cursor(agent)?@",
        r"gemini|jules",
        r"devin",
        r"aider",
        r"amazon q|codewhisperer",
    ],
)
# Where plain-git providers keep their bare mirrors.
REPO_MIRROR_DIR = Path(env("REPO_MIRROR_DIR", default=str(VAR_DIR / "mirrors")))
# How often beat fans out a sync of every repository: REPO_SYNC_INTERVAL seconds (default
# 3600), read by safety_reset/celery.py.

# --- Program rules -----------------------------------------------------------------------
EXCEPTION_MAX_DAYS = env.int("EXCEPTION_MAX_DAYS", default=90)
REMINDER_DAILY_BUDGET = env.int("REMINDER_DAILY_BUDGET", default=1)

# --- Logging -----------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}
