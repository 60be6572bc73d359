"""Settings shared by every environment.

Everything that differs between machines comes from the environment, with django-environ
names: DATABASE_URL, REDIS_URL, EMAIL_URL, SECRET_KEY, DEBUG, ALLOWED_HOSTS, GITHUB_API_URL,
GITHUB_TOKEN. `local.py`, `test.py` and `production.py` only change defaults and hardening.
"""

from datetime import timedelta
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
    "django.forms",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "django_prometheus",
    "pgtrigger",
    "pghistory",
    # Failed-login throttling (AXES_* under Auth below); keeps an audit trail of attempts.
    "axes",
    "safety_reset.core",
    "safety_reset.inventory",
    "safety_reset.catalog",
    "safety_reset.programs",
    "safety_reset.audits",
    "safety_reset.remediation",
    "safety_reset.incidents",
    "safety_reset.repo_status",
    "safety_reset.identities",
    "safety_reset.notifications",
    "safety_reset.dashboards",
    "safety_reset.demo",
    # export_program / verify_program_archive / import_program: reads every app above.
    "safety_reset.archive",
]

MIDDLEWARE = [
    # First and last: request counts and latencies for /metrics (django-prometheus).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # A request id on every log line of the request, and on the tasks it queues.
    "safety_reset.core.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # A NUL byte or a lone surrogate in any parameter or field: 400 naming it (core/middleware.py).
    "safety_reset.core.middleware.UnusableInputMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Tags every history event written during a request with who made it and on which URL.
    "pghistory.middleware.HistoryMiddleware",
    # Last: turns a login refused by django-axes into the "too many attempts" page (429).
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

# Forms render through the project's templates, so every field of every form is drawn by one
# template, components/_field.html (`{{ form.x.as_field_group }}`); "django.forms" (below) keeps
# Django's own widget templates findable by that renderer.
FORM_RENDERER = "safety_reset.core.forms.FormRenderer"

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
                "safety_reset.audits.context_processors.program_switcher",
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
# Workers log through LOGGING below (JSON in production, with request and task ids) instead of
# Celery replacing the root logger's handlers with its own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# /readyz/ reports beat as degraded when its heartbeat (published every 60 s,
# safety_reset/celery.py) is older than this: three missed beats. Workers write theirs every
# 10 s from Celery's worker heartbeat (safety_reset/core/tasks.py), and on running beat's task
# every 60 s (the only source under `make run`'s embedded broker, which has no heartbeats).
BEAT_HEARTBEAT_MAX_AGE = env.int("BEAT_HEARTBEAT_MAX_AGE", default=180)
WORKER_HEARTBEAT_MAX_AGE = env.int("WORKER_HEARTBEAT_MAX_AGE", default=90)
# The database connection /readyz/ tries (its failure alone makes the probe 503).
HEALTH_DATABASE_ALIAS = "default"

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
# Django's accounts; when OIDC_RP_CLIENT_ID is set, single sign-on is added (see below).
# The axes backend comes first: it refuses a locked-out username/IP before any password check.
AUTHENTICATION_BACKENDS = [
    "safety_reset.core.auth.RequestAxesBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Sessions end when the browser closes and, at the latest, SESSION_COOKIE_AGE seconds after
# sign-in (the session is not re-saved on every request, so the age counts from sign-in, not
# from the last click: a work day, then sign in again).
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", default=True)

# --- Single sign-on (OpenID Connect, mozilla-django-oidc) --------------------------------
# On when OIDC_RP_CLIENT_ID is set: the sign-in page offers "Sign in with single sign-on"
# (/oidc/authenticate/), people are found (or created) by their verified email, and their role
# follows their groups (safety_reset/core/oidc.py). Django accounts keep working beside it.
# The provider's endpoints come from its discovery document (/.well-known/openid-configuration).
OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env("OIDC_RP_CLIENT_SECRET", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env("OIDC_RP_SCOPES", default="openid email profile groups")
OIDC_USE_PKCE = True
OIDC_GROUPS_CLAIM = env("OIDC_GROUPS_CLAIM", default="groups")
OIDC_PROGRAM_MANAGER_GROUPS = env.list("OIDC_PROGRAM_MANAGER_GROUPS", default=["program_manager"])
OIDC_VIEWER_GROUPS = env.list("OIDC_VIEWER_GROUPS", default=["viewer"])
OIDC_SENIOR_GROUPS = env.list("OIDC_SENIOR_GROUPS", default=["senior"])
LOGIN_REDIRECT_URL_FAILURE = "login"
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.insert(1, "safety_reset.core.oidc.RoleMappingOIDCBackend")

# --- Failed-login throttling (django-axes) -----------------------------------------------
# AXES_FAILURE_LIMIT wrong passwords for one username from one IP address within
# AXES_COOLOFF_MINUTES lock that pair out until the window has passed since the last failure.
# Username *and* address: a stranger cannot lock a colleague out from elsewhere, and an office
# behind one NAT address is not locked out by one person's typos. Attempts are kept in the
# database, shared by every web process. Behind a proxy, set
# AXES_IPWARE_PROXY_COUNT so the client address is read from X-Forwarded-For.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# And per address across accounts (password spraying: a few guesses at each of many accounts):
# AXES_ADDRESS_FAILURE_LIMIT failures from one address in the window refuse every sign-in from
# it (safety_reset/core/auth.py). High enough for an office behind one NAT address.
AXES_ADDRESS_FAILURE_LIMIT = env.int("AXES_ADDRESS_FAILURE_LIMIT", default=20)
AXES_RESET_ON_SUCCESS = True
# The login form's field is "username" (it holds the email); axes would default to "email".
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=0) or None
AXES_VERBOSE = False
# Not in the admin: every admin page here is covered by tests/admin (query counts pinned per
# model) and axes' own admins are not; `manage.py axes_list_attempts` / `axes_reset_username`
# show and lift lockouts.
AXES_ENABLE_ADMIN = False

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
# Uploaded evidence: files under MEDIA_ROOT by default; with AWS_STORAGE_BUCKET_NAME set, an
# S3-compatible bucket through django-storages (AWS, or MinIO/Ceph/... with
# AWS_S3_ENDPOINT_URL). Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the
# machine's role, as boto3 finds them. Objects are private; downloads go through the app's
# own permission-checked view, never a public URL.
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    _default_storage: dict = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env("AWS_S3_REGION_NAME", default=None),
            "location": env("AWS_LOCATION", default=""),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
EVIDENCE_MAX_UPLOAD_BYTES = env.int("EVIDENCE_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)

# --- Uploads -----------------------------------------------------------------------------
# Every multipart file (evidence, the inventory import, page or API) is limited to
# UPLOAD_MAX_BYTES while it streams: the first handler counts the bytes and stops the parse
# past the limit, before the rest of the body is read (safety_reset/core/uploads.py). Files
# up to FILE_UPLOAD_MAX_MEMORY_SIZE stay in memory, larger ones go to a temporary file.
# Bodies that are not files (forms, JSON) are refused past DATA_UPLOAD_MAX_MEMORY_SIZE.
UPLOAD_MAX_BYTES = EVIDENCE_MAX_UPLOAD_BYTES
FILE_UPLOAD_HANDLERS = [
    "safety_reset.core.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)

# --- Content Security Policy (django-csp) ------------------------------------------------
# Scripts only from our own origin: no page needs an inline <script> or an event-handler
# attribute (htmx is a static file; the API docs use drf-spectacular's split view, which
# serves its start-up script as a file). Styles also allow 'unsafe-inline', deliberately:
# progress bars and the program timeline set `style="width: N%"` from data, and a nonce or a
# hash cannot cover attributes whose values vary; Swagger UI and htmx also add small <style>
# elements. With scripts locked down, inline CSS is a minor risk (templates autoescape).
# CSP_REPORT_ONLY=true sends the same policy as Content-Security-Policy-Report-Only.
_csp_policy = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
if env.bool("CSP_REPORT_ONLY", default=False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _csp_policy
else:
    CONTENT_SECURITY_POLICY = _csp_policy

# --- Email -------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Code Safety Reset <reset@example.com>")
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
# --- Slack (notifications/slack.py) --------------------------------------------------------
# With a bot token (scopes chat:write, im:write, users:read.email), notices and digests go to
# each person's Slack DM (found by email) and a team's channel; without one, or for someone
# without a Slack account, by email. SLACK_API_URL is for a stand-in in tests.
SLACK_BOT_TOKEN = env("SLACK_BOT_TOKEN", default="")
SLACK_API_URL = env("SLACK_API_URL", default="https://slack.com/api/")
SLACK_USER_CACHE_SECONDS = env.int("SLACK_USER_CACHE_SECONDS", default=60 * 60 * 24)

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
        # django-filter's, refusing unknown query parameters with a 400 (core/api.py).
        "safety_reset.core.api.StrictFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    # Per minute unless said: anonymous callers by address, people by account; writes and
    # imports stricter. Over a rate: 429 with Retry-After (safety_reset/core/api.py).
    "DEFAULT_THROTTLE_CLASSES": [
        "safety_reset.core.api.AnonThrottle",
        "safety_reset.core.api.UserThrottle",
        "safety_reset.core.api.WriteThrottle",
        "safety_reset.core.api.ImportThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_THROTTLE_ANON", default="30/min"),
        "user": env("API_THROTTLE_USER", default="600/min"),
        "writes": env("API_THROTTLE_WRITES", default="120/min"),
        "imports": env("API_THROTTLE_IMPORTS", default="10/hour"),
    },
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
    # /api/schema/ and /api/docs/ for anyone, or (API_DOCS_PUBLIC=false, the production
    # default, settings/production.py) only for a signed-in person or a token.
    "SERVE_PERMISSIONS": (
        ["rest_framework.permissions.AllowAny"]
        if env.bool("API_DOCS_PUBLIC", default=True)
        else ["safety_reset.core.api.IsActivePerson"]
    ),
    # The docs pages load Swagger UI / ReDoc from our own static files, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "SeverityEnum": "safety_reset.core.models.Severity",
        "ItemStatusEnum": "safety_reset.audits.models.ItemStatus",
        # A plan line's and the program's verdict (dashboards/plan.py).
        "VerdictStatusEnum": ["on_track", "at_risk", "off_track", "too_early"],
    },
}

# --- Repositories ------------------------------------------------------------------------
# Where repository status is pulled from (safety_reset/repo_status). GitHub Enterprise: set
# GITHUB_API_URL to https://HOST/api/v3. Lists take comma-separated values from the environment.
GITHUB_API_URL = env("GITHUB_API_URL", default="https://api.github.com")
GITHUB_TOKEN = env("GITHUB_TOKEN", default="")
# The secret GitHub signs webhook deliveries with (X-Hub-Signature-256); none: /hooks/github/
# refuses every delivery (401).
GITHUB_WEBHOOK_SECRET = env("GITHUB_WEBHOOK_SECRET", default="")
# Per-request timeout (seconds) and how long an ETag with its cached body is kept.
REPO_HTTP_TIMEOUT = env.float("REPO_HTTP_TIMEOUT", default=15.0)
REPO_ETAG_TTL = env.int("REPO_ETAG_TTL", default=14 * 24 * 3600)
# How far back the first pull of a repository reads merged changes; the AI-review control
# looks at the changes merged in this window.
REPO_CHANGES_WINDOW_DAYS = env.int("REPO_CHANGES_WINDOW_DAYS", default=30)
# How far before its program's start a repository's first pull reaches back (days): the pull
# reads every change merged since the earliest open program of the system started, less this;
# the AI-review control judges those merged since the start. Without a program, the window above.
REPO_PROGRAM_LOOKBACK_DAYS = env.int("REPO_PROGRAM_LOOKBACK_DAYS", default=0)
# The review gate: a commit status `code-safety-reset/review` on the head of every open pull
# request of a Tier-1 GitHub repository (the token needs Commit statuses: write).
REPO_REVIEW_GATE = env.bool("REPO_REVIEW_GATE", default=True)
# A label on a pull request that marks it AI-assisted.
REPO_AI_LABELS = env.list("REPO_AI_LABELS", default=["ai-assisted"])
# Who is an AI coding agent, by identity (never by name): GitHub logins and app bot accounts
# (a noreply address ID+LOGIN@users.noreply.github.com counts as its login) ...
REPO_AI_AGENT_LOGINS = env.list(
    "REPO_AI_AGENT_LOGINS",
    default=[
        "Copilot",
        "copilot-swe-agent[bot]",
        "devin-ai-integration[bot]",
        "chatgpt-codex-connector[bot]",
        "codex[bot]",
        "claude[bot]",
        "cursor[bot]",
        "google-labs-jules[bot]",
        "amazon-q-developer[bot]",
        "openhands-agent",
    ],
)
# ... and the commit addresses agents write as author or `Co-authored-by:`.
REPO_AI_AGENT_EMAILS = env.list(
    "REPO_AI_AGENT_EMAILS",
    default=[
        "noreply@anthropic.com",
        "cursoragent@cursor.com",
        "noreply@aider.chat",
        "openhands@all-hands.dev",
    ],
)
# Service accounts (logins or email addresses) that are bots although GitHub does not say so.
REPO_SERVICE_ACCOUNTS = env.list("REPO_SERVICE_ACCOUNTS", default=[])
# Commit trailers that mark a change AI-assisted (case-insensitive keys; a value of false, no,
# 0 or none does not count).
REPO_AI_TRAILERS = env.list(
    "REPO_AI_TRAILERS", default=["Assisted-by", "Generated-by", "AI-Assisted"]
)
# Commit trailers that record an approval in git-only repositories.
REPO_REVIEW_TRAILERS = env.list(
    "REPO_REVIEW_TRAILERS", default=["Reviewed-by", "Acked-by", "Approved-by"]
)
# Where plain-git providers keep their bare mirrors.
REPO_MIRROR_DIR = Path(env("REPO_MIRROR_DIR", default=str(VAR_DIR / "mirrors")))
# How often beat fans out a sync of every repository: REPO_SYNC_INTERVAL seconds (default
# 3600), read by safety_reset/celery.py.

# --- Program rules -----------------------------------------------------------------------
EXCEPTION_MAX_DAYS = env.int("EXCEPTION_MAX_DAYS", default=90)
REMINDER_DAILY_BUDGET = env.int("REMINDER_DAILY_BUDGET", default=1)

# --- Program archives --------------------------------------------------------------------
# The Ed25519 private key signing the close-out packs of `export_program` (safety_reset/archive):
# the path of a PEM file, or the PEM itself. Whoever verifies needs only the public key
# (`verify_program_archive --public-key`), so verifying cannot forge. `manage.py archive_keygen
# --out DIR` (or `openssl genpkey -algorithm ed25519`) makes a pair.
EXPORT_SIGNING_KEY = env("EXPORT_SIGNING_KEY", default="")

# --- Logging -----------------------------------------------------------------------------
# One line per record on standard output. LOG_FORMAT=json (production's default) writes JSON
# objects with `request_id` (the X-Request-ID of the request, carried into the Celery tasks it
# queued), `task_id` and `task_name`; LOG_FORMAT=plain is for people reading a terminal.
LOG_LEVEL = env("LOG_LEVEL", default="INFO")


def logging_config(log_format: str) -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "safety_reset.core.observability.RequestIdFilter"}},
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s "
                "%(task_id)s %(task_name)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": LOG_LEVEL},
        "loggers": {"django": {"handlers": ["console"], "level": "INFO", "propagate": False}},
    }


LOGGING = logging_config(env("LOG_FORMAT", default="plain"))

# --- Metrics (django-prometheus) ---------------------------------------------------------
# /metrics: request, database-free Django and Celery task metrics in Prometheus' format. Off
# unless METRICS_ENABLED; then only for METRICS_ALLOWED_IPS or a scraper sending
# `Authorization: Bearer METRICS_TOKEN`. Production allows no address by default: behind a
# proxy on the same machine every visitor would come from 127.0.0.1.
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=False)
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# Celery workers serve their own task metrics on this port (0: not served). Under gunicorn
# and prefork workers set PROMETHEUS_MULTIPROC_DIR so every process's counts are summed.
CELERY_METRICS_PORT = env.int("CELERY_METRICS_PORT", default=0)

# --- Error reporting (Sentry) ------------------------------------------------------------
# Only with SENTRY_DSN. No personal data is sent (send_default_pii off); SENTRY_ENVIRONMENT and
# SENTRY_TRACES_SAMPLE_RATE tune it.
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", default="production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        send_default_pii=False,
        integrations=[DjangoIntegration(), CeleryIntegration()],
    )
