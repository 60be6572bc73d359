"""The close-out report of a program, its "Close program" action and the pack's download.

Readers of the whole program (program managers and viewers, `Person.sees_everything`) read
the report and download the pack; only a program manager closes (programs.services decides).
"""

from __future__ import annotations

import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from safety_reset.inventory.models import Person
from safety_reset.inventory.permissions import can_manage_program
from safety_reset.programs.models import Program
from safety_reset.programs.services import program_close

from .forms import CloseForm
from .selectors import close_out
from .services import ArchiveError, pack_write


def _program_for(request: HttpRequest, slug: str) -> tuple[Program, Person]:
    person = request.user
    assert isinstance(person, Person)
    if not person.sees_everything:
        raise PermissionDenied("The close-out report is for program managers and viewers.")
    program = get_object_or_404(
        Program.objects.select_related("catalog", "closed_by").prefetch_related("phases"),
        slug=slug,
    )
    return program, person


@login_required
def report(request: HttpRequest, slug: str, form: CloseForm | None = None) -> HttpResponse:
    program, person = _program_for(request, slug)
    context = {
        "program": program,
        "r": close_out(program=program),
        "may_close": can_manage_program(person) and not program.is_closed,
        "early": program.today() < program.end_date,
        "form": form or CloseForm(),
    }
    return render(request, "archive/close_out.html", context, status=400 if form else 200)


@login_required
@require_POST
def close(request: HttpRequest, slug: str) -> HttpResponse:
    program, person = _program_for(request, slug)
    form = CloseForm(request.POST)
    if form.is_valid():
        try:
            program_close(
                actor=person,
                program=program,
                early=form.cleaned_data["early"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"{program.name} is closed; it is read-only from now on.")
            return redirect("archive:close-out", slug=program.slug)
    return report(request, slug, form=form)


@login_required
def pack(request: HttpRequest, slug: str) -> HttpResponseBase:
    """The signed pack, written to a temporary file and streamed from it."""
    program, _ = _program_for(request, slug)
    out = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    try:
        pack_write(program=program, out=out)
    except ArchiveError as exc:
        out.close()
        messages.error(request, f"The pack cannot be made: {exc}")
        return redirect("archive:close-out", slug=program.slug)
    out.seek(0)
    return FileResponse(
        out,
        as_attachment=True,
        filename=f"{program.slug}-close-out.zip",
        content_type="application/zip",
    )
