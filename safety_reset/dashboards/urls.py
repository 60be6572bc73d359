"""The program pages. Included at the site root by safety_reset/urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("systems/", views.system_list, name="systems"),
    path("programs/", views.program_current_redirect, name="program-current"),
    path("programs/<slug:slug>/", views.program_overview, name="program-overview"),
    path("programs/<slug:slug>/teams/", views.team_list, name="program-teams"),
    path("programs/<slug:slug>/teams/<slug:team>/", views.team_detail, name="program-team"),
    path(
        "programs/<slug:slug>/controls/<slug:key>/",
        views.control_detail,
        name="program-control",
    ),
    path(
        "programs/<slug:slug>/export/<str:what>.<str:fmt>",
        views.export,
        name="program-export",
    ),
    # The lists behind the overview's figures, one explicit path each (no catch-all, so other
    # apps can add pages under /programs/<slug>/).
    *(
        path(
            f"programs/<slug:slug>/{what}/",
            views.program_list,
            {"what": what},
            name=f"program-{what}",
        )
        for what in views.LISTS
    ),
]
