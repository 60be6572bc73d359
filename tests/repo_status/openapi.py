"""GitHub's OpenAPI description (the committed subset) as JSON Schema: validate and generate.

`scripts/extract_github_openapi.py` writes openapi/github-subset.json from the npm package
`@octokit/openapi`. Here it is turned into JSON Schema 2020-12 (OpenAPI 3.0's `nullable` becomes
a "null" type), requests are matched to their operation and checked (path and query
parameters), and response bodies are checked against the operation's schema for that status.
`minimal` builds the smallest instance a schema accepts, which scenario builders then override
with what the scenario is about, so scenario payloads carry every field GitHub guarantees.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SUBSET = Path(__file__).parent / "openapi" / "github-subset.json"
BASE_URI = "urn:github-openapi"


def _to_json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_to_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        if "type" in out and isinstance(out["type"], str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            return {"anyOf": [out, {"type": "null"}]}
    return out


@functools.cache
def document() -> dict[str, Any]:
    return _to_json_schema(json.loads(SUBSET.read_text()))


@functools.cache
def _registry() -> Registry:
    return Registry().with_resource(
        BASE_URI, Resource(contents=document(), specification=DRAFT202012)
    )


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node and len(node) == 1:
        target: Any = document()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


@functools.cache
def _operations() -> list[tuple[re.Pattern[str], str, dict[str, Any]]]:
    found = []
    for template, item in document()["paths"].items():
        regex = "^"
        for piece in re.split(r"(\{[^}]+\})", template):
            if piece.startswith("{"):
                name = piece[1:-1]
                # `path` of the contents API spans segments (x-multi-segment).
                regex += f"(?P<{name}>.+)" if name == "path" else f"(?P<{name}>[^/]+)"
            else:
                regex += re.escape(piece)
        found.append((re.compile(regex + "$"), template, item))
    # Most specific first: /pulls/{n}/reviews before /{repo}.
    return sorted(found, key=lambda f: -len(f[1]))


class OpenAPIError(AssertionError):
    pass


def _validate(instance: Any, pointer: str, what: str) -> None:
    validator = Draft202012Validator({"$ref": f"{BASE_URI}#/{pointer}"}, registry=_registry())
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    if errors:
        details = "; ".join(
            f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:200]}"
            for e in errors[:5]
        )
        raise OpenAPIError(f"{what} does not match GitHub's OpenAPI description: {details}")


def match_request(
    method: str, path: str, query: dict[str, list[str]]
) -> tuple[str, dict[str, str]]:
    """The operation's path template for a request; raises if the request is not a documented one."""
    for regex, template, item in _operations():
        match = regex.match(path)
        if not match or method.lower() not in item:
            continue
        operation = item[method.lower()]
        params = {}
        for param in operation.get("parameters", []):
            param = resolve(param)
            params[(param["in"], param["name"])] = param
        values = match.groupdict()
        for name, value in values.items():
            schema = params[("path", name)]["schema"]
            _check_param(value, schema, f"path parameter {name} of {template}")
        for name, value_list in query.items():
            if ("query", name) not in params:
                raise OpenAPIError(f"{template} has no query parameter {name!r}")
            for value in value_list:
                _check_param(
                    value, params[("query", name)]["schema"], f"query {name} of {template}"
                )
        for (where, name), param in params.items():
            if where == "query" and param.get("required") and name not in query:
                raise OpenAPIError(f"{template} needs the query parameter {name!r}")
        return template, values
    raise OpenAPIError(f"{method} {path} is not an operation of the OpenAPI subset")


def _check_param(raw: str, schema: dict[str, Any], what: str) -> None:
    value: Any = raw
    if schema.get("type") == "integer":
        if not re.fullmatch(r"-?\d+", raw):
            raise OpenAPIError(f"{what}: {raw!r} is not an integer")
        value = int(raw)
    errors = list(Draft202012Validator(schema).iter_errors(value))
    if errors:
        raise OpenAPIError(f"{what}: {errors[0].message}")


def validate_request_body(template: str, method: str, body: Any) -> None:
    """A request's JSON body must match the operation's requestBody schema."""
    operation = document()["paths"][template][method.lower()]
    if "requestBody" not in operation:
        raise OpenAPIError(f"{method.upper()} {template} takes no body")
    pointer = _pointer("paths", template, method.lower(), "requestBody")
    _validate(body, f"{pointer}/content/application~1json/schema", f"body of {method} {template}")


def validate_response(template: str, method: str, status: int, body: Any) -> None:
    """The body must match the operation's schema for that status. A status the operation does
    not document (GitHub's edge answers 429 and 5xx for any operation) must be a basic error."""
    responses = document()["paths"][template][method.lower()]["responses"]
    response = responses.get(str(status))
    if response is None:
        if status >= 400:
            _validate(body, "components/schemas/basic-error", f"{status} body of {template}")
            return
        raise OpenAPIError(f"{template} does not document the status {status}")
    if "$ref" in response:
        ref = response["$ref"].removeprefix("#/")
        response = resolve(response)
    else:
        ref = _pointer("paths", template, method.lower(), "responses", str(status))
    content = response.get("content") or {}
    if "application/json" not in content:
        if body not in (None, b"", ""):
            raise OpenAPIError(f"{status} of {template} has no body in the description")
        return
    _validate(body, f"{ref}/content/application~1json/schema", f"{status} body of {template}")


# --- Minimal instances -----------------------------------------------------------------------

_STRING_FORMATS = {
    "date-time": "2025-01-01T00:00:00Z",
    "uri": "https://github.example.test/x",
    "email": "someone@example.test",
    "uri-template": "https://github.example.test/x{/y}",
}


def minimal(schema: Any, _depth: int = 0) -> Any:
    schema = resolve(schema)
    if _depth > 40:
        raise RecursionError("schema too deep for a minimal instance")
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = minimal(part, _depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [resolve(o) for o in schema[key]]
            if any(o.get("type") == "null" for o in options):
                return None
            return minimal(options[0], _depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        if "null" in kind:
            return None
        kind = kind[0]
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties", {})
        return {
            name: minimal(props.get(name, {}), _depth + 1) for name in schema.get("required", [])
        }
    if kind == "array":
        return []
    if kind == "string":
        return _STRING_FORMATS.get(schema.get("format", ""), "x")
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return False
    return None


@functools.cache
def _component_base(name: str) -> str:
    return json.dumps(minimal({"$ref": f"#/components/schemas/{name}"}))


def component(_schema: str, /, **overrides: Any) -> Any:
    """A valid instance of a component schema, with overrides merged in (dicts recursively)."""
    return merge(json.loads(_component_base(_schema)), overrides)


def merge(base: Any, overrides: Any) -> Any:
    if isinstance(base, dict) and isinstance(overrides, dict):
        out = dict(base)
        for key, value in overrides.items():
            out[key] = (
                merge(base.get(key), value) if isinstance(value, dict) else copy.deepcopy(value)
            )
        return out
    return copy.deepcopy(overrides)
