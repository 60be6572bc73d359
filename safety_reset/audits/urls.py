"""The system page and its item actions, under the program they belong to. "My work" is at
/my-work/ (safety_reset/urls.py).

A system can be enrolled in two programs at once (a company-wide reset and an org's own), so
its page is /programs/<program>/systems/<slug>/…, the audit being found by both slugs. The
URLs from before programs were in the path (/systems/<slug>/…) still work: each redirects to
the same page in the person's current program (`views.legacy_redirect`). The old patterns
carry the same names with one argument fewer, so `reverse("audits:system", args=[slug])`
still builds the old URL (Django picks the pattern whose arguments match), while new code
passes the program too.
"""

from collections.abc import Callable

from django.http import HttpResponse
from django.urls import path

from . import views

app_name = "audits"

PAGES: list[tuple[str, Callable[..., HttpResponse], str]] = [
    ("", views.system_detail, "system"),
    ("items/<int:item_id>/history/", views.item_history, "item-history"),
    ("items/<int:item_id>/assess/", views.item_assess, "item-assess"),
    ("items/<int:item_id>/evidence/", views.item_evidence, "item-evidence"),
    ("items/<int:item_id>/verify/", views.item_verify, "item-verify"),
    ("items/<int:item_id>/request-evidence/", views.item_request_evidence, "item-request-evidence"),
    ("items/<int:item_id>/exception/", views.item_waiver_request, "item-exception"),
    ("items/<int:item_id>/tasks/new/", views.item_task_new, "item-task-new"),
    ("exceptions/<int:waiver_id>/decide/", views.waiver_decide, "exception-decide"),
    ("sign-off/owner/", views.signoff_owner, "signoff-owner"),
    ("sign-off/senior/", views.signoff_senior, "signoff-senior"),
]

urlpatterns = [
    *(
        path(f"programs/<slug:program>/systems/<slug:slug>/{tail}", view, name=name)
        for tail, view, name in PAGES
    ),
    *(
        path(f"systems/<slug:slug>/{tail}", views.legacy_redirect, {"url_name": name}, name=name)
        for tail, _view, name in PAGES
    ),
    path("switch-program/<slug:program>/", views.program_switch, name="program-switch"),
    path("evidence/<int:pk>/file/", views.evidence_file, name="evidence-file"),
]
