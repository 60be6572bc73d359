"""Reads of the catalog: a program's controls with their item counts, and what changed."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from safety_reset.audits.models import Audit, ItemStatus
from safety_reset.core.history import Entry, HistorySource, event_model, history, verbs
from safety_reset.programs.models import Program

from .models import Catalog, Category, Control

# The item statuses counted per control, in the order the catalog page shows them.
STATUS_COLUMNS = (
    ItemStatus.PASSING,
    ItemStatus.FAILING,
    ItemStatus.NOT_ASSESSED,
    ItemStatus.EXCEPTED,
    ItemStatus.NOT_APPLICABLE,
)


def program_for_catalog(*, slug: str | None) -> Program | None:
    """The program whose catalog is shown: the one named, else the one running today."""
    programs = Program.objects.select_related("catalog")
    if slug:
        return programs.filter(slug=slug).first()
    today = timezone.now().date()
    running = programs.filter(start_date__lte=today).order_by("-start_date").first()
    return running or programs.order_by("-start_date").first()


def program_choices() -> list[Program]:
    return list(Program.objects.only("slug", "name", "start_date").order_by("-start_date"))


def catalog_controls(*, program: Program) -> QuerySet[Control]:
    """The program's controls, active and retired, each with its item count per status.

    One query: counts are conditional aggregates over the program's items of each control.
    """
    in_program = Q(items__audit__program=program)
    counts = {
        f"items_{status}": Count("items", filter=in_program & Q(items__status=status))
        for status in STATUS_COLUMNS
    }
    return (
        Control.objects.filter(catalog_id=program.catalog_id)
        .annotate(items_total=Count("items", filter=in_program), **counts)
        .order_by("position", "key")
    )


@dataclass(frozen=True)
class StatusCount:
    status: ItemStatus
    count: int
    percent: float


def status_counts(control: Control) -> list[StatusCount]:
    """A control's item counts per status (annotated by `catalog_controls`), with shares."""
    total = getattr(control, "items_total", 0) or 0
    counts = []
    for status in STATUS_COLUMNS:
        n = getattr(control, f"items_{status}", 0) or 0
        counts.append(StatusCount(status, n, round(100 * n / total, 2) if total else 0.0))
    return counts


@dataclass(frozen=True)
class CategoryGroup:
    key: str
    label: str
    controls: list[Control]


def group_by_category(controls: list[Control]) -> list[CategoryGroup]:
    """Controls in the catalog's category order (empty categories left out)."""
    groups = []
    for key, label in Category.choices:
        members = [c for c in controls if c.category == key]
        if members:
            groups.append(CategoryGroup(key, str(label), members))
    return groups


def program_audit_count(*, program: Program) -> int:
    return Audit.objects.filter(program=program).count()


CONTROL_FIELDS = ("key", "title", "guidance", "category", "severity", "evaluation", "retired_at")


def control_changes(
    *, catalog_id: int | None = None, control: Control | None = None, limit: int = 12
) -> list[Entry]:
    events = event_model(Control)._default_manager.all()
    if catalog_id is not None:
        events = events.filter(catalog_id=catalog_id)
    if control is not None:
        events = events.filter(pgh_obj_id=control.pk)
    source = HistorySource.of(
        Control,
        fields=CONTROL_FIELDS,
        subject=lambda event: event.title,
        url=lambda event: reverse("catalog:control_edit", args=[event.pgh_obj_id]),
        events=events,
        summarize=verbs({"add": "added", "update": "changed", "retire": "retired"}),
    )
    return history(sources=[source], limit=limit)


def control_items_count(*, control: Control) -> int:
    return control.items.count()


# --- Versions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    slug: str
    name: str
    versions: list[Catalog]  # newest first

    @property
    def draft(self) -> Catalog | None:
        return next((c for c in self.versions if c.published_at is None), None)

    @property
    def latest_published(self) -> Catalog | None:
        return next((c for c in self.versions if c.published_at is not None), None)


def catalog_families() -> list[Family]:
    """Every catalog family with its versions, newest first, each with its control count and
    the programs on it (2 queries)."""
    versions = (
        Catalog.objects.annotate(
            n_active=Count("controls", filter=Q(controls__retired_at__isnull=True), distinct=True)
        )
        .prefetch_related(
            Prefetch("programs", queryset=Program.objects.only("slug", "name", "catalog_id"))
        )
        .order_by("slug", "-version")
    )
    families: dict[str, Family] = {}
    for catalog in versions:
        families.setdefault(catalog.slug, Family(catalog.slug, catalog.name, [])).versions.append(
            catalog
        )
    return list(families.values())


def version_controls(*, catalog: Catalog) -> QuerySet[Control]:
    return Control.objects.filter(catalog=catalog).order_by("position", "key")


def catalog_by_ref(ref: str) -> Catalog | None:
    """The catalog a person names as ``SLUG`` (its latest published version) or
    ``SLUG@VERSION`` (that version, draft or not: the caller's rules refuse a draft)."""
    slug, _, version = ref.strip().partition("@")
    found = Catalog.objects.filter(slug=slug)
    if version:
        if not version.isdigit():
            return None
        return found.filter(version=int(version)).first()
    return found.filter(published_at__isnull=False).order_by("-version").first()
