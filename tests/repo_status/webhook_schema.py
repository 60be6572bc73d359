"""GitHub's webhook payload descriptions (@octokit/openapi-webhooks, the committed subset made
by `scripts/extract_github_openapi.py --webhooks`): validate a payload, build a minimal one."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .openapi import OpenAPIError, _to_json_schema, merge

SUBSET = Path(__file__).parent / "openapi" / "github-webhooks-subset.json"
BASE_URI = "urn:github-webhooks"


@functools.cache
def document() -> dict[str, Any]:
    return _to_json_schema(json.loads(SUBSET.read_text()))


@functools.cache
def _registry() -> Registry:
    return Registry().with_resource(
        BASE_URI, Resource(contents=document(), specification=DRAFT202012)
    )


def _pointer(name: str) -> str:
    return f"webhooks/{name}/post/requestBody/content/application~1json/schema"


def validate(name: str, payload: Any) -> None:
    validator = Draft202012Validator(
        {"$ref": f"{BASE_URI}#/{_pointer(name)}"}, registry=_registry()
    )
    errors = sorted(validator.iter_errors(payload), key=lambda e: list(e.path))
    if errors:
        details = "; ".join(
            f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:200]}"
            for e in errors[:5]
        )
        raise OpenAPIError(f"{name} payload does not match the webhooks description: {details}")


def _resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _minimal(schema: Any, depth: int = 0) -> Any:
    schema = _resolve(schema)
    if depth > 60:
        raise RecursionError("schema too deep")
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = _minimal(part, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [_resolve(o) for o in schema[key]]
            if any(o.get("type") == "null" for o in options):
                return None
            return _minimal(options[0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        if "null" in kind:
            return None
        kind = kind[0]
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties", {})
        return {n: _minimal(props.get(n, {}), depth + 1) for n in schema.get("required", [])}
    if kind == "array":
        return []
    if kind == "string":
        fmt = schema.get("format", "")
        return {
            "date-time": "2026-03-01T12:00:00Z",
            "uri": "https://github.example.test/x",
            "email": "someone@example.test",
            "uri-template": "https://github.example.test/x{/y}",
        }.get(fmt, "x")
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return False
    return None


def payload(name: str, /, **overrides: Any) -> dict[str, Any]:
    """A payload the description accepts, with overrides merged in; validated before use."""
    built = merge(_minimal({"$ref": f"#/{_pointer(name)}"}), overrides)
    validate(name, built)
    return built
