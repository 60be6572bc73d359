from django.urls import path

from . import import_views, views

app_name = "inventory"

urlpatterns = [
    path("systems/", views.system_list, name="system_list"),
    path("systems/add/", views.system_add, name="system_add"),
    path("systems/<int:pk>/edit/", views.system_edit, name="system_edit"),
    path("teams/", views.team_list, name="team_list"),
    path("teams/add/", views.team_add, name="team_add"),
    path("teams/<int:pk>/edit/", views.team_edit, name="team_edit"),
    path("orgs/add/", views.org_add, name="org_add"),
    path("people/", views.person_list, name="person_list"),
    path("people/add/", views.person_add, name="person_add"),
    path("people/<int:pk>/edit/", views.person_edit, name="person_edit"),
    path("people/search/", views.people_search, name="people_search"),
    path("systems/import/", import_views.system_import, name="system_import"),
    path("systems/import/apply/", import_views.system_import_apply, name="system_import_apply"),
    path("systems/export.csv", import_views.system_export, {"fmt": "csv"}, name="system_export"),
    path(
        "systems/export.xlsx",
        import_views.system_export,
        {"fmt": "xlsx"},
        name="system_export_xlsx",
    ),
]
