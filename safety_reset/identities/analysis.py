"""What an IAM policy document allows, as pure functions: no database, no network.

The action catalogue is parliament's `iam_definition.json` (the AWS Service Authorization
Reference, every service's actions with their access level: List, Read, Write, Permissions
management, Tagging), read as data. parliament's linter module is not imported: its import
opens files it never closes (ResourceWarning, an error under our pytest settings) and leans on
`pkg_resources`; the catalogue is all we need from it.

- `analyze_policy(document)` expands `Action`/`NotAction` wildcards against the catalogue,
  classifies each allowed action (destructive, write, read), subtracts what unconditional
  `Deny` statements on every resource take away, and reports per statement: effect, actions
  found, resources (ARN patterns), conditions (MFA and tag conditions noted).
- `analyze_repository_permissions(perms)` does the same for a GitHub App's or bot's repository
  permissions as the provider reports them.

Destructive: a Write action that deletes, terminates, destroys, purges, drops or removes
(stacks, databases, buckets, clusters, instances, …), and every Permissions-management action
of IAM and Organizations (changing who may do what). A destructive action gated by an MFA
condition (`aws:MultiFactorAuthPresent` true) is listed but does not make the policy able to
destroy on its own: an agent has no MFA device, a human must be present. A tag condition is
noted and does not gate: tags are set by whoever can write.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

DESTRUCTIVE_VERB = re.compile(r"^(Delete|Terminate|Destroy|Purge|Drop|Remove)")
IAM_SERVICES = frozenset({"iam", "organizations"})
MFA_KEYS = frozenset({"aws:multifactorauthpresent", "aws:multifactorauthage"})
ALL_RESOURCES = ["*"]
FINDINGS_PER_STATEMENT = 200


class PolicyError(ValueError):
    """The document is not an IAM policy; the message names the problem."""


@dataclass(frozen=True)
class Action:
    service: str
    name: str
    level: str

    @property
    def key(self) -> str:
        return f"{self.service}:{self.name}"

    @property
    def kind(self) -> str:
        if self.level == "Permissions management" and self.service in IAM_SERVICES:
            return "destructive"
        if self.level == "Write" and DESTRUCTIVE_VERB.match(self.name):
            return "destructive"
        if self.level in ("Read", "List"):
            return "read"
        return "write"


@functools.cache
def catalogue() -> dict[str, tuple[Action, ...]]:
    """Every service prefix → its actions, from parliament's copy of the AWS reference."""
    spec = importlib.util.find_spec("parliament")  # finds the package without importing it
    if spec is None or spec.origin is None:
        raise RuntimeError("The parliament package (the IAM action catalogue) is not installed.")
    path = Path(spec.origin).with_name("iam_definition.json")
    with path.open(encoding="utf-8") as handle:
        services = json.load(handle)
    by_prefix: dict[str, list[Action]] = {}
    for service in services:
        actions = by_prefix.setdefault(service["prefix"], [])
        actions.extend(
            Action(service["prefix"], p["privilege"], p["access_level"])
            for p in service["privileges"]
        )
    return {prefix: tuple(actions) for prefix, actions in by_prefix.items()}


@functools.lru_cache(maxsize=4096)
def expand(pattern: str) -> tuple[Action, ...]:
    """`s3:Delete*` → every S3 action it names; `*` → every action. Case-insensitive, as IAM."""
    if pattern == "*":
        return tuple(a for actions in catalogue().values() for a in actions)
    service, sep, name = pattern.partition(":")
    if not sep or not service or not name:
        raise PolicyError(f"“{pattern}” is not an action: write service:Action (or *).")
    service, name = service.lower(), name.lower()
    found: list[Action] = []
    for prefix, actions in catalogue().items():
        if fnmatchcase(prefix, service):
            found.extend(a for a in actions if fnmatchcase(a.name.lower(), name))
    return tuple(found)


def _strings(statement: dict[str, Any], key: str, index: int) -> list[str] | None:
    value = statement.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise PolicyError(f"Statement {index}: “{key}” must be a string or a list of strings.")


def _conditions(condition: Any, index: int) -> dict[str, Any]:
    if condition is None:
        return {"present": False, "mfa": False, "tags": [], "keys": []}
    if not isinstance(condition, dict):
        raise PolicyError(f"Statement {index}: “Condition” must be an object.")
    keys: list[str] = []
    mfa = False
    tags: list[str] = []
    for operator, clauses in condition.items():
        if not isinstance(clauses, dict):
            raise PolicyError(f"Statement {index}: Condition “{operator}” must be an object.")
        for key, value in clauses.items():
            keys.append(f"{operator} {key}")
            lowered = key.lower()
            values = value if isinstance(value, list) else [value]
            if lowered == "aws:multifactorauthpresent" and operator.startswith("Bool"):
                mfa = mfa or any(str(v).lower() == "true" for v in values)
            elif lowered == "aws:multifactorauthage":
                mfa = True
            if "tag/" in lowered or lowered.endswith(("tagkeys", "tagkeys")):
                tags.append(key)
    return {"present": True, "mfa": mfa, "tags": tags, "keys": keys}


def _statements(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, str | bytes):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as exc:
            raise PolicyError(
                f"The document is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
            ) from exc
    if not isinstance(document, dict):
        raise PolicyError("The document must be a JSON object with a “Statement”.")
    if "Statement" not in document:
        raise PolicyError("The document has no “Statement”.")
    statements = document["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise PolicyError("“Statement” must be an object or a non-empty list of objects.")
    for index, statement in enumerate(statements, start=1):
        if not isinstance(statement, dict):
            raise PolicyError(f"Statement {index} must be an object.")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise PolicyError(f"Statement {index}: “Effect” must be “Allow” or “Deny”.")
        if ("Action" in statement) == ("NotAction" in statement):
            raise PolicyError(f"Statement {index}: give exactly one of “Action” or “NotAction”.")
    return statements


def _expand_all(patterns: list[str]) -> set[Action]:
    found: set[Action] = set()
    for pattern in patterns:
        found.update(expand(pattern))
    return found


def analyze_policy(document: Any) -> dict[str, Any]:
    """The analysis kept with a policy and answered by the API (see the module docstring)."""
    statements = _statements(document)
    every = set(expand("*"))
    parsed = []
    for index, statement in enumerate(statements, start=1):
        actions = _strings(statement, "Action", index)
        not_actions = _strings(statement, "NotAction", index)
        resources = _strings(statement, "Resource", index)
        not_resources = _strings(statement, "NotResource", index)
        named = _expand_all(actions if actions is not None else not_actions or [])
        found = named if actions is not None else every - named
        unknown = [p for p in (actions or not_actions or []) if p != "*" and not expand(p)]
        parsed.append(
            {
                "index": index,
                "sid": str(statement.get("Sid", "")),
                "effect": statement["Effect"],
                "patterns": actions or [],
                "not_action": not_actions or [],
                "resources": resources if resources is not None else [],
                "not_resource": not_resources or [],
                "conditions": _conditions(statement.get("Condition"), index),
                "unknown": unknown,
                "_found": found,
            }
        )
    # An unconditional Deny on every resource cancels the same actions wherever they are
    # allowed. A Deny with a condition or on some resources only is kept and shown, but it
    # cannot be proven to cover an allow, so it takes nothing away.
    denied: set[Action] = set()
    for s in parsed:
        if (
            s["effect"] == "Deny"
            and not s["conditions"]["present"]
            and s["resources"] == ALL_RESOURCES
            and not s["not_resource"]
        ):
            denied |= s["_found"]
    out_statements = []
    findings: list[dict[str, Any]] = []
    destructive: set[str] = set()
    can_destroy = False
    for s in parsed:
        matched: set[Action] = s.pop("_found")
        if s["effect"] == "Allow":
            allowed = matched - denied
            s["denied_by_explicit_deny"] = len(matched) - len(allowed)
            kinds: dict[str, list[str]] = {"destructive": [], "write": [], "read": []}
            for action in allowed:
                kinds[action.kind].append(action.key)
            for names in kinds.values():
                names.sort()
            s["destructive"] = kinds["destructive"]
            s["counts"] = {kind: len(names) for kind, names in kinds.items()}
            gated = s["conditions"]["mfa"]
            s["gated_by_mfa"] = gated
            destructive.update(kinds["destructive"])
            if kinds["destructive"] and not gated:
                can_destroy = True
            findings.extend(
                {
                    "action": name,
                    "statement": s["index"],
                    "sid": s["sid"],
                    "resources": s["resources"] or s["not_resource"],
                    "mfa": gated,
                    "tags": s["conditions"]["tags"],
                }
                for name in kinds["destructive"][:FINDINGS_PER_STATEMENT]
            )
        else:
            s["denies"] = len(matched)
            s["cancels"] = not s["conditions"]["present"] and s["resources"] == ALL_RESOURCES
        out_statements.append(s)
    return {
        "destructive_actions": sorted(destructive),
        "can_delete_production": can_destroy,
        "statements": out_statements,
        "findings": findings,
    }


# --- Repository permissions -------------------------------------------------------------------

REPOSITORY_DESTRUCTIVE = {
    "administration": "may change or delete the repository and its branch protection",
    "ruleset_bypass": "may bypass the branch rulesets",
}


def analyze_repository_permissions(permissions: dict[str, Any]) -> list[dict[str, Any]]:
    """Findings of a GitHub App's or bot's repository permissions (GitHub's names)."""
    findings = []
    if str(permissions.get("administration", "")).lower() in ("write", "admin"):
        findings.append(
            {"action": "github:administration", "why": REPOSITORY_DESTRUCTIVE["administration"]}
        )
    if permissions.get("ruleset_bypass"):
        findings.append(
            {"action": "github:ruleset_bypass", "why": REPOSITORY_DESTRUCTIVE["ruleset_bypass"]}
        )
    return findings
