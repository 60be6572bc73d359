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
    # One progress snapshot per program per day; safe to run more often.
    "daily-progress-snapshot": {
        "task": "safety_reset.dashboards.tasks.take_snapshots",
        "schedule": crontab(minute=15),
    },
}
