"""Pages of owners, delegates and senior reviewers: "My work" and the system page.

Views are thin: they find what the person may see (a system they may not see is a 404, so its
existence does not leak), parse a form, call a service and render. The services decide who may
act (PermissionDenied → 403) and check the rules (ValidationError → the message on its field,
the rest of the form kept, nothing saved).

Every item action works without JavaScript (POST, then redirect back to the item) and with
htmx (the item's partial comes back, with the page's summary, sign-off panel and history
swapped out of band). The system page and "My work" show remediation tasks, so these views read
remediation's selectors and forms; models and services keep the one-way order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from safety_reset.core.filtering import query_form
from safety_reset.core.forms import add_service_errors
from safety_reset.core.history import history
from safety_reset.core.pages import page_or_piece
from safety_reset.inventory.models import Person, System
from safety_reset.inventory.permissions import (
    Permission,
)
from safety_reset.programs.models import Program
from safety_reset.remediation import permissions as task_permissions
from safety_reset.remediation import selectors as task_selectors
from safety_reset.remediation import services as task_services
from safety_reset.remediation.forms import TaskForm
from safety_reset.remediation.services import default_due_date

from . import permissions, selectors, services
from .forms import (
    AssessForm,
    EvidenceForm,
    RequestEvidenceForm,
    SwitchQuery,
    WaiverDecideForm,
    WaiverRequestForm,
)
from .models import (
    Audit,
    ChecklistItem,
    Evidence,
    EvidenceKind,
    ItemStatus,
    Waiver,
    WaiverState,
)
from .selectors import ItemCard
from .services import PERSON_STATUSES

HISTORY_LENGTH = 30


class HtmxHttpRequest(HttpRequest):
    """A request through django-htmx's middleware (typing only)."""

    htmx: HtmxDetails


def _person(request: HtmxHttpRequest) -> Person:
    assert isinstance(request.user, Person)
    return request.user


def _audit_or_404(request: HtmxHttpRequest, program: str, slug: str) -> Audit:
    """The audit the URL names by (program slug, system slug), if the person may see the system.

    A system they may not see, or one not enrolled in that program, is a 404 alike.
    """
    audit = selectors.audit_for_page(user=request.user, program=program, system=slug)
    if audit is None:
        raise Http404("No such system in this program.")
    remember_program(request, program)
    return audit


def remember_program(request: HttpRequest, slug: str) -> None:
    """Pages without a program in their URL show the one the person last looked at."""
    if request.session.get(selectors.PROGRAM_SESSION_KEY) != slug:
        request.session[selectors.PROGRAM_SESSION_KEY] = slug


def program_of_request(request: HttpRequest) -> Program | None:
    """The program of a page without one in its URL: the last one chosen, else the running one."""
    return selectors.program_chosen(
        user=request.user,
        slug=request.session.get(selectors.PROGRAM_SESSION_KEY),
        today=timezone.localdate(),
    )


def _item_or_404(audit: Audit, item_id: int) -> ChecklistItem:
    item = get_object_or_404(
        ChecklistItem.objects.select_related("control"), pk=item_id, audit=audit
    )
    item.audit = audit  # already loaded with its program and system
    return item


def _upload_limit_mb() -> int:
    return round(settings.EVIDENCE_MAX_UPLOAD_BYTES / 1_048_576)


def system_url(audit: Audit) -> str:
    return reverse("audits:system", args=[audit.program.slug, audit.system.slug])


def item_url(audit: Audit, item_id: int) -> str:
    return f"{system_url(audit)}#item-{item_id}"


# --- My work -------------------------------------------------------------------------------------


@dataclass
class ProgramWork:
    """One program's section of "My work"."""

    program: Program
    today: dt.date
    clock: selectors.ProgramClock
    deadlines: dict[str, dt.date]
    systems: list[selectors.MySystem]
    items: list[ChecklistItem]
    items_total: int
    signoffs: list[Any]
    waivers: list[Any]
    verify: list[ChecklistItem]
    verify_total: int

    @property
    def waiting_total(self) -> int:
        return len(self.signoffs) + len(self.waivers) + self.verify_total


@login_required
@require_GET
def my_work(request: HtmxHttpRequest) -> HttpResponse:
    """What waits for me in every open program I am in, a section per program (the one chosen
    in the header first), and my tasks; a fixed number of queries whatever the number of
    programs or systems."""
    person = _person(request)
    programs = selectors.programs_of_person(person=person)
    chosen = request.session.get(selectors.PROGRAM_SESSION_KEY)
    programs.sort(key=lambda p: p.slug != chosen)  # stable: the rest stay in start order
    systems = selectors.my_systems(person=person, programs=programs)
    items, items_totals = task_selectors.items_needing_owner(person=person, programs=programs)
    if person.is_senior:
        signoffs, _ = selectors.signoffs_awaiting_senior(person=person, programs=programs)
        waivers, _ = selectors.waivers_awaiting_decision(person=person, programs=programs)
        verify, verify_totals = selectors.items_awaiting_verification(
            person=person, programs=programs
        )
    else:
        signoffs, waivers, verify, verify_totals = {}, {}, {}, {}
    sections = []
    for program in programs:
        today = program.today()
        sections.append(
            ProgramWork(
                program=program,
                today=today,
                clock=selectors.program_clock(program=program, today=today),
                deadlines=selectors.phase_deadlines(program),
                systems=systems.get(program.pk, []),
                items=items.get(program.pk, []),
                items_total=items_totals.get(program.pk, 0),
                signoffs=signoffs.get(program.pk, []),
                waivers=waivers.get(program.pk, []),
                verify=verify.get(program.pk, []),
                verify_total=verify_totals.get(program.pk, 0),
            )
        )
    today = timezone.localdate()
    week_end = today + dt.timedelta(days=6 - today.weekday())
    tasks = task_selectors.tasks_due(person=person, until=week_end)
    context: dict[str, Any] = {
        "sections": sections,
        "today": today,
        "week_end": week_end,
        "tasks_overdue": [t for t in tasks if t.due_on < today],
        "tasks_this_week": [t for t in tasks if t.due_on >= today],
        "is_reviewer": person.is_senior,
        "wont_do": task_selectors.wont_do_awaiting(person=person) if person.is_senior else [],
    }
    return render(request, "audits/my_work.html", context)


# --- The system page -----------------------------------------------------------------------------


@dataclass
class ItemForms:
    """The forms an item shows to this person (None: not theirs to use)."""

    assess: Form | None = None
    evidence: Form | None = None
    task: Form | None = None
    waiver: Form | None = None
    ask: Form | None = None
    decide: Form | None = None
    can_verify: bool = False
    # Why the senior reviewer cannot verify this attested item yet (shown instead of the button).
    verify_blocked: str = ""


@dataclass
class PageRoles:
    """What the signed-in person may do on this system's page."""

    person: Person
    can_work: bool
    can_review: bool
    can_file_tasks: bool
    is_owner: bool
    closed: bool = False

    @classmethod
    def of(cls, person: Person, system: System, audit: Audit | None = None) -> PageRoles:
        """A closed program's audit is read-only: nobody gets a write button (the services
        refuse anyway; this keeps the page from offering what will be refused)."""
        if audit is not None and audit.program.is_closed:
            return cls(person, False, False, False, False, closed=True)
        return cls(
            person=person,
            can_work=permissions.ASSESS(person, system),
            can_review=permissions.VERIFY(person, system),
            can_file_tasks=task_permissions.FILE_TASK(person, system),
            is_owner=permissions.SIGN_FIRST(person, system),
        )


@dataclass
class TaskFormKit:
    """What every item's task form shares: computed once per page."""

    people: list[Person]
    default_due: dt.date


def _task_kit(system: System, audit: Audit, roles: PageRoles) -> TaskFormKit | None:
    if not roles.can_file_tasks:
        return None
    return TaskFormKit(
        people=task_selectors.assignable_people(system=system),
        default_due=default_due_date(audit.program),
    )


def _item_forms(
    card: ItemCard, roles: PageRoles, kit: TaskFormKit | None, bound: dict[str, Form]
) -> ItemForms:
    item = card.item
    pk = item.pk
    forms = ItemForms()
    failing = item.status == ItemStatus.FAILING
    if roles.can_work:
        current = item.status if item.status in PERSON_STATUSES else None
        forms.assess = bound.get("assess") or AssessForm(
            initial={"status": current}, auto_id=f"i{pk}-assess-%s"
        )
        forms.evidence = bound.get("evidence") or EvidenceForm(auto_id=f"i{pk}-evidence-%s")
        if failing and card.open_waiver is None:
            forms.waiver = bound.get("waiver") or WaiverRequestForm(auto_id=f"i{pk}-waiver-%s")
    if failing and kit is not None:
        forms.task = bound.get("task") or TaskForm(
            auto_id=f"i{pk}-task-%s",
            people=kit.people,
            default_due=kit.default_due,
            initial={"title": f"Make “{item.control.title}” pass"},
        )
    if roles.can_review:
        if item.status != ItemStatus.NOT_ASSESSED:
            forms.ask = bound.get("ask") or RequestEvidenceForm(auto_id=f"i{pk}-ask-%s")
            if card.needs_verification:
                refusal = card.verify_refusal(roles.person.pk)
                forms.can_verify = refusal is None
                forms.verify_blocked = refusal or ""
        waiver = card.open_waiver
        if (
            waiver is not None
            and waiver.state == WaiverState.REQUESTED
            and waiver.requested_by_id != roles.person.pk
        ):
            forms.decide = bound.get("decide") or WaiverDecideForm(auto_id=f"w{waiver.pk}-%s")
    return forms


def _cards(
    items: list[ChecklistItem],
    roles: PageRoles,
    kit: TaskFormKit | None,
    bound: dict[int, dict[str, Form]],
) -> list[ItemCard]:
    cards = []
    for item in items:
        card = ItemCard(item)
        forms_of_item = bound.get(item.pk, {})
        card.forms = _item_forms(card, roles, kit, forms_of_item)
        for key, form in forms_of_item.items():
            card.open_panel = key
            if getattr(card.forms, key) is None:
                # The rule refused because the item moved on (e.g. the exception was decided
                # meanwhile), so its form is gone: say why on the item instead.
                card.notice = " ".join(str(e) for errors in form.errors.values() for e in errors)
                card.notice_is_error = True
        cards.append(card)
    return cards


def _history(audit: Audit, item_ids: list[int] | None = None) -> list[Any]:
    system = audit.system
    url = system_url(audit)
    sources = selectors.audit_history_sources(audit=audit, system_url=url, item_ids=item_ids)
    sources.append(
        task_selectors.task_history_source(
            system=system,
            item_ids=item_ids,
            task_url=lambda pk: reverse("remediation:task", args=[pk]),
        )
    )
    return history(sources=sources, limit=HISTORY_LENGTH)


def _page_context(
    request: HtmxHttpRequest,
    audit: Audit,
    bound: dict[int, dict[str, Form]] | None = None,
) -> dict[str, Any]:
    system = audit.system
    roles = PageRoles.of(_person(request), system, audit)
    context: dict[str, Any] = {
        "system": system,
        "audit": audit,
        "roles": roles,
        "upload_limit_mb": _upload_limit_mb(),
    }
    program = audit.program
    items = selectors.checklist_items(audit=audit)
    cards = _cards(items, roles, _task_kit(system, audit, roles), bound or {})
    context.update(
        program=program,
        clock=selectors.program_clock(program=program, today=program.today()),
        deadlines=selectors.phase_deadlines(program),
        groups=selectors.group_by_category(cards),
        summary=selectors.audit_summary(items),
        signoff=selectors.signoff_state(audit=audit),
        history=_history(audit),
    )
    return context


@login_required
@require_GET
def system_detail(request: HtmxHttpRequest, program: str, slug: str) -> HttpResponse:
    """The checklist by category, with evidence, exceptions, tasks, sign-off and history."""
    audit = _audit_or_404(request, program, slug)
    return render(request, "audits/system_detail.html", _page_context(request, audit))


@login_required
@require_GET
def item_history(request: HtmxHttpRequest, program: str, slug: str, item_id: int) -> HttpResponse:
    """One item's history (loaded into the item when its History is opened)."""
    audit = _audit_or_404(request, program, slug)
    item = _item_or_404(audit, item_id)
    context = {
        "system": audit.system,
        "audit": audit,
        "item": item,
        "history": _history(audit, item_ids=[item.pk]),
    }
    return page_or_piece(
        request, page="audits/item_history.html", piece="components/_history.html", context=context
    )


@login_required
@require_GET
def evidence_file(request: HtmxHttpRequest, pk: int) -> FileResponse:
    """An uploaded file, only to people who may see its system; never from a public URL."""
    evidence = get_object_or_404(
        Evidence.objects.visible_to(request.user).select_related("item__audit"),
        pk=pk,
        kind=EvidenceKind.FILE,
    )
    storage = evidence.file.storage
    if not evidence.file.name or not storage.exists(evidence.file.name):
        raise Http404("The file is missing from storage.")
    extension = evidence.file.name.rsplit(".", 1)[-1] if "." in evidence.file.name else "bin"
    response = FileResponse(
        storage.open(evidence.file.name, "rb"),
        as_attachment=True,
        filename=f"evidence-{evidence.pk}-{evidence.sha256[:12]}.{extension}",
        content_type=evidence.content_type or "application/octet-stream",
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Item actions --------------------------------------------------------------------------------

Action = Callable[[ChecklistItem, Person, dict[str, Any], Form], str]


def _item_action(
    request: HtmxHttpRequest,
    program: str,
    slug: str,
    item_id: int,
    *,
    key: str,
    form_class: type[Form],
    permission: Permission,
    run: Action,
    form_kwargs: Callable[[System, ChecklistItem], dict[str, Any]] | None = None,
) -> HttpResponse:
    """Parse the form and call the service, which decides who may act (its PermissionDenied is
    the 403 page); answer with the item, or with the form's errors. Errors are shown only to
    someone the action's `permission` allows: anyone else gets the service's refusal."""
    person = _person(request)
    audit = _audit_or_404(request, program, slug)
    system = audit.system
    item = _item_or_404(audit, item_id)
    extra = form_kwargs(system, item) if form_kwargs else {}
    form = form_class(request.POST, request.FILES, auto_id=f"i{item.pk}-{key}-%s", **extra)
    if form.is_valid():
        try:
            notice = run(item, person, form.cleaned_data, form)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _item_done(request, audit, item, notice)
    permission.require(person, system)
    return _item_invalid(request, audit, item, key, form)


def _item_done(
    request: HtmxHttpRequest, audit: Audit, item: ChecklistItem, notice: str
) -> HttpResponse:
    if request.htmx:
        return _item_response(request, audit, item.pk, notice=notice)
    messages.success(request, notice)
    return HttpResponseRedirect(item_url(audit, item.pk))


def _item_invalid(
    request: HtmxHttpRequest, audit: Audit, item: ChecklistItem, key: str, form: Form
) -> HttpResponse:
    bound = {item.pk: {key: form}}
    if request.htmx:
        return _item_response(request, audit, item.pk, bound=bound)
    context = _page_context(request, audit, bound=bound)
    context["form_error_item"] = item.pk
    return render(request, "audits/system_detail.html", context, status=400)


def _item_response(
    request: HtmxHttpRequest,
    audit: Audit,
    item_id: int,
    *,
    notice: str = "",
    notice_is_error: bool = False,
    bound: dict[int, dict[str, Form]] | None = None,
) -> HttpResponse:
    """The item's partial, plus the summary, sign-off panel and history out of band."""
    system = audit.system
    roles = PageRoles.of(_person(request), system, audit)
    items = selectors.checklist_items(audit=audit, item_ids=[item_id])
    card = _cards(items, roles, _task_kit(system, audit, roles), bound or {})[0]
    if notice:
        card.notice, card.notice_is_error = notice, notice_is_error
    brief = selectors.audit_items_brief(audit=audit)
    context = {
        "system": system,
        "audit": audit,
        "roles": roles,
        "card": card,
        "summary": selectors.audit_summary(brief),
        "signoff": selectors.signoff_state(audit=audit),
        "history": _history(audit),
        "deadlines": selectors.phase_deadlines(audit.program),
        "upload_limit_mb": _upload_limit_mb(),
        "oob": True,
    }
    return render(request, "audits/partials/_item_response.html", context)


def _run_assess(item: ChecklistItem, person: Person, data: dict[str, Any], form: Form) -> str:
    item = services.item_assess(
        item=item, actor=person, status=data["status"], reason=data["reason"]
    )
    return f"“{item.control.title}” is now {item.get_status_display().lower()}."


@login_required
@require_POST
def item_assess(request: HtmxHttpRequest, program: str, slug: str, item_id: int) -> HttpResponse:
    return _item_action(
        request,
        program,
        slug,
        item_id,
        key="assess",
        form_class=AssessForm,
        permission=permissions.ASSESS,
        run=_run_assess,
    )


def _run_evidence(item: ChecklistItem, person: Person, data: dict[str, Any], form: Form) -> str:
    evidence = services.evidence_add(
        item=item, actor=person, note=data["note"], url=data["url"], upload=data.get("file")
    )
    return f"{evidence.get_kind_display()} added to “{item.control.title}”."


@login_required
@require_POST
def item_evidence(request: HtmxHttpRequest, program: str, slug: str, item_id: int) -> HttpResponse:
    return _item_action(
        request,
        program,
        slug,
        item_id,
        key="evidence",
        form_class=EvidenceForm,
        permission=permissions.ADD_EVIDENCE,
        run=_run_evidence,
    )


def _run_ask(item: ChecklistItem, person: Person, data: dict[str, Any], form: Form) -> str:
    services.item_request_evidence(item=item, actor=person, note=data["note"])
    return f"Asked the owner for more evidence on “{item.control.title}”."


@login_required
@require_POST
def item_request_evidence(
    request: HtmxHttpRequest, program: str, slug: str, item_id: int
) -> HttpResponse:
    return _item_action(
        request,
        program,
        slug,
        item_id,
        key="ask",
        form_class=RequestEvidenceForm,
        permission=permissions.REQUEST_EVIDENCE,
        run=_run_ask,
    )


def _run_waiver(item: ChecklistItem, person: Person, data: dict[str, Any], form: Form) -> str:
    waiver = services.waiver_request(
        item=item,
        actor=person,
        justification=data["justification"],
        compensating_control=data["compensating_control"],
        expires_on=data["expires_on"],
    )
    return f"Exception requested until {waiver.expires_on:%d %b %Y}; the senior reviewer decides."


@login_required
@require_POST
def item_waiver_request(
    request: HtmxHttpRequest, program: str, slug: str, item_id: int
) -> HttpResponse:
    return _item_action(
        request,
        program,
        slug,
        item_id,
        key="waiver",
        form_class=WaiverRequestForm,
        permission=permissions.REQUEST_EXCEPTION,
        run=_run_waiver,
    )


def _task_form_kwargs(system: System, item: ChecklistItem) -> dict[str, Any]:
    return {"people": task_selectors.assignable_people(system=system)}


def _run_task(item: ChecklistItem, person: Person, data: dict[str, Any], form: Form) -> str:
    assert isinstance(form, TaskForm)
    task = task_services.task_create(
        actor=person,
        system=item.audit.system,
        item=item,
        title=data["title"],
        description=data["description"],
        assignee=form.assignee_person(),
        due_on=data["due_on"],
        severity=data["severity"],
        ticket_url=data["ticket_url"],
    )
    return f"Task “{task.title}” filed, due {task.due_on:%d %b %Y}."


@login_required
@require_POST
def item_task_new(request: HtmxHttpRequest, program: str, slug: str, item_id: int) -> HttpResponse:
    return _item_action(
        request,
        program,
        slug,
        item_id,
        key="task",
        form_class=TaskForm,
        permission=task_permissions.FILE_TASK,
        run=_run_task,
        form_kwargs=_task_form_kwargs,
    )


@login_required
@require_POST
def item_verify(request: HtmxHttpRequest, program: str, slug: str, item_id: int) -> HttpResponse:
    person = _person(request)
    audit = _audit_or_404(request, program, slug)
    item = _item_or_404(audit, item_id)
    try:
        services.item_verify(item=item, actor=person)
    except ValidationError as exc:
        return _refused(request, audit, item, " ".join(exc.messages))
    return _item_done(request, audit, item, f"Verified the evidence of “{item.control.title}”.")


def _refused(request: HtmxHttpRequest, audit: Audit, item: ChecklistItem, why: str) -> HttpResponse:
    """A button's action that a rule refused: say why, on the item or as a message."""
    if request.htmx:
        return _item_response(request, audit, item.pk, notice=why, notice_is_error=True)
    messages.error(request, why)
    return HttpResponseRedirect(item_url(audit, item.pk))


@login_required
@require_POST
def waiver_decide(
    request: HtmxHttpRequest, program: str, slug: str, waiver_id: int
) -> HttpResponse:
    """The senior reviewer approves or rejects a requested exception."""
    person = _person(request)
    audit = _audit_or_404(request, program, slug)
    system = audit.system
    waiver = get_object_or_404(
        Waiver.objects.select_related("item__control"), pk=waiver_id, item__audit=audit
    )
    item = waiver.item
    item.audit = audit
    form = WaiverDecideForm(request.POST, auto_id=f"w{waiver.pk}-%s")
    if form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        try:
            services.waiver_decide(
                waiver=waiver, actor=person, approve=approve, note=form.cleaned_data["note"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            verb = "approved" if approve else "rejected"
            return _item_done(request, audit, item, f"Exception for “{item.control.title}” {verb}.")
    permissions.DECIDE_EXCEPTION.require(person, system)
    return _item_invalid(request, audit, item, "decide", form)


# --- Sign-off ------------------------------------------------------------------------------------


def _signed(
    request: HtmxHttpRequest, audit: Audit, ok: str, sign: Callable[[], Any]
) -> HttpResponse:
    try:
        sign()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, ok)
    return HttpResponseRedirect(f"{system_url(audit)}#signoff")


@login_required
@require_POST
def signoff_owner(request: HtmxHttpRequest, program: str, slug: str) -> HttpResponse:
    person = _person(request)
    audit = _audit_or_404(request, program, slug)
    return _signed(
        request,
        audit,
        "You signed the audit off. The senior reviewer gives the second signature.",
        lambda: services.signoff_owner(audit=audit, actor=person),
    )


@login_required
@require_POST
def signoff_senior(request: HtmxHttpRequest, program: str, slug: str) -> HttpResponse:
    person = _person(request)
    audit = _audit_or_404(request, program, slug)
    return _signed(
        request,
        audit,
        "You gave the senior sign-off. The audit is complete.",
        lambda: services.signoff_senior(audit=audit, actor=person),
    )


# --- The program in the URL ----------------------------------------------------------------------


@login_required
def legacy_redirect(
    request: HtmxHttpRequest, slug: str, url_name: str, **rest: Any
) -> HttpResponse:
    """/systems/<slug>/… from before programs were in the path: the same page in the person's
    current program (the one last chosen if the system is in it, else its open one, else its
    latest). Temporary (302; 307 for a POST, so the form is posted again), as the current
    program changes. A visible system in no program gets a page saying so (404)."""
    target = selectors.program_of_system(
        user=request.user,
        system=slug,
        preferred=request.session.get(selectors.PROGRAM_SESSION_KEY),
    )
    if target is None:
        system = selectors.systems_visible(user=request.user).filter(slug=slug).first()
        if system is None:
            raise Http404("No such system.")
        return render(request, "audits/not_enrolled.html", {"system": system}, status=404)
    url = reverse(f"audits:{url_name}", kwargs={"program": target.slug, "slug": slug, **rest})
    if request.GET:
        url = f"{url}?{request.GET.urlencode()}"
    return HttpResponseRedirect(url, status=302 if request.method in ("GET", "HEAD") else 307)


@login_required
@require_GET
def program_switch(request: HtmxHttpRequest, program: str) -> HttpResponse:
    """The header's program switcher: remember the choice and go to `next` (a local path)."""
    chosen = get_object_or_404(selectors.programs_visible(user=request.user), slug=program)
    target = query_form(request, SwitchQuery, extra={})["next"]
    remember_program(request, chosen.slug)
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("my-work")
    return HttpResponseRedirect(target)
