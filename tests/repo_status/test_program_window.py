"""The whole program window: the first pull reaches back to the program's start (less
REPO_PROGRAM_LOOKBACK_DAYS), the AI-review control judges every AI-assisted change merged since
the start, and a repository not read that far back is "not yet checked" (unknown), not passing."""

from __future__ import annotations

import datetime as dt

import pytest

from safety_reset.audits.models import EvidenceKind, ItemStatus
from safety_reset.repo_status.models import ChangeReviewRecord
from safety_reset.repo_status.services import repository_sync, system_evaluate

from .github_fake import FakePull, FakeRepo, classic_protection
from .test_github_scenarios import NOW, ago, make_repo

pytestmark = pytest.mark.django_db
DAYS = 24.0


@pytest.fixture
def program_system(automated_audit, senior):
    """The automated audit's system, in a program that started 60 days ago."""
    program = automated_audit.program
    program.start_date = (NOW - dt.timedelta(days=60)).date()
    program.save()
    system = automated_audit.system
    system.senior_reviewer = senior
    system.save()
    return system


def _unreviewed_ai(number: int, merged_days_ago: float) -> FakePull:
    merged = ago(merged_days_ago * DAYS)
    return FakePull(
        number,
        "dev-a",
        merged,
        labels=["ai-assisted"],
        commits=[("Change", merged - dt.timedelta(hours=2), "dev-a")],
        reviews=[("peer-b", "APPROVED", merged - dt.timedelta(hours=1), "")],
    )


def _ai_item(audit):
    return audit.items.select_related("control").get(control__key="senior-signoff-ai")


def test_first_pull_reaches_the_program_start_and_judges_every_change_since(
    github, client, automated_audit, program_system
):
    # Merged 45 days ago: outside the old 30-day window, inside the program.
    repo = make_repo(
        program_system,
        github,
        FakeRepo("acme/old", protection=classic_protection(), pulls=[_unreviewed_ai(1, 45)]),
    )
    assert repository_sync(repository=repo, client=client, now=NOW).ok
    assert ChangeReviewRecord.objects.filter(repository=repo, number=1).exists()
    repo.refresh_from_db()
    assert repo.status["changes_since"].startswith(automated_audit.program.start_date.isoformat())
    item = _ai_item(automated_audit)
    assert item.status == ItemStatus.FAILING
    assert "since the program started on" in item.reason
    assert "#1" in item.reason


def test_look_back_reads_before_the_start_but_judges_from_the_start(
    github, client, automated_audit, program_system, settings
):
    settings.REPO_PROGRAM_LOOKBACK_DAYS = 30
    repo = make_repo(
        program_system,
        github,
        FakeRepo(
            "acme/before",
            protection=classic_protection(),
            pulls=[_unreviewed_ai(1, 75), _unreviewed_ai(2, 100)],
        ),
    )
    assert repository_sync(repository=repo, client=client, now=NOW).ok
    # 75 days ago is within the look-back (60 + 30 days), 100 days ago is not.
    assert set(ChangeReviewRecord.objects.values_list("number", flat=True)) == {1}
    item = _ai_item(automated_audit)
    assert item.status == ItemStatus.PASSING  # #1 merged before the program started
    seen = item.evidence.get(kind=EvidenceKind.SNAPSHOT).snapshot["repositories"][0]
    assert seen["why"].startswith("No AI-assisted change merged since the program started")


def test_a_repository_not_read_back_to_the_start_is_not_yet_checked(
    github, client, automated_audit, program_system
):
    repo = make_repo(
        program_system, github, FakeRepo("acme/short", protection=classic_protection())
    )
    assert repository_sync(repository=repo, client=client, now=NOW).ok
    item = _ai_item(automated_audit)
    assert item.status == ItemStatus.PASSING
    # As if an older pull had only read the last 30 days (the window before this change).
    repo.refresh_from_db()
    repo.status["changes_since"] = (NOW - dt.timedelta(days=30)).isoformat()
    repo.save()
    system_evaluate(system=program_system, checked_at=NOW)
    item.refresh_from_db()
    assert item.check_passing is None
    assert item.status != ItemStatus.PASSING
    assert "Not yet checked: changes were read back to" in item.reason

    # The next pull backfills to the program's start by itself; then it is checked.
    github.repos["acme/short"].pulls.append(_unreviewed_ai(5, 50))
    assert repository_sync(repository=repo, client=client, now=NOW).ok
    assert ChangeReviewRecord.objects.filter(repository=repo, number=5).exists()
    item.refresh_from_db()
    assert item.status == ItemStatus.FAILING
    assert "#5" in item.reason
