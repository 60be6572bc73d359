"""Writes of repo_status: pull a repository, store its merged changes, evaluate the controls.

`repository_sync` is the one door (the Celery task, `manage.py sync_repos` and tests call it):
it reads the repository through its provider, saves the state as soon as it is read, upserts the
merged changes (one ChangeReviewRecord each) in batches of STORE_BATCH, a fixed number of
queries per batch (`changes_store`), and evaluates the automated controls of
every audit of the system through `audits.services.item_record_check`. A failure half-way keeps
everything already stored: the watermark only moves once every change up to it is stored, so the
next pull starts from the same place and re-reads (through 304s) what it already had.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from safety_reset.audits.models import ChecklistItem
from safety_reset.audits.services import item_record_check
from safety_reset.catalog.models import Evaluation
from safety_reset.inventory.models import Provider, Repository, System
from safety_reset.programs.models import Program

from .identity import Kind
from .models import ChangeReviewRecord, ReviewGateStatus
from .providers.base import (
    ChangeData,
    ChangesPage,
    ProviderError,
    RepositoryProvider,
)
from .providers.git import GitProvider
from .providers.github import GitHubProvider
from .providers.http import GitHubClient, RequestStats
from .rules import (
    AI_REVIEW_CONTROL,
    AUTOMATED_CONTROLS,
    REVIEW_GATE_CONTEXT,
    AiPolicy,
    Seniors,
    gate_status,
    protection_verdicts,
    review_verdict,
)

logger = logging.getLogger(__name__)
SNAPSHOT_CHANGES_LIMIT = 20
STORE_BATCH = 500  # changes written per set-based upsert (a fixed number of queries each)


@dataclass
class SyncResult:
    repository_id: int
    changes: int = 0
    error: ProviderError | None = None
    items_checked: int = 0
    gate_posted: int = 0  # commit statuses the review gate posted
    stats: RequestStats = field(default_factory=RequestStats)

    @property
    def ok(self) -> bool:
        return self.error is None


def github_client() -> GitHubClient:
    """A client for the configured GitHub (github.com or an Enterprise base URL)."""
    return GitHubClient(
        base_url=settings.GITHUB_API_URL,
        token=settings.GITHUB_TOKEN,
        timeout=settings.REPO_HTTP_TIMEOUT,
        etag_ttl=settings.REPO_ETAG_TTL,
    )


def repository_provider(
    *, repository: Repository, client: GitHubClient | None = None
) -> RepositoryProvider:
    if repository.provider == Provider.GITHUB:
        if client is None:
            raise ValueError("A GitHub repository needs a client.")
        return GitHubProvider(
            client=client,
            full_name=repository.full_name,
            default_branch=repository.default_branch,
        )
    if repository.provider == Provider.GIT:
        return GitProvider(
            url=repository.url,
            mirror_root=settings.REPO_MIRROR_DIR,
            default_branch=repository.default_branch,
        )
    raise ProviderError(f"Pulling from {repository.get_provider_display()} is not supported yet.")


def repository_sync(
    *,
    repository: Repository,
    client: GitHubClient | None = None,
    now: dt.datetime | None = None,
    since: dt.datetime | None = None,
) -> SyncResult:
    """Pull one repository and evaluate its system's automated controls. Never raises a
    ProviderError: the error is recorded on the repository and returned in the result.

    `since` backfills: every change merged since then is read again (and upserted), whatever
    the stored watermark. Without it the pull reaches back to `changes_reach` (the start of
    the system's earliest open program, less REPO_PROGRAM_LOOKBACK_DAYS), and backfills by
    itself when the repository was never read that far back."""
    now = now or timezone.now()
    result = SyncResult(repository_id=repository.pk)
    own_client = client is None and repository.provider == Provider.GITHUB
    if own_client:
        client = github_client()
    try:
        provider = repository_provider(repository=repository, client=client)
        result.changes = _pull(repository=repository, provider=provider, now=now, since=since)
        if isinstance(provider, GitHubProvider) and gate_applies(repository=repository):
            result.gate_posted = review_gate_sync(repository=repository, provider=provider)
    except ProviderError as exc:
        result.error = exc
        logger.warning("Pulling %s failed: %s", repository, exc)
        repository.last_synced_at = now
        repository.last_error = str(exc)[:2000]
        repository.last_error_at = now
        repository.save(
            update_fields=["last_synced_at", "last_error", "last_error_at", "updated_at"]
        )
    finally:
        if client is not None:
            result.stats = client.stats
            if own_client:
                client.close()
    result.items_checked = system_evaluate(system=repository.system, checked_at=now)
    return result


def _pull(
    *,
    repository: Repository,
    provider: RepositoryProvider,
    now: dt.datetime,
    since: dt.datetime | None = None,
) -> int:
    previous = dict(repository.status or {})
    state = provider.read_state(previous=previous)
    status = {**previous, **state.as_status(), "read_at": now.isoformat()}
    repository.status = status
    repository.default_branch = state.default_branch or repository.default_branch
    repository.last_synced_at = now
    fields = ["status", "default_branch", "last_synced_at", "updated_at"]
    if state.full_name and state.full_name != repository.full_name:
        logger.info("%s is now %s: stored name updated.", repository.full_name, state.full_name)
        repository.full_name = state.full_name
        fields.append("full_name")
    repository.save(update_fields=fields)

    system = repository.system
    policy = AiPolicy.from_settings()
    seniors = Seniors.of([system.senior_reviewer])
    reach = changes_reach(system=system, now=now)
    earliest = _parse(status.get("changes_since"))
    if since is None and earliest is not None and reach < earliest:
        since = reach  # never read this far back (a new program, or an older pull's window)
    window_start = since or reach
    watermark = "" if since else str(status.get("changes_watermark", ""))
    page = ChangesPage()
    stored = 0
    batch: list[ChangeData] = []
    try:
        for change in provider.merged_changes(
            watermark=watermark, window_start=window_start, result=page
        ):
            batch.append(change)
            if len(batch) >= STORE_BATCH:
                stored += changes_store(
                    repository=repository, changes=batch, policy=policy, seniors=seniors
                )
                batch = []
    finally:
        # An error half-way keeps every change read so far (the watermark does not move).
        if batch:
            stored += changes_store(
                repository=repository, changes=batch, policy=policy, seniors=seniors
            )
    status["changes_watermark"] = page.watermark
    status["changes_read_at"] = now.isoformat()
    if earliest is None or window_start < earliest:
        status["changes_since"] = window_start.isoformat()  # how far back changes were read
    repository.status = status
    repository.last_success_at = now
    repository.save(update_fields=["status", "last_success_at", "updated_at"])
    return stored


def _parse(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def program_start(*, system: System) -> dt.datetime | None:
    """When the earliest open program auditing the system started: midnight of its start date
    in the program's time zone. None when no open program audits it."""
    from zoneinfo import ZoneInfo

    first = (
        Program.objects.filter(audits__system=system, closed_at__isnull=True)
        .order_by("start_date")
        .values_list("start_date", "time_zone")
        .first()
    )
    if first is None:
        return None
    start_date, time_zone = first
    return dt.datetime.combine(start_date, dt.time.min, tzinfo=ZoneInfo(time_zone))


def changes_reach(*, system: System, now: dt.datetime) -> dt.datetime:
    """How far back a pull of the system's repositories reads merged changes: the program's
    start less REPO_PROGRAM_LOOKBACK_DAYS, or REPO_CHANGES_WINDOW_DAYS back without a program."""
    started = program_start(system=system)
    if started is None:
        return now - dt.timedelta(days=settings.REPO_CHANGES_WINDOW_DAYS)
    return started - dt.timedelta(days=settings.REPO_PROGRAM_LOOKBACK_DAYS)


_STORED_FIELDS = [
    "title",
    "url",
    "author_login",
    "merged_at",
    "head_sha",
    "sha",
    "bot_author",
    "ai_assisted",
    "ai_signals",
    "approvals",
    "approval_count",
    "senior_approved",
    "compliant",
    "last_push_at",
    "findings",
    "fetched_at",
]


def _stored_values(change: ChangeData, *, policy: AiPolicy, seniors: Seniors) -> dict[str, Any]:
    """The columns of a change's record: what the provider said and the review rule's verdict."""
    if change.merged_at is None:
        raise ProviderError(f"Change {change.number or change.sha} is not merged.")
    verdict = review_verdict(change, policy=policy, seniors=seniors)
    author_kind = policy.kind(
        login=change.author_login, email=change.author_email, is_app=change.author_is_bot
    )
    return {
        "title": change.title[:500],
        "url": change.url[:500],
        "author_login": (change.author_login or change.author_email)[:100],
        "merged_at": change.merged_at,
        "head_sha": change.head_sha[:64],
        "sha": change.sha[:64],
        "bot_author": author_kind is not Kind.HUMAN,
        "ai_assisted": verdict.ai_assisted,
        "ai_signals": verdict.ai_signals,
        "approvals": verdict.approvals,
        "approval_count": min(verdict.approval_count, 32767),
        "senior_approved": verdict.senior_approved,
        "compliant": verdict.compliant,
        "last_push_at": change.last_push_at,
        "findings": verdict.findings,
    }


def changes_store(
    *, repository: Repository, changes: list[ChangeData], policy: AiPolicy, seniors: Seniors
) -> int:
    """Upsert a batch of merged changes in a fixed number of queries, whatever its size:
    pull requests by (repository, number) in one INSERT … ON CONFLICT DO UPDATE; changes
    without a number (plain git) by (repository, sha): the repository row locked (so two
    pulls cannot hand out the same number), the batch's known shas read in one query, the new
    ones numbered after the repository's last and inserted in one statement, the known ones
    updated in one. Same rows as `change_store` one at a time. Returns how many were stored."""
    if not changes:
        return 0
    now = timezone.now()
    numbered: dict[int, dict[str, Any]] = {}
    by_sha: dict[str, dict[str, Any]] = {}
    for change in changes:
        values = {**_stored_values(change, policy=policy, seniors=seniors), "fetched_at": now}
        if change.number:
            numbered[change.number] = values
        elif change.sha:
            by_sha[change.sha[:64]] = values  # the last reading of a sha wins
        else:
            raise ProviderError("A change without a number needs its commit sha.")
    with transaction.atomic():
        if numbered:
            ChangeReviewRecord.objects.bulk_create(
                [
                    ChangeReviewRecord(repository=repository, number=number, **values)
                    for number, values in numbered.items()
                ],
                update_conflicts=True,
                unique_fields=["repository", "number"],
                update_fields=_STORED_FIELDS,
                batch_size=STORE_BATCH,
            )
        if by_sha:
            Repository.objects.select_for_update().filter(pk=repository.pk).first()
            known = {
                r.sha: r
                for r in ChangeReviewRecord.objects.filter(
                    repository=repository, sha__in=list(by_sha)
                )
            }
            last = (
                ChangeReviewRecord.objects.filter(repository=repository).aggregate(n=Max("number"))[
                    "n"
                ]
                or 0
            )
            new = []
            for sha, values in by_sha.items():
                record = known.get(sha)
                if record is None:
                    last += 1
                    new.append(ChangeReviewRecord(repository=repository, number=last, **values))
                else:
                    for name, value in values.items():
                        setattr(record, name, value)
            ChangeReviewRecord.objects.bulk_create(new, batch_size=STORE_BATCH)
            if known:
                ChangeReviewRecord.objects.bulk_update(
                    list(known.values()), _STORED_FIELDS, batch_size=STORE_BATCH
                )
    return len(numbered) + len(by_sha)


def change_store(
    *, repository: Repository, change: ChangeData, policy: AiPolicy, seniors: Seniors
) -> ChangeReviewRecord:
    """Upsert one merged change with the review rule's verdict: by (repository, number) for a
    pull request, by (repository, sha) for a change without a number (plain git), which is
    numbered after the repository's last one the first time it is seen. (A pull stores its
    changes in batches through `changes_store`, which writes the same rows.)"""
    defaults = _stored_values(change, policy=policy, seniors=seniors)
    with transaction.atomic():
        if change.number:
            record, _ = ChangeReviewRecord.objects.update_or_create(
                repository=repository, number=change.number, defaults=defaults
            )
            return record
        if not change.sha:
            raise ProviderError("A change without a number needs its commit sha.")
        # Lock the repository row so two pulls cannot hand out the same number.
        Repository.objects.select_for_update().filter(pk=repository.pk).first()
        last = ChangeReviewRecord.objects.filter(repository=repository).aggregate(n=Max("number"))[
            "n"
        ]
        record, _ = ChangeReviewRecord.objects.update_or_create(
            repository=repository,
            sha=change.sha[:64],
            defaults=defaults,
            create_defaults={**defaults, "number": (last or 0) + 1},
        )
        return record


# --- The review gate ------------------------------------------------------------------------


def gate_applies(*, repository: Repository) -> bool:
    """The review gate posts on GitHub repositories of active Tier-1 systems (REPO_REVIEW_GATE)."""
    system = repository.system
    return bool(
        settings.REPO_REVIEW_GATE
        and repository.provider == Provider.GITHUB
        and system.tier == 1
        and system.is_active
    )


def _gate_target_url(system: System) -> str:
    from django.urls import reverse

    return settings.SITE_URL.rstrip("/") + reverse("audits:system", args=[system.slug])


def review_gate_sync(*, repository: Repository, provider: GitHubProvider) -> int:
    """The periodic safety net: the gate's status on every open pull request of the repository.
    Returns how many statuses were posted (none when every one already says the same)."""
    policy = AiPolicy.from_settings()
    seniors = Seniors.of([repository.system.senior_reviewer])
    posted = 0
    for change in provider.open_changes():
        posted += review_gate_post(
            repository=repository, provider=provider, change=change, policy=policy, seniors=seniors
        )
    return posted


def review_gate_pull_request(
    *, repository: Repository, number: int, client: GitHubClient | None = None
) -> bool:
    """The gate for one pull request a webhook named (opened, synchronize, reopened, labeled,
    a review): re-read it and post its status if it changed. False when nothing was posted
    (closed, not a gated repository, or the same status as last time)."""
    if not gate_applies(repository=repository):
        return False
    own = client is None
    client = client or github_client()
    try:
        provider = GitHubProvider(
            client=client,
            full_name=repository.full_name,
            default_branch=repository.default_branch,
        )
        change = provider.open_change(number)
        if change is None:
            return False
        return review_gate_post(
            repository=repository,
            provider=provider,
            change=change,
            policy=AiPolicy.from_settings(),
            seniors=Seniors.of([repository.system.senior_reviewer]),
        )
    finally:
        if own:
            client.close()


def review_gate_post(
    *,
    repository: Repository,
    provider: GitHubProvider,
    change: ChangeData,
    policy: AiPolicy,
    seniors: Seniors,
) -> bool:
    """Post the gate's status on the change's head commit unless the same state and description
    were posted there already. The verdict is `rules.review_verdict`, the very function whose
    verdict the compliance figures store for merged changes.

    The row of (repository, head, context) is locked while posting, so a webhook and the
    periodic sync racing on the same pull request post once."""
    if not change.head_sha:
        return False
    verdict = review_verdict(change, policy=policy, seniors=seniors)
    state, description = gate_status(verdict, seniors=seniors)
    target_url = _gate_target_url(repository.system)
    with transaction.atomic():
        row, created = ReviewGateStatus.objects.select_for_update().get_or_create(
            repository=repository,
            sha=change.head_sha[:64],
            context=REVIEW_GATE_CONTEXT,
            defaults={
                "pull_number": change.number,
                "state": state,
                "description": description,
                "target_url": target_url,
                "posted_at": timezone.now(),
            },
        )
        if not created and (row.state, row.description, row.target_url) == (
            state,
            description,
            target_url,
        ):
            return False
        provider.post_status(
            sha=change.head_sha,
            state=state,
            description=description,
            target_url=target_url,
            context=REVIEW_GATE_CONTEXT,
        )
        if not created:
            row.pull_number = change.number
            row.state, row.description, row.target_url = state, description, target_url
            row.posted_at = timezone.now()
            row.save()
    return True


# --- Evaluation ------------------------------------------------------------------------------


def system_evaluate(*, system: System, checked_at: dt.datetime | None = None) -> int:
    """Give every automated item of every audit of the system the verdict of its repositories.

    A control passes when it passes on every repository that was read; repositories never read
    give no verdict, and a control with no verdict at all is left as it is. Returns the number
    of items checked.
    """
    checked_at = checked_at or timezone.now()
    repositories = [
        r
        for r in Repository.objects.filter(system=system).order_by("full_name", "pk")
        if "head_sha" in (r.status or {})
    ]
    if not repositories:
        return 0
    verdicts = control_verdicts(system=system, repositories=repositories, checked_at=checked_at)
    items = ChecklistItem.objects.filter(
        audit__system=system,
        audit__program__closed_at__isnull=True,  # a closed program is read-only
        control__evaluation=Evaluation.AUTOMATED,
        control__retired_at__isnull=True,
        control__key__in=list(verdicts),
    ).select_related("control")
    checked = 0
    for item in items:
        passing, summary, snapshot = verdicts[item.control.key]
        # Unknown (None: the token cannot read it) is recorded too: an earlier verdict of the
        # check no longer stands, and the item says why (audits.services.item_record_check).
        item_record_check(
            item=item, passing=passing, summary=summary, snapshot=snapshot, checked_at=checked_at
        )
        checked += 1
    return checked


def control_verdicts(
    *, system: System, repositories: list[Repository], checked_at: dt.datetime
) -> dict[str, tuple[bool | None, str, dict[str, Any]]]:
    """Per automated control key: (passing, summary, snapshot) over the system's repositories."""
    per_control: dict[str, list[dict[str, Any]]] = {}
    for repo in repositories:
        seen = {
            "repository": repo.full_name or repo.url,
            "provider": repo.provider,
            "source": repo.status.get("source_url", repo.url),
            "read_at": repo.status.get("read_at"),
            "default_branch": repo.status.get("default_branch"),
            "head_sha": repo.status.get("head_sha"),
        }
        for key, (seen_passing, why) in protection_verdicts(repo.status).items():
            detail = {**seen, "passing": seen_passing, "why": why}
            if key == "codeowners":
                detail["codeowners_path"] = repo.status.get("codeowners_path")
                detail["codeowners_errors"] = repo.status.get("codeowners_errors") or []
            else:
                detail["protection"] = repo.status.get("protection")
            per_control.setdefault(key, []).append(detail)
    read = [r for r in repositories if "changes_watermark" in r.status]
    if read:
        per_control[AI_REVIEW_CONTROL] = _ai_review_details(
            read, checked_at, started=program_start(system=system)
        )
    verdicts: dict[str, tuple[bool | None, str, dict[str, Any]]] = {}
    for key, details in per_control.items():
        if key not in AUTOMATED_CONTROLS:
            continue
        failing = [d for d in details if d["passing"] is False]
        unknown = [d for d in details if d["passing"] is None]
        passing: bool | None = False if failing else (None if unknown else True)
        shown = failing or unknown or details
        summary = "; ".join(f"{d['repository']}: {d['why']}" for d in shown)
        snapshot = {
            "control": key,
            "system": system.slug,
            "checked_at": checked_at.isoformat(),
            "passing": passing,
            "repositories": details,
        }
        verdicts[key] = (passing, summary[:2000], snapshot)
    return verdicts


def _ai_review_details(
    repositories: list[Repository], checked_at: dt.datetime, *, started: dt.datetime | None
) -> list[dict[str, Any]]:
    """Every AI-assisted change merged since the program started (without a program: in the
    last REPO_CHANGES_WINDOW_DAYS). A repository whose changes were not read back to the
    program's start is not yet checked: unknown, neither passing nor failing."""
    days = settings.REPO_CHANGES_WINDOW_DAYS
    window_start = started or checked_at - dt.timedelta(days=days)
    period = (
        f"since the program started on {started.date():%Y-%m-%d}"
        if started
        else f"in the last {days} days"
    )
    records = ChangeReviewRecord.objects.filter(
        repository__in=repositories, ai_assisted=True, merged_at__gte=window_start
    ).order_by("-merged_at")
    by_repo: dict[int, list[ChangeReviewRecord]] = {}
    for record in records:
        by_repo.setdefault(record.repository_id, []).append(record)
    details = []
    for repo in repositories:
        ai = by_repo.get(repo.pk, [])
        bad = [r for r in ai if not r.compliant]
        read_since = _parse(repo.status.get("changes_since"))
        passing: bool | None = not bad
        if not ai:
            why = f"No AI-assisted change merged {period}."
        elif not bad:
            why = f"All {len(ai)} AI-assisted change(s) merged {period} were reviewed by the rule."
        else:
            numbers = ", ".join(f"#{r.number}" for r in bad[:10])
            why = f"{len(bad)} of {len(ai)} AI-assisted change(s) merged {period} lack the required review: {numbers}."
        if not bad and started is not None and (read_since is None or read_since > started):
            # What was read may prove a failure; it cannot prove every change since the start.
            passing = None
            when = f"{read_since.date():%Y-%m-%d}" if read_since else "nowhere"
            why = (
                f"Not yet checked: changes were read back to {when} only, and the program "
                f"started on {started.date():%Y-%m-%d}."
            )
        details.append(
            {
                "repository": repo.full_name or repo.url,
                "provider": repo.provider,
                "source": repo.status.get("source_url", repo.url),
                "read_at": repo.status.get("changes_read_at"),
                "read_since": repo.status.get("changes_since"),
                "passing": passing,
                "why": why,
                "ai_assisted": len(ai),
                "non_compliant": [
                    {
                        "number": r.number,
                        "title": r.title,
                        "url": r.url,
                        "author": r.author_login,
                        "merged_at": r.merged_at.isoformat(),
                        "approvals": r.approvals,
                        "findings": r.findings,
                    }
                    for r in bad[:SNAPSHOT_CHANGES_LIMIT]
                ],
            }
        )
    return details
