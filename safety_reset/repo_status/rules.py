"""The rules, as pure functions over what a provider read: no database, no network.

- `ai_signals`: why a change counts as AI-assisted: a label naming an AI tool, a trailer of git's
  trailer block naming one (`Assisted-by:`, `Generated-by:`, `AI-Assisted:`), or an author,
  commit author or `Co-authored-by:` co-author that is a known AI agent identity
  (`identity.classify`). A human's name never is; a bot (Dependabot, Renovate, github-actions)
  is not AI-assisted unless it is an AI agent.
- `review_verdict`: the review rule. An AI-assisted change needs at least two approvals from
  distinct humans, given after its last push, one of them by a senior reviewer of the system.
  The author, commit authors and co-authors, bots and agents, and whoever assigned an
  agent-authored change do not count; merging is not reviewing (unlike OpenSSF Scorecard's
  Code-Review check, which counts the merger and drops approved bot changes). A change that is
  not AI-assisted needs one approval from a human who did not write it.
- `protection_verdicts`: the repository controls from a repository's last pulled status.

- `gate_status`: what the review gate posts on an open pull request's head commit (a commit
  status `code-safety-reset/review`), read off `review_verdict`'s verdict: pending with exactly
  what is missing, success once the rule holds.

The GitHub provider, the git provider and the review gate all call `review_verdict`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from .identity import IdentityPolicy, Kind, classify, noreply_login, parse_person
from .providers.base import ChangeData, ReviewData
from .trailers import parse_trailers

__all__ = [
    "AiPolicy",
    "ReviewVerdict",
    "Seniors",
    "gate_status",
    "parse_trailers",
    "review_verdict",
]

AI_REQUIRED_APPROVALS = 2
OTHER_REQUIRED_APPROVALS = 1
_FALSY = {"false", "no", "0", "none", "n/a"}


@dataclass(frozen=True)
class AiPolicy:
    labels: frozenset[str]
    trailer_keys: frozenset[str]
    identities: IdentityPolicy

    @classmethod
    def from_settings(cls) -> AiPolicy:
        return cls(
            labels=frozenset(x.strip().lower() for x in settings.REPO_AI_LABELS if x.strip()),
            trailer_keys=frozenset(
                x.strip().lower() for x in settings.REPO_AI_TRAILERS if x.strip()
            ),
            identities=IdentityPolicy.from_settings(),
        )

    def kind(self, *, login: str = "", email: str = "", is_app: bool = False) -> Kind:
        return classify(login=login, email=email, is_app=is_app, policy=self.identities)

    def is_agent(self, login: str = "", email: str = "") -> bool:
        return self.kind(login=login, email=email) is Kind.AI_AGENT


def review_trailer_keys() -> frozenset[str]:
    """The trailers that record an approval in git-only repositories (REPO_REVIEW_TRAILERS)."""
    return frozenset(x.strip().lower() for x in settings.REPO_REVIEW_TRAILERS if x.strip())


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
    needed: int = OTHER_REQUIRED_APPROVALS

    @property
    def approval_count(self) -> int:
        return len(self.approvals)

    @property
    def missing_approvals(self) -> int:
        """How many more counted approvals the rule needs (a senior's included)."""
        more = max(0, self.needed - self.approval_count)
        if self.ai_assisted and not self.senior_approved:
            more = max(more, 1)  # the senior's approval is one more, whoever approved so far
        return more


def _co_authors(message: str) -> list[tuple[str, str]]:
    """(value, email) of each `Co-authored-by:` trailer of the message."""
    return [
        (value, parse_person(value)[1])
        for key, value in parse_trailers(message)
        if key.lower() == "co-authored-by"
    ]


def ai_signals(change: ChangeData, policy: AiPolicy) -> list[str]:
    signals: list[str] = []
    for label in change.labels:
        if label.lower() in policy.labels:
            signals.append(f"label: {label}")
    if (
        policy.kind(
            login=change.author_login, email=change.author_email, is_app=change.author_is_bot
        )
        is Kind.AI_AGENT
    ):
        signals.append(f"agent author: {change.author_login or change.author_email}")
    for commit in change.commits:
        if (commit.author_login or commit.author_email) and policy.is_agent(
            commit.author_login, commit.author_email
        ):
            signals.append(f"agent commit author: {commit.author_login or commit.author_email}")
        for key, value in parse_trailers(commit.message):
            lowered = key.lower()
            if lowered in policy.trailer_keys and value.strip().lower() not in _FALSY:
                signals.append(f"trailer {key}: {value}")
            elif lowered == "co-authored-by":
                email = parse_person(value)[1]
                if email and policy.is_agent(email=email):
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
        for _value, email in _co_authors(commit.message):
            emails.add(email)
            logins.add(noreply_login(email).lower())
    why = "wrote part of the change"
    if (
        policy.kind(
            login=change.author_login, email=change.author_email, is_app=change.author_is_bot
        )
        is Kind.AI_AGENT
    ):
        # Whoever assigned or prompted the agent directed the change: not an independent review.
        logins.update(a.lower() for a in change.assignees if a)
        why = "wrote, assigned or prompted the change"
    logins.discard("")
    emails.discard("")
    return logins, emails, why


def review_verdict(change: ChangeData, *, policy: AiPolicy, seniors: Seniors) -> ReviewVerdict:
    """The one review rule: what the compliance figures store and what the review gate posts."""
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
        kind = policy.kind(login=review.login, email=review.email, is_app=review.is_bot)
        if kind is not Kind.HUMAN:
            what = "an AI agent" if kind is Kind.AI_AGENT else "a bot"
            findings.append(f"{name} is {what}: its approval does not count.")
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
        needed=needed,
    )


# --- The review gate ------------------------------------------------------------------------

REVIEW_GATE_CONTEXT = "code-safety-reset/review"
STATUS_DESCRIPTION_LIMIT = 140  # GitHub refuses a longer commit status description


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def gate_status(verdict: ReviewVerdict, *, seniors: Seniors) -> tuple[str, str]:
    """(state, description) of the review gate's commit status for one open pull request.

    The description says exactly what is missing, naming the senior reviewers when one of
    theirs is, within GitHub's 140 characters (names that do not fit become "…")."""
    approvals = _plural(verdict.approval_count, "human approval")
    if verdict.compliant:
        if verdict.ai_assisted:
            return (
                "success",
                f"AI-assisted: {approvals} after the last push, one by a senior reviewer.",
            )
        return "success", f"Reviewed: {approvals} after the last push."
    more = verdict.missing_approvals
    needs = f"needs {more} more human approval{'' if more == 1 else 's'} after the last push"
    if not verdict.ai_assisted:
        return (
            "pending",
            f"Needs {_plural(more, 'human approval')} after the last push by someone who did not write it.",
        )
    if verdict.senior_approved:
        return "pending", f"AI-assisted: {needs}."
    head = f"AI-assisted: {needs}, one from a senior reviewer"
    names = [f"@{x}" for x in sorted(seniors.logins)] or sorted(seniors.emails)
    if not names:
        return "pending", _fit(f"{head} (none is set for the system).")
    text = f"{head}: "
    for i, name in enumerate(names):
        candidate = text + ("" if i == 0 else ", ") + name
        rest = len(names) - i - 1
        if len(candidate) + (3 if rest else 0) > STATUS_DESCRIPTION_LIMIT:
            return "pending", _fit(text.rstrip(", ") + (", …" if i else "…"))
        text = candidate
    return "pending", _fit(text)


def _fit(text: str) -> str:
    if len(text) <= STATUS_DESCRIPTION_LIMIT:
        return text
    return text[: STATUS_DESCRIPTION_LIMIT - 1] + "…"


# --- Repository controls ---------------------------------------------------------------------

PROTECTION_CONTROLS = (
    "two-person-review",
    "stale-review-dismissal",
    "no-admin-bypass",
    "required-checks",
)
CODEOWNERS_CONTROL = "codeowners"
AI_REVIEW_CONTROL = "senior-signoff-ai"
# The default branch requires the review gate's status: the program's rule cannot be merged
# around. Not in the default catalog v1 (published versions are frozen): a catalog gets it by
# `control_add` on a draft version with this key, evaluation "automated".
REVIEW_GATE_CONTROL = "review-gate-required"
AUTOMATED_CONTROLS = (
    *PROTECTION_CONTROLS,
    CODEOWNERS_CONTROL,
    AI_REVIEW_CONTROL,
    REVIEW_GATE_CONTROL,
)


def protection_verdicts(status: dict[str, Any]) -> dict[str, tuple[bool | None, str]]:
    """Per control key, (passing, why) for one repository's last pulled status; passing is None
    when it is unknown (the token could not read what decides it).

    The checklist's automated items and the repository panel both read this, from the same
    stored status, so they cannot disagree. A repository whose protection cannot be observed
    (plain git) gives no protection verdicts.
    """
    verdicts: dict[str, tuple[bool | None, str]] = {}
    protection = status.get("protection") or {}
    observable = protection.get("observable", False)
    unknown = str(protection.get("unknown") or "")
    if "codeowners_path" in status:
        verdicts[CODEOWNERS_CONTROL] = _codeowners_verdict(status, protection, unknown)
    if not observable:
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
    admin: tuple[bool | None, str]
    if protection.get("bypass_actors"):
        actors = ", ".join(
            f"{a.get('actor_type')} {a.get('actor_id') or ''}".strip()
            for a in protection["bypass_actors"]
        )
        admin = (False, f"Bypass allowed for: {actors}.")
    elif unknown:
        admin = (None, f"Unknown: {unknown}")
    elif not sources:
        admin = (False, "No protection at all: anyone with write access can push.")
    elif protection.get("bypass_unknown"):
        admin = (None, "Unknown: a ruleset's bypass actors are not visible to the token.")
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
    if REVIEW_GATE_CONTEXT in checks:
        verdicts[REVIEW_GATE_CONTROL] = (
            True,
            f"Merging requires the {REVIEW_GATE_CONTEXT} status ({where}).",
        )
    else:
        verdicts[REVIEW_GATE_CONTROL] = (
            False,
            f"Merging does not require the {REVIEW_GATE_CONTEXT} status: add it to the "
            f"required status checks of a ruleset or the branch protection ({where}).",
        )
    if unknown:
        # What was read may prove a control passes; it cannot prove one fails.
        for key in (
            "two-person-review",
            "stale-review-dismissal",
            "required-checks",
            REVIEW_GATE_CONTROL,
        ):
            if verdicts[key][0] is False:
                verdicts[key] = (None, f"Unknown: {unknown}")
    return verdicts


def _codeowners_verdict(
    status: dict[str, Any], protection: dict[str, Any], unknown: str
) -> tuple[bool | None, str]:
    path = status.get("codeowners_path")
    if not path:
        return (False, "No CODEOWNERS in /.github, the root or /docs.")
    errors = status.get("codeowners_errors") or []
    if errors:
        first = errors[0]
        return (
            False,
            f"/{path} has {len(errors)} error(s), e.g. line {first.get('line')}: "
            f"{first.get('kind') or first.get('message')}.",
        )
    if not protection.get("observable", False):
        return (None, f"/{path} exists; whether code-owner review is required is not visible.")
    if protection.get("code_owner_review"):
        return (True, f"/{path}, and code-owner review is required.")
    if unknown:
        return (None, f"/{path} exists. Unknown: {unknown}")
    return (False, f"/{path} exists, but code-owner review is not required.")
