"""/api/v1/: the REST API (see docs/ and /api/docs/). Each app's api.py holds its views."""

from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from safety_reset.audits import api as audits
from safety_reset.catalog import api as catalog
from safety_reset.dashboards import api as dashboards
from safety_reset.identities import api as identities
from safety_reset.incidents import api as incidents
from safety_reset.inventory import api as inventory
from safety_reset.programs import api as programs
from safety_reset.remediation import api as remediation
from safety_reset.repo_status import api as repo_status

router = DefaultRouter()
router.include_root_view = False
router.register("orgs", inventory.OrgViewSet, basename="org")
router.register("teams", inventory.TeamViewSet, basename="team")
router.register("people", inventory.PersonViewSet, basename="person")
router.register("systems/import", inventory.SystemImportViewSet, basename="system-import")
router.register("systems", inventory.SystemViewSet, basename="system")
router.register("repositories", inventory.RepositoryViewSet, basename="repository")
router.register("catalogs", catalog.CatalogViewSet, basename="catalog")
router.register("controls", catalog.ControlViewSet, basename="control")
router.register("programs", programs.ProgramViewSet, basename="program")
router.register("audits", audits.AuditViewSet, basename="audit")
router.register("items", audits.ChecklistItemViewSet, basename="item")
router.register("evidence", audits.EvidenceViewSet, basename="evidence")
router.register("exceptions", audits.ExceptionViewSet, basename="exception")
router.register("sign-offs", audits.SignOffViewSet, basename="signoff")
router.register("tasks", remediation.TaskViewSet, basename="task")
router.register("incidents", incidents.IncidentViewSet, basename="incident")
router.register("changes", repo_status.ChangeReviewRecordViewSet, basename="change")
router.register("snapshots", dashboards.SnapshotViewSet, basename="snapshot")
router.register("identities", identities.IdentityViewSet, basename="identity")

app_name = "api"

urlpatterns = [
    # Any id text reaches the view, so a malformed one gets the API's JSON 404, not the HTML one.
    re_path(
        r"^v1/programs/(?P<pk>[^/.]+)/progress/$",
        dashboards.ProgressView.as_view(),
        name="program-progress",
    ),
    re_path(
        r"^v1/programs/(?P<slug>[^/.]+)/change-catalog/$",
        catalog.ProgramCatalogChangeView.as_view(),
        name="program-change-catalog",
    ),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI from drf-spectacular-sidecar's static files. (No ReDoc: its page loads Google
    # Fonts from outside.) The split view serves its start-up script as a file, so the page
    # needs no inline script under the Content Security Policy.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
