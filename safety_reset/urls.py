from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from safety_reset.audits import views as audit_views
from safety_reset.core import observability
from safety_reset.core import views as core_views

admin.site.site_header = "Code Safety Reset — administration"
admin.site.site_title = "Code Safety Reset admin"

urlpatterns = [
    path("", include("safety_reset.programs.urls")),
    path("", include("safety_reset.dashboards.urls")),
    path("my-work/", audit_views.my_work, name="my-work"),
    path("", include("safety_reset.audits.urls")),
    path("", include("safety_reset.remediation.urls")),
    path("", include("safety_reset.repo_status.urls")),
    path("inventory/", include("safety_reset.inventory.urls")),
    path("catalog/", include("safety_reset.catalog.urls")),
    path("identities/", include("safety_reset.identities.urls")),
    path("notifications/", include("safety_reset.notifications.urls")),
    path("archive/", include("safety_reset.archive.urls")),
    path("healthz/", core_views.healthz, name="healthz"),
    path("readyz/", core_views.readyz, name="readyz"),
    path("metrics", observability.metrics, name="metrics"),
    path("api/", include("safety_reset.api_urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            redirect_authenticated_user=True,
            extra_context={"oidc_enabled": settings.OIDC_ENABLED},
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]

# Single sign-on, only when configured (settings: OIDC_RP_CLIENT_ID).
if settings.OIDC_ENABLED:
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))

handler400 = "safety_reset.core.views.error_400"
handler403 = "safety_reset.core.views.error_403"
handler404 = "safety_reset.core.views.error_404"
handler500 = "safety_reset.core.views.error_500"
