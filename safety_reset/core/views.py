"""Health and error pages."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import CHECKS, READINESS_CHECKS, run_checks


def _health_response(checks: dict[str, str]) -> JsonResponse:
    healthy = all(result == "ok" for result in checks.values())
    failed = [name for name, result in checks.items() if result != "ok"]
    body = {"status": "ok" if healthy else "unavailable", "checks": checks, "failed": failed}
    return JsonResponse(body, status=200 if healthy else 503)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: 200 when database, cache and broker answer; 503 naming what failed otherwise."""
    return _health_response(run_checks(CHECKS))


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: /healthz/'s checks plus a recent beat heartbeat; 503 naming what failed."""
    return _health_response(run_checks(READINESS_CHECKS))


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", status=403)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    # No context processors: whatever broke may be what they need.
    from django.template import loader

    return HttpResponse(loader.get_template("500.html").render(), status=500)
