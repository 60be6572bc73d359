"""Refuse input no field can hold, before any view sees it.

A NUL byte (PostgreSQL text cannot store one, and psycopg raises on it) or a lone surrogate
(not encodable as UTF-8) in a query parameter, a form field, or any string of a JSON body is a
400 naming the field: JSON `{field: [message]}` under /api/, the 400 page elsewhere. Nothing has
been written when it answers. Names are checked as well as values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render

from .uploads import UploadTooLarge

UNUSABLE = re.compile("[\x00\ud800-\udfff]")
MESSAGE = "This value contains a NUL byte or characters that cannot be stored."


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _query_dict(data: QueryDict) -> Iterator[tuple[str, str]]:
    for key, values in data.lists():
        if UNUSABLE.search(key):
            yield "non_field_errors", key
        for value in values:
            yield key, value


def _json(value: Any, field: str = "non_field_errors") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield field, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _json(str(key), field)
            yield from _json(item, str(key) if field == "non_field_errors" else field)
    elif isinstance(value, list):
        for item in value:
            yield from _json(item, field)


def _values(request: HttpRequest) -> Iterator[tuple[str, str]]:
    yield from _query_dict(request.GET)
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    content_type = request.content_type or ""
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        yield from _query_dict(request.POST)
        for key, files in request.FILES.lists():
            for upload in files:
                yield key, upload.name or ""
    elif content_type.endswith("json"):
        length = int(request.headers.get("content-length") or 0)
        if length and length <= (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or length):
            try:
                body = json.loads(request.body)
            except ValueError:
                return  # the parser says what is wrong with it
            yield from _json(body)


class UnusableInputMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            bad = sorted({field for field, value in _values(request) if UNUSABLE.search(value)})
        except UploadTooLarge as exc:
            if is_api(request):
                return JsonResponse({exc.field or "non_field_errors": [str(exc)]}, status=400)
            raise
        if not bad:
            return self.get_response(request)
        if is_api(request):
            return JsonResponse({field: [MESSAGE] for field in bad}, status=400)
        reason = f"{MESSAGE} ({', '.join(bad)})"
        return render(request, "400.html", {"reason": reason}, status=400)
