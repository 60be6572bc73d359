"""Merged changes pulled from repositories, and whether their review met the rule."""

from django.db import models

from safety_reset.inventory.models import ReachedThroughSystem, Repository


class ChangeQuerySet(ReachedThroughSystem, models.QuerySet["ChangeReviewRecord"]):
    system_path = "repository__system"


class ChangeReviewRecord(models.Model):
    """One merged change (a pull request, or a commit of a plain git repository) and how it
    was reviewed.

    The rule: an AI-assisted change needs two approvals from distinct humans after its last
    push, one of them by a senior reviewer of the system.
    """

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="changes")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=500)
    url = models.URLField(max_length=500, blank=True)
    author_login = models.CharField(max_length=100)
    merged_at = models.DateTimeField(db_index=True)
    head_sha = models.CharField(max_length=64, blank=True)
    sha = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="The change's commit on the default branch (a pull request's merge commit).",
    )
    bot_author = models.BooleanField(
        default=False, help_text="Authored by a bot or an AI agent (identity.classify)."
    )
    ai_assisted = models.BooleanField(default=False, db_index=True)
    ai_signals = models.JSONField(
        default=list, blank=True, help_text="Why it counts as AI-assisted."
    )
    approvals = models.JSONField(default=list, blank=True, help_text="Approvals that count.")
    approval_count = models.PositiveSmallIntegerField(default=0)
    senior_approved = models.BooleanField(default=False)
    compliant = models.BooleanField(default=False)
    last_push_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The newest commit of the change: approvals must follow it.",
    )
    findings = models.JSONField(
        default=list, blank=True, help_text="Why approvals did not count, what is missing."
    )
    fetched_at = models.DateTimeField(auto_now=True)

    objects = ChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-merged_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "number"], name="change_unique_per_repository"
            ),
            models.UniqueConstraint(
                fields=["repository", "sha"],
                condition=~models.Q(sha=""),
                name="change_unique_sha_per_repository",
            ),
        ]
        indexes = [
            models.Index(
                fields=["repository", "-merged_at"],
                condition=models.Q(ai_assisted=True),
                name="change_ai_recent_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.repository} #{self.number}"

    def commit_url(self, sha: str) -> str:
        """The provider's page of one commit of the change; "" where there is no web page
        (plain git). Reads only the repository row (select_related it in lists)."""
        repo = self.repository
        base = (repo.url or "").removesuffix(".git").rstrip("/")
        if not sha or repo.provider != "github" or not base.startswith(("https://", "http://")):
            return ""
        return f"{base}/commit/{sha}"

    @property
    def commits(self) -> list[tuple[str, str]]:
        """(short sha, URL or "") of the change's commit and, when it differs, its head."""
        shas = [s for s in dict.fromkeys([self.sha, self.head_sha]) if s]
        return [(s[:7], self.commit_url(s)) for s in shas]


class WebhookDelivery(models.Model):
    """One GitHub webhook delivery received, by its X-GitHub-Delivery id: a redelivery of the
    same id is answered without being evaluated a second time."""

    delivery_id = models.CharField(max_length=100, unique=True)
    event = models.CharField(max_length=60)
    action = models.CharField(max_length=60, blank=True)
    repository_full_name = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event} {self.delivery_id}"


class ReviewGateStatus(models.Model):
    """The last commit status the review gate posted on a pull request's head commit: the
    gate posts only when the state or the description changes (GitHub keeps every status it
    is sent, so posting the same one again would only add noise and spend rate limit)."""

    repository = models.ForeignKey(
        Repository, on_delete=models.CASCADE, related_name="gate_statuses"
    )
    sha = models.CharField(max_length=64)
    context = models.CharField(max_length=100)
    pull_number = models.PositiveIntegerField()
    state = models.CharField(max_length=20)
    description = models.CharField(max_length=140)
    target_url = models.URLField(max_length=500, blank=True)
    posted_at = models.DateTimeField()

    class Meta:
        ordering = ["-posted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "sha", "context"], name="gate_status_unique_per_commit"
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=["pending", "success", "failure", "error"]),
                name="gate_status_state_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.repository} {self.sha[:7]} {self.state}"
