"""The verdict of `agent-least-privilege` and `human-in-the-loop` from the register.

Pure over rows already loaded (identities with their policies, and what discovery saw): failing
when a production identity of the system can perform a destructive action without a recorded
human gate, when an agent or bot is seen but not registered, or when an attestation has lapsed;
passing when every identity is registered, attested and either cannot destroy production or sits
behind a gate. The summary names the identity, the action and the policy statement; the
snapshot keeps what was found.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .analysis import analyze_repository_permissions
from .discovery import Seen
from .models import Identity, IdentityPolicy

PoliciesOf = Callable[[Identity], Iterable[IdentityPolicy]]

CONTROL_KEYS = ("agent-least-privilege", "human-in-the-loop")
SUMMARY_LIMIT = 2000


def _policies(identity: Identity) -> Iterable[IdentityPolicy]:
    return identity.policies.all()


def destructive_findings(
    identity: Identity, policies_of: PoliciesOf = _policies
) -> list[dict[str, Any]]:
    """What the identity may destroy without MFA: one row per action, naming policy and statement."""
    rows = []
    for policy in policies_of(identity):
        for finding in policy.findings():
            if not finding.get("mfa"):
                rows.append({**finding, "policy": policy.name})
    rows.extend(
        {**f, "policy": "repository permissions", "statement": None, "sid": ""}
        for f in analyze_repository_permissions(identity.repository_permissions or {})
    )
    return rows


def _where(finding: dict[str, Any]) -> str:
    if finding.get("statement") is None:
        return f"from {finding['policy']}"
    sid = f" “{finding['sid']}”" if finding.get("sid") else ""
    return f"from policy “{finding['policy']}”, statement {finding['statement']}{sid}"


def verdict(
    *,
    system_slug: str,
    identities: Sequence[Identity],
    unseen: Sequence[Seen],
    now: dt.datetime,
    policies_of: PoliciesOf = _policies,
) -> tuple[bool, str, dict[str, Any]] | None:
    """(passing, summary, snapshot), or None when the register knows nothing of the system.

    `policies_of` gives an identity's policies (by default its prefetched `policies`; the demo
    planner passes rows it has not saved yet)."""
    if not identities and not unseen:
        return None
    problems: list[str] = []
    rows = []
    for identity in identities:
        findings = destructive_findings(identity, policies_of) if identity.is_production else []
        ungated = bool(findings) and not identity.gate_required
        lapsed = identity.attestation_lapsed(now)
        if ungated:
            first = findings[0]
            more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
            problems.append(
                f"{identity.name} can {first['action']} in production {_where(first)}{more} "
                "with no recorded human gate"
            )
        if lapsed:
            when = (
                f"last attested {identity.last_attested_at:%Y-%m-%d}"
                if identity.last_attested_at
                else "never attested"
            )
            problems.append(f"{identity.name}: attestation lapsed ({when})")
        rows.append(
            {
                "identity": identity.name,
                "id": identity.pk,
                "kind": identity.kind,
                "environment": identity.environment,
                "accountable": identity.accountable.email,
                "destructive": findings[:20],
                "destructive_count": len(findings),
                "gate": {
                    "required": identity.gate_required,
                    "approver": identity.gate_approver.email if identity.gate_approver else None,
                    "evidence": identity.gate_evidence,
                },
                "last_attested_at": (
                    identity.last_attested_at.isoformat() if identity.last_attested_at else None
                ),
                "attestation_lapsed": lapsed,
                "passing": not ungated and not lapsed,
            }
        )
    for s in unseen:
        problems.append(f"{s.login} ({s.source} in {s.repository}) is seen but not registered")
    passing = not problems
    if passing:
        summary = (
            f"All {len(identities)} identities are registered and attested; none can destroy "
            "production without a named human's gate."
        )
    else:
        summary = "; ".join(problems)
    snapshot = {
        "system": system_slug,
        "checked_at": now.isoformat(),
        "passing": passing,
        "identities": rows,
        "seen_not_registered": [
            {"login": s.login, "kind": s.kind, "source": s.source, "repository": s.repository}
            for s in unseen
        ],
    }
    return passing, summary[:SUMMARY_LIMIT], snapshot
