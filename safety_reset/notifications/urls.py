from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("digest/preview/", views.digest_preview, name="digest-preview"),
    path("digest/preview/mail/", views.digest_preview_frame, name="digest-preview-frame"),
    path("preferences/", views.preferences, name="preferences"),
    path("preferences/notices/", views.notice_settings, name="notice-settings"),
]
