"""Admin for orgs, teams, people, systems and repositories."""

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
    EventAdmin,
    HistoryLinkMixin,
    count_column,
    count_of,
    input_filter,
)
from safety_reset.inventory.models import Org, Person, Repository, System, Team

TeamEvent = apps.get_model("inventory", "TeamEvent")
SystemEvent = apps.get_model("inventory", "SystemEvent")

# --- Orgs and teams ----------------------------------------------------------------------


@admin.register(Org)
class OrgAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "n_teams", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    n_teams = count_column(attr="n_teams", description="teams", model=Team, lookup="org__id__exact")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Org]:
        return (
            super()
            .get_queryset(request)
            .annotate(n_teams=count_of(Team.objects.filter(org=OuterRef("pk"))))
        )


@admin.register(Team)
class TeamAdmin(HistoryLinkMixin, admin.ModelAdmin):
    history_model = TeamEvent
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


# --- People ------------------------------------------------------------------------------


class _EmailFormMixin(forms.ModelForm):
    """Email is the login: stored lower-case, unique whatever its case."""

    def clean_email(self) -> str:
        email = Person.objects.normalize_email(self.cleaned_data["email"]).strip().lower()
        clash = Person.objects.filter(email__iexact=email).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("A person with this email address already exists.")
        return email


class PersonCreationForm(_EmailFormMixin, AdminUserCreationForm):
    class Meta:
        model = Person
        fields = ("email",)


class PersonChangeForm(_EmailFormMixin, UserChangeForm):
    class Meta:
        model = Person
        fields = ("email",)  # the admin's fieldsets add the rest


@admin.register(Person)
class PersonAdmin(UserAdmin):
    """Django's user admin with the email address as the username."""

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


# DRF's API-token admin, fitted to 20,000 people: the user is joined in the list and picked by
# autocomplete in the form (DRF's own renders a select of every person).
admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class TokenAdmin(DrfTokenAdmin):
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    show_full_result_count = False


# --- Systems and repositories ------------------------------------------------------------


class RepositoryInline(admin.TabularInline):
    model = Repository
    fields = ("provider", "full_name", "url", "default_branch", "last_synced_at", "last_error")
    readonly_fields = ("last_synced_at", "last_error")
    extra = 0
    show_change_link = True


@admin.register(System)
class SystemAdmin(HistoryLinkMixin, admin.ModelAdmin):
    history_model = SystemEvent
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
        ("Dependencies", {"fields": ("depends_on",)}),
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
class RepositoryAdmin(admin.ModelAdmin):
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
