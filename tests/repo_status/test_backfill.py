"""`sync_repos --since DATE` backfills what the first pull's window left out, over a real git
repository of many commits made here with `git fast-import` (the time is printed, not tested)."""

from __future__ import annotations

import subprocess
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from safety_reset.inventory.models import Provider
from safety_reset.repo_status.models import ChangeReviewRecord
from tests.factories import RepositoryFactory

pytestmark = pytest.mark.django_db
COMMITS = 500  # 5,000: see the closing note; too slow for the suite on a shared machine


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


def test_since_must_be_a_date(system):
    with pytest.raises(CommandError, match="is not a date"):
        call_command("sync_repos", "--since", "last tuesday", stdout=StringIO())
