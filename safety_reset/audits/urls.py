"""The system page and its item actions. "My work" is at /my-work/ (safety_reset/urls.py)."""

from django.urls import path

from . import views

app_name = "audits"

item = "systems/<slug:slug>/items/<int:item_id>"

urlpatterns = [
    path("systems/<slug:slug>/", views.system_detail, name="system"),
    path(f"{item}/history/", views.item_history, name="item-history"),
    path(f"{item}/assess/", views.item_assess, name="item-assess"),
    path(f"{item}/evidence/", views.item_evidence, name="item-evidence"),
    path(f"{item}/verify/", views.item_verify, name="item-verify"),
    path(f"{item}/request-evidence/", views.item_request_evidence, name="item-request-evidence"),
    path(f"{item}/exception/", views.item_waiver_request, name="item-exception"),
    path(f"{item}/tasks/new/", views.item_task_new, name="item-task-new"),
    path(
        "systems/<slug:slug>/exceptions/<int:waiver_id>/decide/",
        views.waiver_decide,
        name="exception-decide",
    ),
    path("systems/<slug:slug>/sign-off/owner/", views.signoff_owner, name="signoff-owner"),
    path("systems/<slug:slug>/sign-off/senior/", views.signoff_senior, name="signoff-senior"),
    path("evidence/<int:pk>/file/", views.evidence_file, name="evidence-file"),
]
