from django.urls import path

from . import views

app_name = "catalog"

urlpatterns = [
    path("", views.control_list, name="control_list"),
    path("programs/<slug:slug>/", views.control_list, name="program_controls"),
    path("programs/<slug:slug>/controls/add/", views.control_add, name="control_add"),
    path("controls/<int:pk>/edit/", views.control_edit, name="control_edit"),
    path("controls/<int:pk>/retire/", views.control_retire, name="control_retire"),
]
