"""Request ids in logs and into Celery tasks, JSON log lines, /metrics and its restriction,
Celery task counts, and Sentry switched on by SENTRY_DSN.

The Celery test runs a real worker (in a thread, solo pool) on the test's Redis broker; the
task is queued from inside a real request, and its log record carries that request's id.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import Client, override_settings
from django.urls import path
from prometheus_client import REGISTRY

from safety_reset import urls as project_urls
from safety_reset.celery import app as celery_app
from safety_reset.core.observability import RequestIdFilter, current_request_id
from safety_reset.settings.base import logging_config
from tests.test_deploy_check import BASE_DIR, production_env

task_log = logging.getLogger("tests.observability")
records: list[logging.LogRecord] = []


class _Collect(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        records.append(record)


@celery_app.task(name="tests.observability.log_something")
def log_something(marker: str) -> None:
    task_log.warning("task ran %s", marker)


def queue_task(request: HttpRequest) -> HttpResponse:
    marker = request.GET["marker"]
    task_log.warning("view queued %s", marker)
    log_something.delay(marker)
    return JsonResponse({"request_id": current_request_id()})


def boom_task_failure() -> None:
    raise RuntimeError("task failed on purpose")


urlpatterns = [*project_urls.urlpatterns, path("test-queue/", queue_task)]


@pytest.fixture
def collected():
    handler = _Collect()
    handler.addFilter(RequestIdFilter())
    task_log.addHandler(handler)
    task_log.setLevel(logging.INFO)
    records.clear()
    yield records
    task_log.removeHandler(handler)


def test_every_response_has_a_request_id_and_keeps_a_valid_incoming_one(client: Client) -> None:
    made = client.get("/healthz/")["X-Request-ID"]
    assert len(made) == 32
    assert client.get("/healthz/")["X-Request-ID"] != made
    assert client.get("/healthz/", HTTP_X_REQUEST_ID="lb-1234.abc")["X-Request-ID"] == "lb-1234.abc"
    # Not an id (spaces, a newline): replaced, never copied into logs.
    forged = client.get("/healthz/", HTTP_X_REQUEST_ID="x\nFAKE LOG LINE")["X-Request-ID"]
    assert forged != "x\nFAKE LOG LINE"
    assert len(forged) == 32


@pytest.mark.django_db(transaction=True)
@override_settings(ROOT_URLCONF=__name__)
def test_request_id_is_carried_into_the_celery_task(client: Client, collected) -> None:
    marker = uuid.uuid4().hex
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        response = client.get("/test-queue/", {"marker": marker}, HTTP_X_REQUEST_ID="req-42")
        assert response.json() == {"request_id": "req-42"}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(
            r.getMessage() == f"task ran {marker}" for r in collected
        ):
            time.sleep(0.1)

    view_record = next(r for r in collected if r.getMessage() == f"view queued {marker}")
    task_record = next(r for r in collected if r.getMessage() == f"task ran {marker}")
    assert view_record.request_id == "req-42"
    assert view_record.task_id is None
    assert task_record.request_id == "req-42"
    assert task_record.task_name == "tests.observability.log_something"
    assert task_record.task_id
    assert current_request_id() is None  # nothing leaks out of the request


def test_json_log_lines_carry_the_request_and_task_fields() -> None:
    config = logging_config("json")
    formatter_config = dict(config["formatters"]["json"])
    factory = formatter_config.pop("()")
    module, name = factory.rsplit(".", 1)
    formatter = getattr(__import__(module, fromlist=[name]), name)(**formatter_config)
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    RequestIdFilter().filter(record)
    line = json.loads(formatter.format(record))
    assert line["message"] == "hello world"
    assert line["level"] == "INFO"
    assert line["logger"] == "app"
    assert {"time", "request_id", "task_id", "task_name"} <= line.keys()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@override_settings(METRICS_ENABLED=True, METRICS_ALLOWED_IPS=["127.0.0.1"])
def test_metrics_include_requests_and_celery_task_counts(client: Client) -> None:
    name = "tests.observability.log_something"
    ok_before = sample("celery_tasks_total", task=name, state="success")
    log_something.apply(args=["metrics"])  # runs in this process; the signals count it
    assert sample("celery_tasks_total", task=name, state="success") == ok_before + 1

    failing = celery_app.task(name="tests.observability.boom")(boom_task_failure)
    failed_before = sample("celery_tasks_total", task="tests.observability.boom", state="failure")
    failing.apply()
    assert (
        sample("celery_tasks_total", task="tests.observability.boom", state="failure")
        == failed_before + 1
    )

    response = client.get("/metrics")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'celery_tasks_total{state="success",task="tests.observability.log_something"}' in body
    assert 'celery_tasks_total{state="failure",task="tests.observability.boom"}' in body
    assert "django_http_requests_total_by_method_total" in body


def test_metrics_are_off_by_default_and_restricted_when_on(client: Client) -> None:
    assert client.get("/metrics").status_code == 404
    with override_settings(METRICS_ENABLED=True, METRICS_ALLOWED_IPS=[], METRICS_TOKEN=""):
        assert client.get("/metrics").status_code == 403
    with override_settings(METRICS_ENABLED=True, METRICS_ALLOWED_IPS=[], METRICS_TOKEN="s3cret"):
        assert client.get("/metrics").status_code == 403
        wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
        assert wrong.status_code == 403
        right = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret")
        assert right.status_code == 200
    with override_settings(METRICS_ENABLED=True, METRICS_ALLOWED_IPS=["10.1.2.3"]):
        assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
        assert client.get("/metrics").status_code == 403


def test_sentry_is_on_only_with_a_dsn() -> None:
    code = (
        "import sentry_sdk; c = sentry_sdk.get_client(); "
        "print(c.is_active(), c.dsn, c.options['send_default_pii'])"
    )

    def run(**env: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=BASE_DIR,
            env=production_env(DJANGO_SETTINGS_MODULE="safety_reset.settings.production", **env),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout.strip().splitlines()[-1]

    assert run().startswith("False")
    dsn = "http://public@127.0.0.1:9/1"
    assert run(SENTRY_DSN=dsn) == f"True {dsn} False"
