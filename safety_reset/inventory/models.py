"""Teams, people, systems and the repositories their code lives in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Self, cast

import pghistory
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import F, Q

from safety_reset.core.models import TimeStampedModel, validate_time_zone

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser


class Org(TimeStampedModel):
    """A part of the company that groups teams (e.g. “Retail Checkout”)."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


@pghistory.track()
class Team(TimeStampedModel):
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="teams")
    # Where the team's notices and weekly summary go besides each person's own channel.
    slack_channel = models.CharField(
        max_length=80,
        blank=True,
        help_text="Slack channel ID (e.g. C0123456789) for the team's notices and summary.",
    )
    teams_webhook_url = models.URLField(
        "Microsoft Teams Workflows URL",
        max_length=1000,
        blank=True,
        help_text="A Teams Workflows (incoming webhook) URL: the team's notices and weekly "
        "summary are posted there as Adaptive Cards.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="team_name_unique_in_org"),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    """A person's program-wide role. Owner and senior reviewer come from system assignments."""

    MEMBER = "member", "Member"
    PROGRAM_MANAGER = "program_manager", "Program manager"
    VIEWER = "viewer", "Viewer"


class PersonManager(BaseUserManager["Person"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> Person:
        if not email:
            raise ValueError("A person needs an email address.")
        person = self.model(email=self.normalize_email(email).lower(), **extra)
        person.set_password(password)
        person.save(using=self._db)
        return person

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> Person:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> Person:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", Role.PROGRAM_MANAGER)
        return self._create(email, password, **extra)


class Person(AbstractUser):
    """Someone who uses the app. Signs in with their email address."""

    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    role = models.CharField(max_length=20, choices=Role, default=Role.MEMBER)
    is_senior = models.BooleanField(
        "senior engineer", default=False, help_text="May be a system's senior reviewer."
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    github_login = models.CharField(max_length=100, blank=True, db_index=True)
    digest_enabled = models.BooleanField("weekly digest", default=True)
    reminders_enabled = models.BooleanField("deadline reminders", default=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = PersonManager()  # type: ignore[assignment,misc]

    class Meta:
        ordering = ["last_name", "first_name", "email"]
        verbose_name = "person"
        verbose_name_plural = "people"

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    @property
    def is_program_manager(self) -> bool:
        return self.role == Role.PROGRAM_MANAGER or self.is_superuser

    @property
    def is_deactivated(self) -> bool:
        """Switched off after having signed in. A *pending* person (created inactive by an
        import or a program manager, never signed in yet) is not deactivated and may be named
        owner or reviewer."""
        return not self.is_active and self.last_login is not None

    @property
    def sees_everything(self) -> bool:
        """Program managers and viewers read the whole program."""
        return self.is_program_manager or self.role == Role.VIEWER


class BlastRadius(models.TextChoices):
    """Scope of customer impact when the system fails; the weight drives risk-weighted progress."""

    LOW = "low", "Low — one internal team"
    MEDIUM = "medium", "Medium — one customer feature"
    HIGH = "high", "High — a customer journey"
    CRITICAL = "critical", "Critical — site-wide"


BLAST_RADIUS_WEIGHT = {
    BlastRadius.LOW: 1,
    BlastRadius.MEDIUM: 2,
    BlastRadius.HIGH: 4,
    BlastRadius.CRITICAL: 8,
}


class SystemQuerySet(models.QuerySet["System"]):
    def visible_to(self, user: Person | AnonymousUser) -> SystemQuerySet:
        """The one visibility rule: who may read which system.

        Program managers and viewers see every system; everyone else sees the systems they own,
        are a delegate or the senior reviewer of, and those of their own team.
        """
        if not user.is_authenticated or not user.is_active:
            return self.none()
        assert isinstance(user, Person)
        if user.sees_everything:
            return self
        rule = Q(owner=user) | Q(senior_reviewer=user) | Q(delegates=user)
        if user.team_id is not None:
            rule |= Q(team_id=user.team_id)
        # The delegate join can repeat rows; filter by id to keep one row per system.
        return self.filter(id__in=System.objects.filter(rule).values("id"))


class ReachedThroughSystem:
    """The queryset of a record a person reaches through a system (an audit, an item, its
    evidence, a task, a change …): `visible_to(user)` is the system's rule, applied along
    `system_path`, so there is one visibility door for every such model.

        class ItemQuerySet(ReachedThroughSystem, models.QuerySet["ChecklistItem"]):
            system_path = "audit__system"

    `many`: the path crosses a many-to-many (an incident's systems); the records are then
    picked by id, so each appears once.
    """

    system_path: ClassVar[str] = "system"
    many: ClassVar[bool] = False

    def visible_to(self, user: Person | AnonymousUser) -> Self:
        records = cast("models.QuerySet[Any]", self)
        if not user.is_authenticated or not user.is_active:
            return cast("Self", records.none())
        assert isinstance(user, Person)
        if user.sees_everything:
            return self
        systems = System.objects.visible_to(user).values("id")
        lookup = {f"{self.system_path}__in": systems}
        if self.many:
            ids = records.model._default_manager.filter(**lookup).values("pk")
            return cast("Self", records.filter(pk__in=ids))
        return cast("Self", records.filter(**lookup))


@pghistory.track()
class System(TimeStampedModel):
    """A Tier-1 service in the program's scope."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    tier = models.PositiveSmallIntegerField(default=1)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="systems")
    owner = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="systems_owned")
    senior_reviewer = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="systems_reviewed",
        help_text="The second pair of eyes; never the owner.",
    )
    delegates = models.ManyToManyField(
        Person,
        blank=True,
        related_name="systems_delegated",
        help_text="People who may work the checklist for the owner.",
    )
    blast_radius = models.CharField(max_length=10, choices=BlastRadius, default=BlastRadius.MEDIUM)
    depends_on = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="dependents"
    )
    is_active = models.BooleanField(default=True)

    objects = SystemQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(senior_reviewer=F("owner")),
                name="system_senior_reviewer_not_owner",
                violation_error_message="A system's senior reviewer cannot be its owner.",
            ),
            models.CheckConstraint(
                condition=Q(tier__gte=1) & Q(tier__lte=4), name="system_tier_1_to_4"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def blast_weight(self) -> int:
        return BLAST_RADIUS_WEIGHT[BlastRadius(self.blast_radius)]


class Provider(models.TextChoices):
    GITHUB = "github", "GitHub"
    GITLAB = "gitlab", "GitLab"
    GIT = "git", "Plain git"


class RepositoryQuerySet(ReachedThroughSystem, models.QuerySet["Repository"]):
    system_path = "system"


class Repository(TimeStampedModel):
    """Where a system's code lives, and what was last pulled from it."""

    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="repositories")
    provider = models.CharField(max_length=10, choices=Provider, default=Provider.GITHUB)
    url = models.CharField(max_length=500, help_text="Web or clone URL, or a local path.")
    full_name = models.CharField(max_length=300, help_text="owner/name on the forge.")
    default_branch = models.CharField(max_length=200, blank=True)
    status = models.JSONField(default=dict, blank=True, help_text="What the last pull saw.")
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    objects = RepositoryQuerySet.as_manager()

    class Meta:
        ordering = ["full_name"]
        verbose_name_plural = "repositories"
        constraints = [
            models.UniqueConstraint(
                fields=["system", "url"], name="repository_url_unique_per_system"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.url
