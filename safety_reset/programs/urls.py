"""Creating and kicking off programs. Included before dashboards' /programs/<slug>/ pages, and
"new" is a reserved slug (services.RESERVED_SLUGS), so /programs/new/ is never a program."""

from django.urls import path

from . import views

app_name = "programs"

urlpatterns = [
    path("programs/new/", views.program_new, name="new"),
    path("programs/<slug:slug>/kick-off/", views.program_kick_off, name="kick-off"),
]
