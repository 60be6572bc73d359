"""Which automated controls some rule implements: a registry keyed by control key.

The apps that evaluate automated controls (repo_status for branch protection, CODEOWNERS and AI
review; identities for agent privileges) register their keys when Django starts (their
`AppConfig.ready`), so the catalog, below them, can refuse a version whose automated control
nobody checks without importing them. An automated control no rule implements would stay "not
assessed" for ever on every audit.
"""

from __future__ import annotations

from collections.abc import Iterable

_IMPLEMENTED: dict[str, str] = {}  # control key -> the app that checks it


def rule_register(*, keys: Iterable[str], by: str) -> None:
    for key in keys:
        _IMPLEMENTED[key] = by


def rule_implemented(key: str) -> bool:
    return key in _IMPLEMENTED


def implemented_keys() -> frozenset[str]:
    return frozenset(_IMPLEMENTED)
