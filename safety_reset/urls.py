from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from safety_reset.core import views as core_views
from safety_reset.dashboards import views as dashboard_views

admin.site.site_header = "Code Safety Reset — administration"
admin.site.site_title = "Code Safety Reset admin"

urlpatterns = [
    path("", dashboard_views.home, name="home"),
    path("systems/", dashboard_views.system_list, name="systems"),
    path("healthz/", core_views.healthz, name="healthz"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]

handler403 = "safety_reset.core.views.error_403"
handler404 = "safety_reset.core.views.error_404"
handler500 = "safety_reset.core.views.error_500"

