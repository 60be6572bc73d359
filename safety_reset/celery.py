"""The Celery app. The beat schedule lives here, in code; beat runs exactly once per deployment."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safety_reset.settings.local")

app = Celery("safety_reset")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Heartbeat: proves beat and a worker are alive (/readyz/ reads it).
    "beat-heartbeat": {
        "task": "safety_reset.core.tasks.beat_heartbeat",
        "schedule": 60.0,
    },
    # Approved exceptions past their expiry end; their items are failing again.
    "daily-expire-exceptions": {
        "task": "safety_reset.audits.tasks.expire_waivers",
        "schedule": crontab(hour=0, minute=20),
    },
    # Tell both signers when a regression revoked their sign-off (each notice sent once).
    "notify-revoked-signoffs": {
        "task": "safety_reset.notifications.tasks.notify_revoked_signoffs",
        "schedule": 300.0,
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
