"""The OpenAPI schema class: drf-spectacular's, plus the error responses every operation has.

Kept apart from core/api.py, which DRF's settings import before rest_framework.views exists.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


FIELD_ERRORS = {
    "type": "object",
    "description": (
        "The input was refused: each key is an input field (or `non_field_errors`), each value "
        "the list of messages, as the page's form shows them."
    ),
    "additionalProperties": {},
}


class AutoSchema(SpectacularAutoSchema):
    """Every operation documents the errors it can answer: 401 without credentials, 403 when the
    role may not, 404 for an object outside the person's view, 400 when the input is refused."""

    def _get_response_bodies(self, direction: Any = "response") -> Any:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        extra: dict[str, Any] = {
            "401": (ErrorSerializer, "Not signed in and no valid token."),
            "403": (ErrorSerializer, "Signed in, but this role may not do this."),
        }
        if "{" in self.path:
            extra["404"] = (ErrorSerializer, "No such object among those the person may see.")
        elif self._is_list_view():
            extra["404"] = (ErrorSerializer, "The `cursor` is not one this list gave out.")
        if self.method in ("POST", "PUT", "PATCH") or self._is_list_view():
            extra["400"] = (FIELD_ERRORS, "The input (or a query parameter) was refused.")
        for code, (body, description) in extra.items():
            if code not in responses:
                response = self._get_response_for_code(body, code)
                response["description"] = description
                responses[code] = response
        return responses
