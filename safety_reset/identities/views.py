"""The register's pages: the list (filters, htmx), an identity's page with its policies, the gate
and attestation, the registration form, the CSV export, and the "seen, not registered" panel."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from safety_reset.core.filtering import filtered, query_form
from safety_reset.core.pages import form_page, page_or_piece
from safety_reset.inventory.models import Person, System

from . import selectors, services
from .filters import IdentityAddQuery, IdentityFilter
from .forms import GateForm, IdentityForm, PolicyForm, pretty
from .importer import export_csv
from .models import Identity

PAGE_SIZE = 50


def _person(request: HttpRequest) -> Person:
    assert isinstance(request.user, Person)
    return request.user


@login_required
@require_GET
def identity_list(request: HttpRequest) -> HttpResponse:
    filterset = filtered(
        request, IdentityFilter, queryset=selectors.identity_list(user=request.user)
    )
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"filter": filterset, "page": page}
    return page_or_piece(
        request,
        page="identities/identity_list.html",
        piece="identities/partials/_identity_table.html",
        context=context,
    )


@login_required
@require_GET
def identity_export(request: HttpRequest) -> HttpResponse:
    filterset = filtered(
        request, IdentityFilter, queryset=selectors.identity_list(user=request.user)
    )
    response = HttpResponse(export_csv(filterset.qs), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="identities.csv"'
    return response


def _detail(request: HttpRequest, pk: int) -> Identity:
    try:
        return selectors.identity_detail(user=request.user, pk=pk)
    except Identity.DoesNotExist as exc:
        raise Http404("No such identity.") from exc


@login_required
@require_GET
def identity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    identity = _detail(request, pk)
    return _detail_page(request, identity)


def _detail_page(
    request: HttpRequest,
    identity: Identity,
    policy_form: PolicyForm | None = None,
    gate_form: GateForm | None = None,
    status: int = 200,
) -> HttpResponse:
    systems = list(identity.systems.all())
    context = {
        "identity": identity,
        "systems": systems,
        "policies": [(p, pretty(p.document)) for p in identity.policies.all()],
        "controls": list(selectors.identity_controls(identity=identity)),
        "can_manage": services.can_manage_systems(_person(request), systems),
        "policy_form": policy_form or PolicyForm(),
        "gate_form": gate_form or GateForm(),
    }
    return render(request, "identities/identity_detail.html", context, status=status)


@login_required
@require_POST
def identity_policy(request: HttpRequest, pk: int) -> HttpResponse:
    identity = _detail(request, pk)
    form = PolicyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.identity_policy_attach(
                actor=_person(request),
                identity=identity,
                name=form.cleaned_data["name"],
                document=form.document_text(),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Policy attached and analysed.")
            return redirect("identities:detail", pk=pk)
    return _detail_page(request, identity, policy_form=form, status=400)


@login_required
@require_POST
def identity_gate(request: HttpRequest, pk: int) -> HttpResponse:
    identity = _detail(request, pk)
    form = GateForm(request.POST)
    if form.is_valid():
        try:
            services.identity_gate_record(
                actor=_person(request), identity=identity, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Human gate recorded.")
            return redirect("identities:detail", pk=pk)
    return _detail_page(request, identity, gate_form=form, status=400)


@login_required
@require_POST
def identity_attest(request: HttpRequest, pk: int) -> HttpResponse:
    identity = _detail(request, pk)
    services.identity_attest(actor=_person(request), identity=identity)
    messages.success(request, "Attested: the entry is current.")
    return redirect("identities:detail", pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def identity_add(request: HttpRequest) -> HttpResponse:
    person = _person(request)
    systems = System.objects.visible_to(person)
    query = query_form(request, IdentityAddQuery, extra={})
    initial = {
        "login": query["login"],
        "name": query["login"].removesuffix("[bot]"),
        "kind": query["kind"],
        "systems": [query["system"]] if query["system"] else [],
        "accountable": person.email,
    }
    return form_page(
        request,
        IdentityForm(request.POST or None, systems=systems, initial=initial),
        save=lambda data: services.identity_create(actor=person, **data),
        done=lambda identity: f"{identity} registered.",
        next_url=lambda identity: reverse("identities:detail", args=[identity.pk]),
        template="identities/identity_form.html",
    )


@login_required
@require_GET
def system_seen(request: HttpRequest, slug: str) -> HttpResponse:
    """The system page's panel (htmx): agents and bots seen in its repositories, not registered."""
    system = get_object_or_404(System.objects.visible_to(request.user), slug=slug)
    context = {"system": system, "seen": selectors.seen_for_system(system=system)}
    return render(request, "identities/partials/_seen_panel.html", context)


@login_required
@require_GET
def figures_panel(request: HttpRequest) -> HttpResponse:
    """The overview's panel (htmx): identities that can delete production, without a gate,
    agents seen but not registered, attestations lapsed — over what the person may see."""
    context = {"figures": selectors.register_figures(user=request.user)}
    return render(request, "identities/partials/_figures.html", context)


@login_required
@require_GET
def due_panel(request: HttpRequest) -> HttpResponse:
    """My work's block (htmx): the identities of my systems whose re-attestation is lapsed or
    due within a week, each linking to its page."""
    due = selectors.identities_due(person=_person(request))
    context = {
        "due": due,
        "lapsed": any(i.lapsed for i in due),
        "within_days": selectors.DUE_SOON_DAYS,
    }
    return render(request, "identities/partials/_due_panel.html", context)
