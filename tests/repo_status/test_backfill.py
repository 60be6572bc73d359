"""`sync_repos --since DATE` backfills what the first pull's window left out, over a real git
repository of many commits made here with `git fast-import` (the time is printed, not tested)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from safety_reset.inventory.models import Provider
from safety_reset.repo_status.models import ChangeReviewRecord
from safety_reset.repo_status.providers.base import ChangeData, CommitData
from safety_reset.repo_status.rules import AiPolicy, Seniors
from safety_reset.repo_status.services import changes_store
from tests.factories import RepositoryFactory

pytestmark = pytest.mark.django_db
# 5,000 for the measurement: BACKFILL_COMMITS=5000 pytest -s tests/repo_status/test_backfill.py
COMMITS = int(os.environ.get("BACKFILL_COMMITS", "500"))


def _history(path, commits: int) -> None:
    """`commits` commits on main, one an hour ending 400 days ago; every tenth AI-assisted."""
    start = int(timezone.now().timestamp()) - 400 * 86400 - commits * 3600
    lines = []
    for n in range(commits):
        message = f"Change {n}\n\nReviewed-by: Pat Peer <peer@example.test>\n"
        if n % 10 == 0:
            message = (
                f"Change {n}\n\nAssisted-by: Copilot\nReviewed-by: Pat Peer <peer@example.test>\n"
            )
        data = message.encode()
        when = start + n * 3600
        lines += [
            b"commit refs/heads/main",
            f"author Dev A <dev-a@example.test> {when} +0000".encode(),
            f"committer Dev A <dev-a@example.test> {when} +0000".encode(),
            f"data {len(data)}".encode(),
            data,
            f"M 644 inline f{n % 50}.txt".encode(),
            f"data {len(str(n))}".encode(),
            str(n).encode(),
            b"",
        ]
    path.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(path)}
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True, env=env)  # noqa: S607
    subprocess.run(  # noqa: S603
        ["git", "fast-import", "--quiet"],  # noqa: S607
        cwd=path,
        input=b"\n".join(lines) + b"\n",
        check=True,
        env=env,
    )


def test_since_backfills_a_long_history(tmp_path, mirrors, system):
    _history(tmp_path / "big", COMMITS)
    repo = RepositoryFactory(
        system=system, provider=Provider.GIT, url=str(tmp_path / "big"), full_name="local/big"
    )
    out = StringIO()
    call_command("sync_repos", "--system", system.slug, stdout=out)
    assert ChangeReviewRecord.objects.filter(repository=repo).count() == 0  # 30-day window

    started = time.perf_counter()
    call_command("sync_repos", "--system", system.slug, "--since", "1970-01-01", stdout=out)
    elapsed = time.perf_counter() - started
    changes = ChangeReviewRecord.objects.filter(repository=repo)
    assert changes.count() == COMMITS
    assert changes.filter(ai_assisted=True).count() == COMMITS // 10
    repo.refresh_from_db()
    assert repo.status["changes_since"].startswith("1970-01-01")
    print(f"\nsync_repos --since over {COMMITS} commits: {elapsed:.1f} s")


def _git_change(n: int, *, ai: bool) -> ChangeData:
    when = timezone.now() - dt.timedelta(hours=n)
    message = (
        f"Change {n}\n\n"
        + ("Assisted-by: Copilot\n" if ai else "")
        + ("Reviewed-by: Pat Peer <peer@example.test>\n")
    )
    commit = CommitData(sha=f"{n:040x}", message=message, author_email="dev@example.test")
    return ChangeData(
        number=0,
        sha=commit.sha,
        title=f"Change {n}",
        url="",
        author_login="",
        author_email=commit.author_email,
        author_is_bot=False,
        merged_at=when,
        updated_at=when,
        head_sha=commit.sha,
        commits=[commit],
    )


@pytest.mark.parametrize("size", [20, 400])
def test_a_batch_costs_a_fixed_number_of_queries(system, size, django_assert_num_queries):
    repo = RepositoryFactory(system=system, provider=Provider.GIT, url="/x", full_name="local/x")
    policy, seniors = AiPolicy.from_settings(), Seniors.of([system.senior_reviewer])
    first = [_git_change(n, ai=n % 3 == 0) for n in range(size)]
    # savepoint, lock, known shas, last number, insert, release
    with django_assert_num_queries(6):
        assert changes_store(repository=repo, changes=first, policy=policy, seniors=seniors) == size
    # Half already stored (updated in one statement), half new.
    second = first[size // 2 :] + [_git_change(n, ai=False) for n in range(size, size + size // 2)]
    with django_assert_num_queries(7):
        changes_store(repository=repo, changes=second, policy=policy, seniors=seniors)
    numbers = list(
        ChangeReviewRecord.objects.filter(repository=repo).values_list("number", flat=True)
    )
    assert sorted(numbers) == list(range(1, size + size // 2 + 1))
    assert ChangeReviewRecord.objects.filter(repository=repo, ai_assisted=True).count() == len(
        [n for n in range(size) if n % 3 == 0]
    )


@pytest.mark.parametrize("size", [20, 400])
def test_pull_requests_upsert_in_one_statement(system, size, django_assert_num_queries):
    repo = RepositoryFactory(system=system, full_name="acme/batch")
    policy, seniors = AiPolicy.from_settings(), Seniors.of([system.senior_reviewer])
    changes = [_git_change(n, ai=False) for n in range(size)]
    for n, change in enumerate(changes, 1):
        change.number = n
    with django_assert_num_queries(3):  # savepoint, INSERT … ON CONFLICT DO UPDATE, release
        changes_store(repository=repo, changes=changes, policy=policy, seniors=seniors)
    changes[0].title = "Renamed"
    with django_assert_num_queries(3):
        changes_store(repository=repo, changes=changes, policy=policy, seniors=seniors)
    assert ChangeReviewRecord.objects.filter(repository=repo).count() == size
    assert ChangeReviewRecord.objects.get(repository=repo, number=1).title == "Renamed"


def test_since_must_be_a_date(system):
    with pytest.raises(CommandError, match="is not a date"):
        call_command("sync_repos", "--since", "last tuesday", stdout=StringIO())
