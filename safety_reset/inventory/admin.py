"""Admin for orgs, teams, people, systems and repositories.

Every add and change of an org, team, person or system goes through `inventory.services`
(`ServiceAdminMixin`), so the admin keeps the rules the app keeps: a senior reviewer is a
senior and never the owner, a deactivated person owns nothing, a new system is enrolled in the
open programs of its scope, and the history names who did it. A person's sign-in fields
(password, staff and superuser flags, groups, permissions) stay Django's own.

Deletes are refused where they would take rules or records with them: people are switched off
(`is_active`), never deleted; a system with audits or remediation tasks, a team with people
or systems and an org with teams are not deleted here. Repositories are listed read-only:
they change in their system's "repositories" field (`system_update`), and the pull writes
their sync state.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import OuterRef, QuerySet
from django.http import HttpRequest
from rest_framework.authtoken.admin import TokenAdmin as DrfTokenAdmin
from rest_framework.authtoken.models import TokenProxy

from safety_reset.core.admin import (
    HTTPS_URL_FIELDS,
    EventAdmin,
    HistoryLinkMixin,
    ReadOnlyInline,
    ServiceAdminMixin,
    WorkflowRecordAdmin,
    count_column,
    count_of,
    input_filter,
)
from safety_reset.inventory import services
from safety_reset.inventory.models import Org, Person, Repository, System, Team

TeamEvent = apps.get_model("inventory", "TeamEvent")
SystemEvent = apps.get_model("inventory", "SystemEvent")

# --- Orgs and teams ----------------------------------------------------------------------


@admin.register(Org)
class OrgAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("name", "slug", "n_teams", "created_at")
    fields = ("name", "slug")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    n_teams = count_column(attr="n_teams", description="teams", model=Team, lookup="org__id__exact")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Org]:
        return (
            super()
            .get_queryset(request)
            .annotate(n_teams=count_of(Team.objects.filter(org=OuterRef("pk"))))
        )

    def service_save(self, request: HttpRequest, form: Any, change: bool) -> Org:
        data = form.cleaned_data
        if change:
            return services.org_update(
                actor=self.actor(request), org=form.instance, slug=data["slug"], name=data["name"]
            )
        return services.org_create(actor=self.actor(request), slug=data["slug"], name=data["name"])

    def has_delete_permission(self, request: HttpRequest, obj: Org | None = None) -> bool:
        # One at a time (no bulk delete that would skip this check), and only an empty org.
        if obj is None or obj.teams.exists():
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Team)
class TeamAdmin(ServiceAdminMixin, HistoryLinkMixin, admin.ModelAdmin):
    history_model = TeamEvent
    fields = ("name", "slug", "org", "slack_channel", "teams_webhook_url", "history")
    formfield_overrides = HTTPS_URL_FIELDS
    list_display = ("name", "slug", "org", "n_members", "n_systems")
    list_select_related = ("org",)
    list_filter = ("org",)
    search_fields = ("name", "slug", "org__name")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("history",)

    n_members = count_column(
        attr="n_members", description="people", model=Person, lookup="team__id__exact"
    )
    n_systems = count_column(
        attr="n_systems", description="systems", model=System, lookup="team__id__exact"
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_members=count_of(Person.objects.filter(team=OuterRef("pk"))),
                n_systems=count_of(System.objects.filter(team=OuterRef("pk"))),
            )
        )

    def service_save(self, request: HttpRequest, form: Any, change: bool) -> Team:
        data = form.cleaned_data
        fields = {"slug": data["slug"], "name": data["name"], "org": data["org"]}
        actor = self.actor(request)
        if change:
            team = services.team_update(actor=actor, team=form.instance, **fields)
        else:
            team = services.team_create(actor=actor, **fields)
        return services.team_set_channels(
            actor=actor,
            team=team,
            slack_channel=data.get("slack_channel", ""),
            teams_webhook_url=data.get("teams_webhook_url", ""),
        )

    def has_delete_permission(self, request: HttpRequest, obj: Team | None = None) -> bool:
        # Only an empty team: deleting one would quietly take its people off it.
        if obj is None or obj.members.exists() or obj.systems.exists():
            return False
        return super().has_delete_permission(request, obj)


# --- People ------------------------------------------------------------------------------

# The person fields `person_create` / `person_update` rule over, and the ones Django's user
# admin keeps (sign-in, permissions, email preferences).
PERSON_SERVICE_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "role",
    "is_senior",
    "team",
    "manager",
    "time_zone",
    "github_login",
)
PERSON_DJANGO_FIELDS = (
    "is_staff",
    "is_superuser",
    "digest_enabled",
    "reminders_enabled",
    "last_login",
    "date_joined",
)


def _person_as_saved(person: Person, data: dict[str, Any]) -> dict[str, Any]:
    """`person_update` replaces every field: those the form does not show stay as saved."""
    saved = Person.objects.get(pk=person.pk)
    out = {name: getattr(saved, name) for name in PERSON_SERVICE_FIELDS}
    if "is_active" in data:
        out["is_active"] = data["is_active"]
    return out


# Email is the login, stored lower-case and unique whatever its case: person_create and
# person_update say so (the model's own unique check is case-sensitive).


class PersonCreationForm(AdminUserCreationForm):
    class Meta:
        model = Person
        fields = ("email",)


class PersonChangeForm(UserChangeForm):
    class Meta:
        model = Person
        fields = ("email",)  # the admin's fieldsets add the rest


@admin.register(Person)
class PersonAdmin(ServiceAdminMixin, UserAdmin):
    """Django's user admin with the email address as the username.

    What the program rules over (email, names, role, seniority, team, manager, time zone,
    GitHub login, switching someone off) is written by `person_create` / `person_update`;
    the sign-in fields and email preferences are then saved as Django's user admin would.
    """

    form = PersonChangeForm
    add_form = PersonCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "time_zone", "github_login")}),
        ("In the program", {"fields": ("role", "team", "manager", "is_senior")}),
        ("Email", {"fields": ("digest_enabled", "reminders_enabled")}),
        (
            "Permissions",
            {
                "classes": ("collapse",),
                "fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions"),
            },
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
        (
            "In the program",
            {"fields": ("first_name", "last_name", "role", "team", "manager", "is_senior")},
        ),
    )
    list_display = (
        "email",
        "first_name",
        "last_name",
        "team",
        "role",
        "is_senior",
        "n_owned",
        "n_reviewed",
        "is_staff",
        "is_active",
        "last_login",
    )
    list_select_related = ("team",)
    list_filter = (
        "role",
        "is_senior",
        "is_staff",
        "is_superuser",
        "is_active",
        "digest_enabled",
        "team__org",
        input_filter("team (slug)", "team_slug", "team__slug__iexact"),
    )
    search_fields = ("email", "first_name", "last_name", "github_login", "team__name")
    ordering = ("email",)
    autocomplete_fields = ("team", "manager")
    show_full_result_count = False

    n_owned = count_column(
        attr="n_owned", description="owns", model=System, lookup="owner__id__exact"
    )
    n_reviewed = count_column(
        attr="n_reviewed",
        description="reviews",
        model=System,
        lookup="senior_reviewer__id__exact",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Person]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_owned=count_of(System.objects.filter(owner=OuterRef("pk"))),
                n_reviewed=count_of(System.objects.filter(senior_reviewer=OuterRef("pk"))),
            )
        )

    def service_save(self, request: HttpRequest, form: Any, change: bool) -> Person:
        data = form.cleaned_data
        ruled = {name: data[name] for name in PERSON_SERVICE_FIELDS if name in data}
        if change:
            person = services.person_update(
                actor=self.actor(request),
                person=form.instance,
                **{**_person_as_saved(form.instance, data), **ruled},
            )
        else:
            person = services.person_create(actor=self.actor(request), **ruled)
            if data.get("set_usable_password"):
                person.set_password(data["password1"])
                person.save(update_fields=["password"])
        own = [name for name in PERSON_DJANGO_FIELDS if name in data]
        for name in own:
            setattr(person, name, data[name])
        if own:
            person.save(update_fields=own)
        for name in ("groups", "user_permissions"):
            if name in data:
                getattr(person, name).set(data[name])
        return person

    def has_delete_permission(self, request: HttpRequest, obj: Person | None = None) -> bool:
        return False  # switch them off instead (is_active): their evidence and sign-offs stay


# DRF's API-token admin, fitted to 20,000 people: the user is joined in the list and picked by
# autocomplete in the form (DRF's own renders a select of every person).
admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class TokenAdmin(DrfTokenAdmin):
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    show_full_result_count = False


# --- Systems and repositories ------------------------------------------------------------


class RepositoryInline(ReadOnlyInline):
    model = Repository
    fields = ("provider", "full_name", "url", "default_branch", "last_synced_at", "last_error")
    show_change_link = True
    verbose_name_plural = "repositories (change them in the field above)"


class SystemAdminForm(forms.ModelForm):
    repositories = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="One repository URL per line (GitHub, GitLab or any git URL). A URL taken "
        "out is removed with its recorded changes; a new one starts unsynced.",
    )

    class Meta:
        model = System
        fields = ("slug",)  # the admin's fieldsets add the rest

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and "repositories" in self.fields:
            urls = self.instance.repositories.values_list("url", flat=True)
            self.initial.setdefault("repositories", "\n".join(urls))

    def clean_repositories(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["repositories"].splitlines()]


@admin.register(System)
class SystemAdmin(ServiceAdminMixin, HistoryLinkMixin, admin.ModelAdmin):
    history_model = SystemEvent
    form = SystemAdminForm
    list_display = (
        "slug",
        "name",
        "team",
        "owner",
        "senior_reviewer",
        "blast_radius",
        "tier",
        "is_active",
        "n_repositories",
    )
    list_select_related = ("team", "owner", "senior_reviewer")
    list_filter = (
        "blast_radius",
        "tier",
        "is_active",
        "team__org",
        input_filter("team (slug)", "team_slug", "team__slug__iexact"),
        input_filter("owner (email)", "owner_email", "owner__email__iexact"),
    )
    search_fields = ("slug", "name", "owner__email", "senior_reviewer__email", "team__name")
    search_help_text = "Slug, name, team, or the owner's or senior reviewer's email."
    autocomplete_fields = ("team", "owner", "senior_reviewer", "delegates", "depends_on")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("history",)
    show_full_result_count = False
    inlines = (RepositoryInline,)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("slug", "name"),
                    "description",
                    ("tier", "blast_radius", "is_active"),
                    "history",
                )
            },
        ),
        ("People", {"fields": ("team", "owner", "senior_reviewer", "delegates")}),
        ("Dependencies and code", {"fields": ("depends_on", "repositories")}),
    )

    n_repositories = count_column(
        attr="n_repositories",
        description="repositories",
        model=Repository,
        lookup="system__id__exact",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[System]:
        return (
            super()
            .get_queryset(request)
            .annotate(n_repositories=count_of(Repository.objects.filter(system=OuterRef("pk"))))
        )

    def service_save(self, request: HttpRequest, form: Any, change: bool) -> System:
        data = form.cleaned_data
        fields = {
            name: data[name]
            for name in (
                "slug",
                "name",
                "team",
                "owner",
                "senior_reviewer",
                "tier",
                "blast_radius",
                "description",
                "is_active",
            )
        }
        fields["delegates"] = list(data["delegates"])
        fields["depends_on"] = list(data["depends_on"])
        fields["repositories"] = data["repositories"]
        if change:
            return services.system_update(actor=self.actor(request), system=form.instance, **fields)
        return services.system_create(actor=self.actor(request), **fields)

    def has_delete_permission(self, request: HttpRequest, obj: System | None = None) -> bool:
        # Deleting a system deletes its audits, items, evidence, sign-offs and tasks with it:
        # only one never enrolled and without tasks goes, one at a time (no bulk delete).
        if obj is None or obj.audits.exists() or obj.tasks.exists():
            return False
        return super().has_delete_permission(request, obj)


class ProviderHasErrorFilter(admin.SimpleListFilter):
    title = "last pull"
    parameter_name = "pull"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("error", "Failed"), ("never", "Never pulled"), ("ok", "Succeeded")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "error":
            return queryset.exclude(last_error="")
        if self.value() == "never":
            return queryset.filter(last_synced_at__isnull=True)
        if self.value() == "ok":
            return queryset.filter(last_error="", last_synced_at__isnull=False)
        return queryset


@admin.register(Repository)
class RepositoryAdmin(WorkflowRecordAdmin):
    """Read-only: a system's repositories change through `system_update` (its admin's
    "repositories" field), and their sync state is written by the pull."""

    list_display = (
        "full_name",
        "system",
        "provider",
        "default_branch",
        "last_synced_at",
        "last_success_at",
        "has_error",
    )
    list_select_related = ("system",)
    list_filter = ("provider", ProviderHasErrorFilter, "last_synced_at", "system__team__org")
    search_fields = ("full_name", "url", "system__slug", "system__name")
    autocomplete_fields = ("system",)
    show_full_result_count = False

    @admin.display(description="error", boolean=True)
    def has_error(self, obj: Repository) -> bool:
        return bool(obj.last_error)


# --- History (read-only) -----------------------------------------------------------------


@admin.register(TeamEvent)
class TeamEventAdmin(EventAdmin):
    tracked_fields = ("slug", "name", "org")
    list_prefetch_related = ("org",)


@admin.register(SystemEvent)
class SystemEventAdmin(EventAdmin):
    tracked_fields = ("slug", "name", "team", "owner", "senior_reviewer", "blast_radius")
    event_filters = ("blast_radius", "is_active")
    list_select_related = ("pgh_context", "senior_reviewer")
    list_prefetch_related = ("team", "owner")
