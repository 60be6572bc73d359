"""Request ids in logs (web and Celery), Celery task metrics, and the restricted /metrics view.

- `RequestIdMiddleware` takes the caller's `X-Request-ID` (a proxy or load balancer usually sets
  one) or makes one, keeps it in a context variable for the request, and sends it back.
- `RequestIdFilter` puts it (and, in a worker, the task's id and name) on every log record, so
  the JSON formatter writes them as fields.
- Celery signals carry it into tasks: `before_task_publish` adds it to the message headers,
  `task_prerun` restores it in the worker, `task_postrun` clears it. The same signals count
  tasks for Prometheus (published, succeeded, failed, retried).
"""

from __future__ import annotations

import hmac
import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from celery import signals
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import Counter, Gauge, Histogram

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only if it looks like an id (no log injection, bounded length).
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
task_var: ContextVar[tuple[str, str] | None] = ContextVar("celery_task", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()


class RequestIdMiddleware:
    """Gives every request an id (the caller's `X-Request-ID` when valid) for its logs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds `request_id`, `task_id` and `task_name` (None outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        task = task_var.get()
        record.task_id, record.task_name = task if task else (None, None)
        return True


# --- Celery: request ids into tasks, and task counts ----------------------------------------
TASKS_PUBLISHED = Counter(
    "celery_tasks_published_total", "Celery tasks queued by this process", ["task"]
)
TASKS_FINISHED = Counter(
    "celery_tasks_total",
    "Celery tasks run by this process, by final state",
    ["task", "state"],
)
TASK_RUNTIME = Histogram("celery_task_runtime_seconds", "Celery task run time", ["task"])


@signals.before_task_publish.connect
def _publish_request_id(
    sender: str | None = None, headers: dict[str, Any] | None = None, **kwargs: Any
) -> None:
    request_id = request_id_var.get()
    if headers is not None and request_id and "request_id" not in headers:
        headers["request_id"] = request_id
    TASKS_PUBLISHED.labels(task=sender or "unknown").inc()


_task_tokens: dict[str, tuple[Any, Any]] = {}


@signals.task_prerun.connect
def _restore_request_id(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    request_id = getattr(task.request, "request_id", None) if task is not None else None
    name = getattr(task, "name", "unknown")
    tokens = (request_id_var.set(request_id), task_var.set((task_id or "", name)))
    if task_id:
        _task_tokens[task_id] = tokens


@signals.task_postrun.connect
def _clear_request_id(task_id: str | None = None, **kwargs: Any) -> None:
    tokens = _task_tokens.pop(task_id or "", None)
    if tokens is not None:
        request_token, task_token = tokens
        try:
            request_id_var.reset(request_token)
            task_var.reset(task_token)
        except ValueError:  # set in another context (an eager call inside a request)
            request_id_var.set(None)
            task_var.set(None)


@signals.task_success.connect
def _count_success(sender: Any = None, **kwargs: Any) -> None:
    TASKS_FINISHED.labels(task=getattr(sender, "name", "unknown"), state="success").inc()


@signals.task_failure.connect
def _count_failure(sender: Any = None, **kwargs: Any) -> None:
    TASKS_FINISHED.labels(task=getattr(sender, "name", "unknown"), state="failure").inc()


@signals.task_retry.connect
def _count_retry(sender: Any = None, **kwargs: Any) -> None:
    TASKS_FINISHED.labels(task=getattr(sender, "name", "unknown"), state="retry").inc()


# --- /metrics ---------------------------------------------------------------------------------
# The same checks as /readyz/, run when /metrics is scraped (bounded by the probe's deadline).
CHECK_UP = Gauge(
    "safety_reset_check_up",
    "1 when the /readyz/ check answers, 0 when it fails (database, cache, broker, worker, beat)",
    ["check"],
    multiprocess_mode="mostrecent",
)
READY = Gauge(
    "safety_reset_ready",
    "1 when /readyz/ would answer 200",
    multiprocess_mode="mostrecent",
)


def _record_checks() -> None:
    from .health import readiness

    ready, checks = readiness()
    for name, result in checks.items():
        CHECK_UP.labels(check=name).set(1 if result == "ok" else 0)
    READY.set(1 if ready else 0)


def metrics_allowed(request: HttpRequest) -> bool:
    """From an address in METRICS_ALLOWED_IPS, or with `Authorization: Bearer METRICS_TOKEN`."""
    if request.META.get("REMOTE_ADDR") in settings.METRICS_ALLOWED_IPS:
        return True
    token = settings.METRICS_TOKEN
    if not token:
        return False
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics; 404 when disabled, 403 to anyone not allowed (see metrics_allowed)."""
    from django_prometheus.exports import ExportToDjangoView  # type: ignore[import-untyped]

    if not settings.METRICS_ENABLED:
        raise Http404
    if not metrics_allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    _record_checks()
    return ExportToDjangoView(request)
