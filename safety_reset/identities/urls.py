from django.urls import path

from . import views

app_name = "identities"

urlpatterns = [
    path("", views.identity_list, name="list"),
    path("add/", views.identity_add, name="add"),
    path("export.csv", views.identity_export, name="export"),
    path("<int:pk>/", views.identity_detail, name="detail"),
    path("<int:pk>/policies/", views.identity_policy, name="policy"),
    path("<int:pk>/gate/", views.identity_gate, name="gate"),
    path("<int:pk>/attest/", views.identity_attest, name="attest"),
    path("seen/<slug:slug>/", views.system_seen, name="seen"),
    path("figures/", views.figures_panel, name="figures"),
    path("due/", views.due_panel, name="due"),
]
