"""The Celery app. The beat schedule lives here, in code; beat runs exactly once per deployment."""

import os
from typing import Any

from celery import Celery, signals
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safety_reset.settings.local")

app = Celery("safety_reset")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Request ids carried from the web request into its tasks, and task counts for Prometheus: the
# signal handlers live in safety_reset/core/observability.py and connect when it is imported.
import safety_reset.core.observability  # noqa: E402, F401


@signals.worker_ready.connect
def _serve_worker_metrics(**kwargs: Any) -> None:
    """With CELERY_METRICS_PORT, this worker serves its task metrics for Prometheus."""
    from django.conf import settings
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server

    port = settings.CELERY_METRICS_PORT
    if not port:
        return
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    start_http_server(port, registry=registry)


app.conf.beat_schedule = {
    # Heartbeat: beat records one as it publishes, the worker that runs it another (/readyz/).
    "beat-heartbeat": {
        "task": "safety_reset.core.tasks.beat_heartbeat",
        "schedule": 60.0,
    },
    # Approved exceptions past their expiry end; their items are failing again.
    "daily-expire-exceptions": {
        "task": "safety_reset.audits.tasks.expire_waivers",
        "schedule": crontab(hour=0, minute=20),
    },
    # The register's two controls fail for systems whose identities' attestations lapsed.
    "daily-reevaluate-lapsed-attestations": {
        "task": "safety_reset.identities.tasks.reevaluate_lapsed_attestations",
        "schedule": crontab(hour=0, minute=30),
    },
    # Tell both signers when a regression revoked their sign-off (each notice sent once).
    "notify-revoked-signoffs": {
        "task": "safety_reset.notifications.tasks.notify_revoked_signoffs",
        "schedule": 300.0,
    },
    # Event notices held back by a person's budget (one message an hour, quiet hours, "daily").
    "deliver-notices": {
        "task": "safety_reset.notifications.tasks.deliver_notices",
        "schedule": 300.0,
        "options": {"expires": 280},
    },
    # Each team's weekly summary to its Teams Workflows URL and Slack channel (Monday morning).
    "weekly-team-summaries": {
        "task": "safety_reset.notifications.tasks.send_team_summaries",
        "schedule": crontab(day_of_week=1, hour=8, minute=20),
        "options": {"expires": 3000},
    },
    # Weekly digests: hourly; each person gets theirs from Monday 08:00 in their zone (a run
    # missed then is caught up by the next one that week; see docs/operations.md).
    "hourly-weekly-digests": {
        "task": "safety_reset.notifications.tasks.send_digests",
        "schedule": crontab(minute=5),
        "options": {"expires": 3000},
    },
    # Deadline reminders (from 08:00 local, caught up later that day, at most one mail a day)
    # and weekly escalations.
    "hourly-reminders": {
        "task": "safety_reset.notifications.tasks.send_reminders",
        "schedule": crontab(minute=10),
        "options": {"expires": 3000},
    },
    # One progress snapshot per program per day; safe to run more often.
    "daily-progress-snapshot": {
        "task": "safety_reset.dashboards.tasks.take_snapshots",
        "schedule": crontab(minute=15),
    },
    # Pull every repository (one task per repository); conditional requests make it cheap.
    "sync-repositories": {
        "task": "safety_reset.repo_status.tasks.sync_all_repositories",
        "schedule": float(os.environ.get("REPO_SYNC_INTERVAL", "3600")),
        "options": {"expires": 1800},
    },
}
