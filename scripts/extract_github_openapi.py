"""Extract the GitHub REST operations the repo_status client uses from GitHub's OpenAPI description.

The official description is the npm package `@octokit/openapi` (13 MB of JSON, ~400 MB
unpacked with its variants). The scenario tests only need the operations we call, so this
script keeps those operations and every component they reference, transitively, and writes a
small file that is committed: tests/repo_status/openapi/github-subset.json.

Reproduce it:

    cd /tmp && npm pack @octokit/openapi && tar xzf octokit-openapi-*.tgz \
        package/generated/api.github.com.json
    python scripts/extract_github_openapi.py /tmp/package/generated/api.github.com.json

The subset is kept as extracted (OpenAPI 3.0, `nullable` and all); the tests translate it to
JSON Schema when they load it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).resolve().parent.parent / "tests/repo_status/openapi/github-subset.json"

# (method, path) of every request safety_reset/repo_status/providers/github.py makes.
OPERATIONS: tuple[tuple[str, str], ...] = (
    ("get", "/repos/{owner}/{repo}"),
    ("get", "/repos/{owner}/{repo}/branches/{branch}"),
    ("get", "/repos/{owner}/{repo}/branches/{branch}/protection"),
    ("get", "/repos/{owner}/{repo}/rules/branches/{branch}"),
    ("get", "/repos/{owner}/{repo}/rulesets/{ruleset_id}"),
    ("get", "/repos/{owner}/{repo}/contents/{path}"),
    ("get", "/repos/{owner}/{repo}/pulls"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/commits"),
    ("get", "/repos/{owner}/{repo}/codeowners/errors"),
    # The review gate (repo_status/gate.py): open pull requests and the status it posts.
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("post", "/repos/{owner}/{repo}/statuses/{sha}"),
)

# Documentation that the tests never read; dropping it keeps the committed file small.
DROPPED_KEYS = ("description", "example", "examples", "x-github", "externalDocs", "summary")


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _strip(node: Any, *, in_properties: bool = False) -> Any:
    if isinstance(node, dict):
        return {
            key: _strip(value, in_properties=key == "properties")
            for key, value in node.items()
            # A property may itself be called "description"; only drop the annotation keyword.
            if in_properties or key not in DROPPED_KEYS
        }
    if isinstance(node, list):
        return [_strip(value) for value in node]
    return node


def _resolve_pointer(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def extract(document: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path in OPERATIONS:
        operation = document["paths"][path][method]
        paths.setdefault(path, {})[method] = operation
    components: dict[str, dict[str, Any]] = {}
    pending = _refs(paths)
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        target = _resolve_pointer(document, ref)
        components.setdefault(kind, {})[name] = target
        pending |= _refs(target) - seen
    subset = {
        "openapi": document["openapi"],
        "info": {
            "title": document["info"]["title"],
            "version": document["info"]["version"],
            "x-extracted-by": "scripts/extract_github_openapi.py",
        },
        "paths": paths,
        "components": {
            kind: dict(sorted(items.items())) for kind, items in sorted(components.items())
        },
    }
    return _strip(subset)


# The webhook events POST /hooks/github/ handles (keys of @octokit/openapi-webhooks' `webhooks`).
WEBHOOKS: tuple[str, ...] = (
    "ping",
    "pull-request-opened",
    "pull-request-synchronize",
    "pull-request-closed",
    "pull-request-review-submitted",
    "pull-request-review-dismissed",
    "push",
    "branch-protection-rule-edited",
    "repository-ruleset-edited",
    "installation-repositories-added",
)
WEBHOOKS_OUTPUT = OUTPUT.with_name("github-webhooks-subset.json")


def extract_webhooks(document: dict[str, Any]) -> dict[str, Any]:
    """The webhook payload schemas of WEBHOOKS, from @octokit/openapi-webhooks'
    generated/api.github.com.json, with every component they reference."""
    webhooks = {name: document["webhooks"][name] for name in WEBHOOKS}
    components: dict[str, dict[str, Any]] = {}
    pending = _refs(webhooks)
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        target = _resolve_pointer(document, ref)
        components.setdefault(kind, {})[name] = target
        pending |= _refs(target) - seen
    return _strip(
        {
            "openapi": document["openapi"],
            "info": {"title": document["info"]["title"], "version": document["info"]["version"]},
            "webhooks": webhooks,
            "components": {k: dict(sorted(v.items())) for k, v in sorted(components.items())},
        }
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "source", type=Path, help="generated/api.github.com.json of @octokit/openapi"
    )
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    parser.add_argument(
        "--webhooks",
        action="store_true",
        help="source is @octokit/openapi-webhooks' generated/api.github.com.json",
    )
    args = parser.parse_args(argv)
    document = json.loads(args.source.read_text())
    if args.webhooks:
        output = args.output if args.output != OUTPUT else WEBHOOKS_OUTPUT
        output.write_text(json.dumps(extract_webhooks(document), indent=1) + "\n")
        print(f"{len(WEBHOOKS)} webhooks, {output.stat().st_size:,} bytes -> {output}")
        return 0
    subset = extract(document)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(subset, indent=1, sort_keys=False) + "\n")
    size = args.output.stat().st_size
    print(
        f"{len(OPERATIONS)} operations, {sum(map(len, subset['components'].values()))} components, {size:,} bytes -> {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
