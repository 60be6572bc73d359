from django.urls import path

from . import views

app_name = "catalog"

urlpatterns = [
    path("", views.control_list, name="control_list"),
    path("programs/<slug:slug>/", views.control_list, name="program_controls"),
    path(
        "programs/<slug:slug>/change-version/",
        views.program_change_version,
        name="program_change_version",
    ),
    path("versions/", views.version_list, name="versions"),
    path("versions/<int:pk>/", views.version_detail, name="version"),
    path("versions/<int:pk>/draft/", views.draft_create, name="draft_create"),
    path("versions/<int:pk>/publish/", views.version_publish, name="publish"),
    path("versions/<int:pk>/controls/add/", views.control_add, name="control_add"),
    path("controls/<int:pk>/edit/", views.control_edit, name="control_edit"),
    path("controls/<int:pk>/retire/", views.control_retire, name="control_retire"),
]
