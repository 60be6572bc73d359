"""Shared pieces of the admin: related-row counts without N+1, links, filters, history, and
writes through the services (`ServiceAdminMixin`).

Every change list in the project is a fixed number of queries whatever the row count:
columns that follow a foreign key come from `list_select_related`, and counts of related rows
come from correlated subqueries (`count_of`) annotated in `get_queryset`, never from a query
per row. Counts are subqueries rather than `Count()` + GROUP BY so that the database only
counts for the rows of the page it returns, not for the whole table before the LIMIT.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import F, Func, IntegerField, Subquery
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

# URL form fields assume https for a bare "example.com" (Django 6's default; the old http default
# warns on every form with a URLField until then).
HTTPS_URL_FIELDS: dict[type[models.Field[Any, Any]], dict[str, Any]] = {
    models.URLField: {"assume_scheme": "https"},
}


def count_of(queryset: models.QuerySet[Any]) -> Subquery:
    """`(SELECT COUNT(*) …)` of a correlated queryset (one filtered with `OuterRef("pk")`).

    `COUNT` is written as a plain function, not an aggregate, so Django adds no GROUP BY and the
    subquery always returns exactly one row (0 when nothing matches).
    """
    counted = queryset.order_by().annotate(
        n=Func(F("pk"), function="COUNT", output_field=IntegerField())
    )
    return Subquery(counted.values("n"), output_field=IntegerField())


def changelist_url(model: type[models.Model], **lookups: Any) -> str:
    """The admin change list of `model`, filtered by `lookups` (e.g. `team__id__exact=3`)."""
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(lookups)}" if lookups else url


def change_url(model: type[models.Model], pk: Any) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])


def count_column(
    *,
    attr: str,
    description: str,
    model: type[models.Model],
    lookup: str,
    also: dict[str, str] | None = None,
    sortable: bool = True,
) -> Callable[[Any, Any], str]:
    """A change-list column showing an annotated count, linked to the filtered related list.

    `attr` is the annotation made in the admin's `get_queryset` (see `count_of`); `lookup` is the
    filter on `model` that selects the related rows, e.g. `system__id__exact`; `also` adds fixed
    filters to the link (e.g. `{"status__exact": "failing"}`). Sorting by a count computes it
    for every row of the table, so on the biggest tables pass `sortable=False`.
    """

    @admin.display(description=description, ordering=attr if sortable else None)
    def column(self: Any, obj: models.Model) -> str:
        url = changelist_url(model, **{lookup: obj.pk}, **(also or {}))
        return format_html('<a href="{}">{}</a>', url, getattr(obj, attr))

    return column


def link_to(obj: models.Model | None, text: str | None = None) -> str:
    """A link to an object's admin change page (or its text if it has no admin)."""
    if obj is None:
        return "-"
    label = text if text is not None else str(obj)
    try:
        url = change_url(type(obj), obj.pk)
    except NoReverseMatch:
        return label
    return format_html('<a href="{}">{}</a>', url, label)


class InputFilter(admin.SimpleListFilter):
    """A list filter typed into a text box, for relations with too many rows to list.

    A team or person filter at 10,000 systems cannot render every choice in the sidebar, so the
    person types a slug or an email instead. Subclasses set `title`, `parameter_name` and
    `lookup` (an exact-ish ORM lookup such as `team__slug__iexact`).
    """

    template = "admin/core/input_filter.html"
    lookup: str = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[Any, str]]:
        # A single dummy choice: SimpleListFilter only renders when it has choices.
        return [("", "")]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> Any:
        value = (self.value() or "").strip()
        if not value:
            return queryset
        return queryset.filter(**{self.lookup: value})

    def get_facet_counts(self, pk_attname: str, filtered_qs: Any) -> dict[str, Any]:
        return {}

    def choices(self, changelist: ChangeList) -> Iterator[dict[str, Any]]:  # type: ignore[override]
        # The other active parameters ride along as hidden inputs, so typing here keeps them.
        others = [
            (key, value)
            for key, values in changelist.filter_params.items()
            if key not in (self.parameter_name, PAGE_VAR)
            for value in values
        ]
        yield {
            "selected": bool(self.value()),
            "value": self.value() or "",
            "others": others,
            "query_string": changelist.get_query_string(remove=[self.parameter_name or ""]),
            "display": "All",
        }


def input_filter(title: str, parameter_name: str, lookup: str) -> type[InputFilter]:
    return type(
        f"{parameter_name.title().replace('_', '')}InputFilter",
        (InputFilter,),
        {"title": title, "parameter_name": parameter_name, "lookup": lookup},
    )


class HistoryLinkMixin:
    """Adds a read-only “history” field linking to the pghistory events of the object."""

    history_model: type[models.Model]

    @admin.display(description="history")
    def history(self, obj: models.Model) -> str:
        if obj.pk is None:
            return "-"
        return format_html(
            '<a href="{}">Every change to this row</a>',
            changelist_url(self.history_model, pgh_obj__id__exact=obj.pk),
        )


class PghLabelFilter(admin.SimpleListFilter):
    """Event kind (insert / update …), from the trackers rather than a DISTINCT over the table."""

    title = "event"
    parameter_name = "pgh_label"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[Any, str]]:
        trackers = getattr(model_admin.model, "pgh_trackers", None) or []
        labels = sorted({tracker.label for tracker in trackers})
        return [(label, label) for label in labels]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> Any:
        if self.value():
            return queryset.filter(pgh_label=self.value())
        return queryset


class EventAdmin(admin.ModelAdmin):
    """Read-only admin for a pghistory event model: history is read, never written here.

    The rows are written by database triggers. Nobody adds, changes or deletes them through the
    admin: the permissions below say no whatever the person's own permissions are, so add and
    change pages answer 403 and the change page of an event is a read-only view.

    The tracked object may since have been deleted (event foreign keys carry no database
    constraint), so related rows shown in the list through non-null foreign keys are
    prefetched (`list_prefetch_related`), not joined: an INNER JOIN would silently hide the
    history of deleted rows. Nullable ones are LEFT JOINed (`list_select_related`). A related
    row that is gone shows as "-".

    History is the biggest table of all, so there is no date hierarchy (it scans the table for
    its distinct dates on every page view); the date filter (today, past 7 days …) costs no query.
    """

    formfield_overrides = HTTPS_URL_FIELDS
    ordering = ("-pgh_id",)
    event_filters: tuple[Any, ...] = ()
    list_select_related: ClassVar[tuple[str, ...]] = ("pgh_context",)
    list_prefetch_related: tuple[str, ...] = ()
    # Searching takes the id of the tracked row; see get_search_results.
    search_fields = ("pgh_obj_id",)
    search_help_text = "The id of the tracked row, e.g. 42."
    show_full_result_count = False
    tracked_fields: tuple[str, ...] = ()

    def get_list_display(self, request: HttpRequest) -> Any:
        return ("pgh_id", "when", "event", "tracked", *self.tracked_fields, "context")

    def get_list_filter(self, request: HttpRequest) -> Any:
        return (PghLabelFilter, "pgh_created_at", *self.event_filters)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        queryset = super().get_queryset(request)
        if self.list_prefetch_related:
            queryset = queryset.prefetch_related(*self.list_prefetch_related)
        return queryset

    def get_search_results(
        self, request: HttpRequest, queryset: models.QuerySet[Any], search_term: str
    ) -> tuple[models.QuerySet[Any], bool]:
        """An exact id on the indexed `pgh_obj_id` column, not a text scan of every event."""
        term = search_term.strip().lstrip("#")
        if not term:
            return queryset, False
        if not term.isdigit():
            return queryset.none(), False
        return queryset.filter(pgh_obj_id=int(term)), False

    @admin.display(description="when", ordering="pgh_created_at")
    def when(self, obj: Any) -> Any:
        return obj.pgh_created_at

    @admin.display(description="event", ordering="pgh_label")
    def event(self, obj: Any) -> str:
        return str(obj.pgh_label)

    @admin.display(description="row", ordering="pgh_obj_id")
    def tracked(self, obj: Any) -> str:
        tracked_model = obj._meta.get_field("pgh_obj").related_model
        return format_html(
            '<a href="{}">{} #{}</a>',
            change_url(tracked_model, obj.pgh_obj_id),
            tracked_model._meta.verbose_name,
            obj.pgh_obj_id,
        )

    @admin.display(description="context")
    def context(self, obj: Any) -> str:
        context = obj.pgh_context
        if context is None:
            return "-"
        return ", ".join(f"{key}={value}" for key, value in sorted(context.metadata.items()))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class WorkflowRecordAdmin(admin.ModelAdmin):
    """View-only admin for records that only services may write.

    Checklist items, evidence, exceptions, sign-offs and remediation tasks change through the
    app and the API, which call the services that check who may act and the two-person rules
    the database cannot see (e.g. the owner signs only when every item is covered). The admin
    shows them, links their history and never writes them, so it cannot disagree.
    """

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- Writes through the services ---------------------------------------------------------


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """A service's `ValidationError` (keyed by its input's names) onto the form's fields.

    A key that is no field of the form (the service checks something the admin does not show)
    becomes a form-wide error that names it, so nothing is lost."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        if field in form.fields:
            form.add_error(field, errors)
        else:
            label = field.replace("_", " ")
            for message in ValidationError(errors).messages:
                form.add_error(
                    None, message if field == NON_FIELD_ERRORS else f"{label}: {message}"
                )


SAVED_FLAG = "_service_admin_saved"


class ServiceAdminMixin:
    """Admin writes go through the service that holds the model's rules, never `form.save()`.

    The subclass writes `service_save(request, form, change)`, which calls the service with
    `actor=request.user` and the form's cleaned data and returns the saved object. It runs as
    the last step of the form's validation (after Django's own field and model checks), so a
    `ValidationError` the service raises, keyed by field, lands on the admin form's fields and
    the page comes back with the errors, like any other invalid form; a `PermissionDenied`
    (the person is staff but no program manager) becomes a form-wide error. The service runs
    in its own savepoint, so a refused write leaves nothing behind.

    Django then only logs the change: `save_form`, `save_model` and `save_related` write
    nothing (the service did, many-to-many included), and inlines of such an admin must be
    `ReadOnlyInline`s (what they show changes through the service's fields). The whole POST
    runs in one transaction that is rolled back unless Django went on to save (form and every
    inline valid), so an invalid inline formset after a successful service call cannot leave
    a half-written change behind either.
    """

    # Each admin using the mixin defines it (checked when the class is made, below).
    service_save: Callable[[HttpRequest, Any, bool], Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not callable(getattr(cls, "service_save", None)):
            raise TypeError(
                f"{cls.__name__} writes through a service: define service_save(request, form, "
                "change) calling it."
            )

    @staticmethod
    def actor(request: HttpRequest) -> Any:
        """The person acting: the admin's signed-in user (a `Person`)."""
        return request.user

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        base = super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]
        model_admin = self

        class ServiceForm(base):  # type: ignore[misc,valid-type]
            def _post_clean(self) -> None:
                super()._post_clean()
                if self._errors or request.method != "POST":
                    return
                try:
                    with transaction.atomic():
                        self.instance = model_admin.service_save(request, self, change)
                except ValidationError as exc:
                    add_service_errors(self, exc)
                except PermissionDenied as exc:
                    self.add_error(None, str(exc) or "You may not make this change.")

        ServiceForm.__name__ = base.__name__
        return ServiceForm

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return super().changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        with transaction.atomic():
            response = super().changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
            # Django reached save_related only when the form and every inline were valid (a
            # popup's success is a 200, so the status code cannot tell).
            if not getattr(request, SAVED_FLAG, False):
                transaction.set_rollback(True)
        return response

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        return form.instance  # saved by service_save while the form was validated

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        pass

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Inlines here are ReadOnlyInline: saving their formsets writes nothing, and gives
        # Django the (empty) lists of new, changed and deleted rows its change message reads.
        for formset in formsets:
            formset.save()
        setattr(request, SAVED_FLAG, True)


class ReadOnlyInline(admin.TabularInline):
    """An inline that shows rows a service writes: nothing to add, change or delete."""

    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
