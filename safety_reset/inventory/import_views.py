"""The inventory import page (upload → preview → apply) and the export downloads.

Program managers import; program managers and viewers export (they read the whole inventory).
The uploaded file waits in the session between the preview and the apply, named by its SHA-256,
and is checked again when applied: what the preview said is what the apply does, or it refuses.
"""

from __future__ import annotations

import base64
import hashlib

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .exporter import export_csv_chunks, export_queryset, export_xlsx
from .importer import COLUMNS, REQUIRED_COLUMNS, ImportRejected, plan_import, systems_import
from .permissions import manager, reader

MAX_BYTES = 5 * 1024 * 1024
SESSION_KEY = "inventory_import"


class ImportForm(forms.Form):
    file = forms.FileField(
        label="Inventory file (.csv or .xlsx)",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError("The file is larger than 5 MB.")
        return upload


def _page(request: HttpRequest, **context: object) -> HttpResponse:
    context.setdefault("columns", COLUMNS)
    context.setdefault("required", REQUIRED_COLUMNS)
    return render(request, "inventory/import.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def system_import(request: HttpRequest) -> HttpResponse:
    manager(request.user)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method != "POST" or not form.is_valid():
        return _page(request, form=form)
    upload = form.cleaned_data["file"]
    data = upload.read()
    plan = plan_import(data=data, filename=upload.name)
    if not plan.ok:
        return _page(request, form=ImportForm(), plan=plan, filename=upload.name)
    digest = hashlib.sha256(data).hexdigest()
    request.session[SESSION_KEY] = {
        "name": upload.name,
        "sha256": digest,
        "data": base64.b64encode(data).decode("ascii"),
    }
    return render(
        request,
        "inventory/import_preview.html",
        {"plan": plan, "filename": upload.name, "sha256": digest},
    )


@login_required
@require_POST
def system_import_apply(request: HttpRequest) -> HttpResponse:
    actor = manager(request.user)
    stored = request.session.get(SESSION_KEY)
    if not stored or stored.get("sha256") != request.POST.get("sha256"):
        messages.error(request, "That preview has expired; upload the file again.")
        return redirect("inventory:system_import")
    data = base64.b64decode(stored["data"])
    try:
        result = systems_import(actor=actor, data=data, filename=stored["name"])
    except ImportRejected as exc:
        return _page(request, form=ImportForm(), plan=exc.plan, filename=stored["name"])
    del request.session[SESSION_KEY]
    people = f", {len(result.new_people)} new people (inactive)" if result.new_people else ""
    messages.success(
        request,
        f"Imported {stored['name']}: {len(result.created)} created, {len(result.changed)} "
        f"changed, {len(result.unchanged)} unchanged{people}.",
    )
    return redirect("inventory:system_list")


@login_required
@require_GET
def system_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    user = reader(request.user)
    systems = export_queryset(user=user)
    stamp = timezone.localdate().isoformat()
    response: HttpResponse | StreamingHttpResponse
    if fmt == "xlsx":
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        response = HttpResponse(export_xlsx(systems), content_type=content_type)
    else:
        response = StreamingHttpResponse(
            export_csv_chunks(systems), content_type="text/csv; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="systems-{stamp}.{fmt}"'
    return response
