"""Creating a program: the form, its preview, and the kick-off. Program managers only.

`/programs/new/` shows the form; submitting it shows the preview (counts and warnings) with the
same input carried in hidden fields and a "Create program" button; creating lands on the
kick-off page, and the kick-off on the program's overview.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from safety_reset.inventory.models import Person
from safety_reset.inventory.permissions import can_manage_program, require

from . import services
from .forms import ProgramForm
from .models import Program
from .selectors import kick_off_recipients


def _manager(request: HttpRequest) -> Person:
    user = request.user
    require(can_manage_program(user), "Only program managers create and kick off programs.")
    assert isinstance(user, Person)
    return user


@login_required
@require_http_methods(["GET", "POST"])
def program_new(request: HttpRequest) -> HttpResponse:
    actor = _manager(request)
    form = ProgramForm(request.POST or None, request.FILES or None)
    preview = None
    step = request.POST.get("step")
    if request.method == "POST" and form.is_valid() and step != "edit":
        try:
            kwargs = form.service_kwargs()
            if step == "create":
                program = services.program_create(actor=actor, **kwargs)
            else:
                preview = services.program_preview(actor=actor, **kwargs)
        except ValidationError as exc:
            form.add_service_errors(exc)
            preview = None
        else:
            if preview is None:
                messages.success(request, f"{program.name} was created and its systems enrolled.")
                return redirect("programs:kick-off", slug=program.slug)
    if preview is None:
        return render(request, "programs/new.html", {"form": form})
    return render(request, "programs/preview.html", {"preview": preview, "carry": _carry(form)})


def request_values(form: ProgramForm, name: str) -> list[str]:
    data = form.data
    return data.getlist(name) if isinstance(data, QueryDict) else [str(data.get(name, ""))]


def _carry(form: ProgramForm) -> list[tuple[str, str]]:
    """The input as hidden fields, so "Create program" creates exactly what was previewed (the
    uploaded file travels as the list it held)."""
    pairs: list[tuple[str, str]] = []
    for name in form.fields:
        if name in ("scope_file", "scope_list"):
            continue
        pairs += [(name, v) for v in request_values(form, name) if v != ""]
    if form.cleaned_data.get("scope_list"):
        pairs.append(("scope_list", form.cleaned_data["scope_list"]))
    return pairs


@login_required
@require_http_methods(["GET", "POST"])
def program_kick_off(request: HttpRequest, slug: str) -> HttpResponse:
    actor = _manager(request)
    program = get_object_or_404(Program.objects.select_related("catalog"), slug=slug)
    if request.method == "POST":
        try:
            result = services.program_kick_off(actor=actor, program=program)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            if result.first:
                messages.success(
                    request,
                    f"{program.name} is kicked off: {result.recipients} "
                    f"{'person gets' if result.recipients == 1 else 'people get'} a kick-off mail.",
                )
            else:
                messages.info(request, "It was kicked off already: no one is mailed twice.")
            return redirect("program-overview", slug=program.slug)
    return render(
        request,
        "programs/kick_off.html",
        {
            "program": program,
            "recipients": kick_off_recipients(program).count(),
            "audits": program.audits.count(),
        },
    )
