"""The rules, as pure functions over what a provider read: no database, no network.

- `ai_signals`: why a change counts as AI-assisted (label, agent or app author, trailers).
- `review_verdict`: the review rule. An AI-assisted change needs at least two approvals from
  distinct humans, given after its last push, one of them by a senior reviewer of the system.
  The author, commit authors and co-authors, bots, and whoever assigned or prompted an
  agent-authored change do not count; merging is not reviewing (unlike OpenSSF Scorecard's
  Code-Review check, which counts the merger and drops approved bot changes). A change that is
  not AI-assisted needs one approval from a human who did not write it.
- `protection_verdicts`: the repository controls from a repository's last pulled status.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from .providers.base import ChangeData, ReviewData

AI_REQUIRED_APPROVALS = 2
OTHER_REQUIRED_APPROVALS = 1
_TRAILER_RE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)\s*:\s*(.*\S)\s*$")
_NOREPLY_RE = re.compile(r"^(?:\d+\+)?([^@]+)@users\.noreply\.github\.com$", re.IGNORECASE)
_FALSY = {"false", "no", "0", "none"}


@dataclass(frozen=True)
class AiPolicy:
    labels: frozenset[str]
    agent_logins: frozenset[str]
    trailer_keys: frozenset[str]
    coauthor_patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def from_settings(cls) -> AiPolicy:
        return cls(
            labels=frozenset(x.strip().lower() for x in settings.REPO_AI_LABELS if x.strip()),
            agent_logins=frozenset(
                x.strip().lower() for x in settings.REPO_AI_AGENT_LOGINS if x.strip()
            ),
            trailer_keys=frozenset(
                x.strip().lower() for x in settings.REPO_AI_TRAILERS if x.strip()
            ),
            coauthor_patterns=tuple(
                re.compile(p, re.IGNORECASE) for p in settings.REPO_AI_COAUTHOR_PATTERNS if p
            ),
        )

    def is_agent(self, login: str) -> bool:
        return login.lower() in self.agent_logins


@dataclass(frozen=True)
class Seniors:
    """Who counts as a senior reviewer of the system: GitHub logins and email addresses."""

    logins: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()

    @classmethod
    def of(cls, people: Iterable[Any]) -> Seniors:
        people = [p for p in people if p is not None]
        return cls(
            logins=frozenset(p.github_login.lower() for p in people if p.github_login),
            emails=frozenset(p.email.lower() for p in people if p.email),
        )

    def includes(self, review: ReviewData) -> bool:
        return bool(
            (review.login and review.login.lower() in self.logins)
            or (review.email and review.email.lower() in self.emails)
        )


@dataclass
class ReviewVerdict:
    ai_assisted: bool
    ai_signals: list[str]
    approvals: list[dict[str, Any]]
    senior_approved: bool
    compliant: bool
    findings: list[str] = field(default_factory=list)

    @property
    def approval_count(self) -> int:
        return len(self.approvals)


def parse_trailers(message: str) -> list[tuple[str, str]]:
    """`Key: value` trailers of a commit message's last paragraph (git's own convention)."""
    paragraphs = [p for p in re.split(r"\n\s*\n", message.strip()) if p.strip()]
    if len(paragraphs) < 2:
        return []
    found = []
    for line in paragraphs[-1].splitlines():
        match = _TRAILER_RE.match(line.strip())
        if match:
            found.append((match.group(1), match.group(2)))
    return found


def _identity(value: str) -> tuple[str, str]:
    """(login, email) named by a trailer value like `Name <email>`; noreply emails give a login."""
    email = value[value.find("<") + 1 : value.find(">")] if "<" in value else value
    email = email.strip().lower()
    match = _NOREPLY_RE.match(email)
    return (match.group(1) if match else "", email)


def ai_signals(change: ChangeData, policy: AiPolicy) -> list[str]:
    signals: list[str] = []
    for label in change.labels:
        if label.lower() in policy.labels:
            signals.append(f"label: {label}")
    if policy.is_agent(change.author_login):
        signals.append(f"agent author: {change.author_login}")
    elif change.author_is_bot:
        signals.append(f"app author: {change.author_login}")
    for commit in change.commits:
        for key, value in parse_trailers(commit.message):
            lowered = key.lower()
            if lowered in policy.trailer_keys and value.strip().lower() not in _FALSY:
                signals.append(f"trailer {key}: {value}")
            elif lowered == "co-authored-by" and any(
                p.search(value) for p in policy.coauthor_patterns
            ):
                signals.append(f"AI co-author: {value}")
    return list(dict.fromkeys(signals))


def _excluded(change: ChangeData, policy: AiPolicy) -> tuple[set[str], set[str], str]:
    """Logins and emails whose approval does not count, and why (for the findings)."""
    logins = {change.author_login.lower()} if change.author_login else set()
    emails = {change.author_email.lower()} if change.author_email else set()
    for commit in change.commits:
        if commit.author_login:
            logins.add(commit.author_login.lower())
        if commit.author_email:
            emails.add(commit.author_email.lower())
        for key, value in parse_trailers(commit.message):
            if key.lower() == "co-authored-by":
                login, email = _identity(value)
                logins.add(login) if login else None
                emails.add(email)
    why = "wrote part of the change"
    if policy.is_agent(change.author_login) or change.author_is_bot:
        # Whoever assigned or prompted the agent directed the change: not an independent review.
        logins.update(a.lower() for a in change.assignees if a)
        why = "wrote, assigned or prompted the change"
    logins.discard("")
    emails.discard("")
    return logins, emails, why


def review_verdict(change: ChangeData, *, policy: AiPolicy, seniors: Seniors) -> ReviewVerdict:
    signals = ai_signals(change, policy)
    ai = bool(signals)
    excluded_logins, excluded_emails, why = _excluded(change, policy)
    last_push = change.last_push_at
    findings: list[str] = []
    latest: dict[str, ReviewData] = {}
    ordered = sorted(
        change.reviews, key=lambda r: (r.submitted_at is not None, r.submitted_at or 0)
    )
    for review in ordered:
        if review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            latest[(review.login or review.email).lower()] = review
    approvals: list[dict[str, Any]] = []
    for review in latest.values():
        if review.state != "APPROVED":
            continue
        name = review.login or review.email
        if review.is_bot or policy.is_agent(review.login):
            findings.append(f"{name} is a bot: its approval does not count.")
            continue
        if (review.login and review.login.lower() in excluded_logins) or (
            review.email and review.email.lower() in excluded_emails
        ):
            findings.append(f"{name} {why}: their approval does not count.")
            continue
        stale = bool(review.commit_id and change.head_sha and review.commit_id != change.head_sha)
        if review.submitted_at and last_push and review.submitted_at < last_push:
            stale = True
        if stale:
            findings.append(f"{name} approved before the last push: the approval is stale.")
            continue
        approvals.append(
            {
                "login": review.login,
                "email": review.email,
                "submitted_at": review.submitted_at.isoformat() if review.submitted_at else None,
                "senior": seniors.includes(review),
            }
        )
    senior = any(a["senior"] for a in approvals)
    needed = AI_REQUIRED_APPROVALS if ai else OTHER_REQUIRED_APPROVALS
    compliant = len(approvals) >= needed and (senior or not ai)
    if len(approvals) < needed:
        findings.append(f"{len(approvals)} approval(s) that count; {needed} needed.")
    if ai and not senior:
        findings.append("No approval by a senior reviewer of the system.")
    return ReviewVerdict(
        ai_assisted=ai,
        ai_signals=signals,
        approvals=approvals,
        senior_approved=senior,
        compliant=compliant,
        findings=findings,
    )


# --- Repository controls ---------------------------------------------------------------------

PROTECTION_CONTROLS = (
    "two-person-review",
    "stale-review-dismissal",
    "no-admin-bypass",
    "required-checks",
)
CODEOWNERS_CONTROL = "codeowners"
AI_REVIEW_CONTROL = "senior-signoff-ai"
AUTOMATED_CONTROLS = (*PROTECTION_CONTROLS, CODEOWNERS_CONTROL, AI_REVIEW_CONTROL)


def protection_verdicts(status: dict[str, Any]) -> dict[str, tuple[bool, str]]:
    """Per control key, (passing, why) for one repository's last pulled status.

    A repository whose protection cannot be observed (plain git) gives no protection verdicts.
    """
    verdicts: dict[str, tuple[bool, str]] = {}
    if "codeowners_path" in status:
        path = status.get("codeowners_path")
        verdicts[CODEOWNERS_CONTROL] = (
            (True, f"CODEOWNERS found at /{path}.")
            if path
            else (False, "No CODEOWNERS in /.github, the root or /docs.")
        )
    protection = status.get("protection") or {}
    if not protection.get("observable", False):
        return verdicts
    sources = protection.get("sources") or []
    count = int(protection.get("required_approvals") or 0)
    where = ", ".join(sources) if sources else "no branch protection and no ruleset"
    verdicts["two-person-review"] = (
        count >= 2,
        f"{count} approving review(s) required ({where}).",
    )
    verdicts["stale-review-dismissal"] = (
        bool(protection.get("dismiss_stale_reviews")),
        "Stale approvals are dismissed on push."
        if protection.get("dismiss_stale_reviews")
        else f"Stale approvals are not dismissed on push ({where}).",
    )
    if not sources:
        admin = (False, "No protection at all: anyone with write access can push.")
    elif protection.get("bypass_actors"):
        actors = ", ".join(
            f"{a.get('actor_type')} {a.get('actor_id') or ''}".strip()
            for a in protection["bypass_actors"]
        )
        admin = (False, f"Ruleset bypass actors: {actors}.")
    elif protection.get("bypass_unknown"):
        admin = (False, "A ruleset's bypass actors are not visible to the token.")
    elif not protection.get("admins_enforced"):
        admin = (False, "Classic protection does not apply to administrators.")
    else:
        admin = (True, "Administrators are bound by the protection.")
    verdicts["no-admin-bypass"] = admin
    checks = protection.get("required_checks") or []
    verdicts["required-checks"] = (
        bool(checks),
        f"Required checks: {', '.join(checks)}." if checks else "No required status checks.",
    )
    return verdicts
