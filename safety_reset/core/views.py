"""Health and error pages."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .filtering import QueryRefused
from .health import readiness
from .middleware import is_api
from .uploads import UploadTooLarge


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: 200 whenever this process can serve a request; it asks nothing outside."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 503 only when the database is unreachable; cache, broker, worker and beat
    are each reported, and their failure makes the status "degraded" (still 200)."""
    ready, checks = readiness()
    failed = [name for name, result in checks.items() if result != "ok"]
    status = "unavailable" if not ready else ("degraded" if failed else "ok")
    body = {"status": status, "checks": checks, "failed": failed}
    return JsonResponse(body, status=200 if ready else 503)


# Under /api/ every error is JSON, also for URLs no API view matched (an id with a dot).
def _api_error(request: HttpRequest, status: int, detail: str) -> JsonResponse | None:
    return JsonResponse({"detail": detail}, status=status) if is_api(request) else None


def error_400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Bad input: an upload over the limit, a query string a page cannot use (each refused
    parameter with why); say why when it is ours."""
    if isinstance(exception, QueryRefused):
        if is_api(request):
            return JsonResponse(exception.errors, status=400)
        context = {"reason": "This page cannot use its query string.", "errors": exception.errors}
        return render(request, "400.html", context, status=400)
    reason = str(exception) if isinstance(exception, UploadTooLarge) else ""
    return _api_error(request, 400, reason or "Bad request.") or render(
        request, "400.html", {"reason": reason}, status=400
    )


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _api_error(request, 403, "You do not have permission to perform this action.") or (
        render(request, "403.html", status=403)
    )


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _api_error(request, 404, "Not found.") or render(request, "404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"detail": "Server error."}, status=500)
    # No context processors: whatever broke may be what they need.
    from django.template import loader

    return HttpResponse(loader.get_template("500.html").render(), status=500)
