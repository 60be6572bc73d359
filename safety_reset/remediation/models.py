"""Work that makes a failing checklist item pass (or follows up an incident)."""

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import F, Q

from safety_reset.audits.models import ChecklistItem
from safety_reset.core.models import Severity, TimeStampedModel
from safety_reset.incidents.models import Incident
from safety_reset.inventory.models import ReachedThroughSystem, System


class TaskState(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    BLOCKED = "blocked", "Blocked"
    DONE = "done", "Done"
    WONT_DO = "wont_do", "Won't do"


OPEN_TASK_STATES = (TaskState.OPEN, TaskState.IN_PROGRESS, TaskState.BLOCKED)


class TaskQuerySet(ReachedThroughSystem, models.QuerySet["RemediationTask"]):
    system_path = "system"


@pghistory.track()
class RemediationTask(TimeStampedModel):
    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="tasks")
    item = models.ForeignKey(
        ChecklistItem, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="followup_tasks"
    )
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks_assigned",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_on = models.DateField()
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.HIGH)
    state = models.CharField(max_length=12, choices=TaskState, default=TaskState.OPEN)
    ticket_url = models.URLField(blank=True, help_text="The task in an outside tracker.")
    closed_at = models.DateTimeField(null=True, blank=True)
    wont_do_reason = models.TextField(blank=True)
    wont_do_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    wont_do_agreed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = "remediation task"
        constraints = [
            models.CheckConstraint(
                condition=~Q(state=TaskState.WONT_DO)
                | (~Q(wont_do_reason="") & Q(wont_do_agreed_by__isnull=False)),
                name="task_wont_do_has_reason_and_agreement",
                violation_error_message="“Won't do” needs a reason and a senior's agreement.",
            ),
            models.CheckConstraint(
                condition=~Q(wont_do_agreed_by=F("wont_do_requested_by")),
                name="task_wont_do_agreed_by_another",
            ),
            models.CheckConstraint(
                condition=Q(state__in=OPEN_TASK_STATES, closed_at__isnull=True)
                | (~Q(state__in=OPEN_TASK_STATES) & Q(closed_at__isnull=False)),
                name="task_closed_at_matches_state",
            ),
        ]
        indexes = [
            models.Index(
                fields=["due_on"], condition=Q(state__in=OPEN_TASK_STATES), name="task_open_due_idx"
            ),
            models.Index(fields=["assignee", "state"], name="task_assignee_state_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_TASK_STATES
