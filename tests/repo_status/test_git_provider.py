"""The plain-git provider against real repositories created here with `git`."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from safety_reset.inventory.models import Provider
from safety_reset.repo_status.models import ChangeReviewRecord
from safety_reset.repo_status.providers.base import CODEOWNERS_PATHS
from safety_reset.repo_status.services import repository_sync
from tests.factories import RepositoryFactory

pytestmark = pytest.mark.django_db


class Work:
    """A working repository whose commits we script, dated so the order is certain."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.clock = int(time.time()) - 5 * 86400  # five days ago, one minute per commit
        path.mkdir()
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, author: str = "Dev A <dev-a@example.test>") -> str:
        self.clock += 60
        name, email = author[: author.index("<")].strip(), author[author.index("<") + 1 : -1]
        env = {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_AUTHOR_DATE": f"@{self.clock} +0000",
            "GIT_COMMITTER_DATE": f"@{self.clock} +0000",
            "HOME": str(self.path),
            "PATH": "/usr/bin:/bin",
        }
        return subprocess.run(
            ["git", *args], cwd=self.path, env=env, check=True, capture_output=True, text=True
        ).stdout

    def commit(self, file: str, message: str, **kw: str) -> None:
        target = self.path / file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(message)
        self.git("add", file)
        self.git("commit", "-q", "-m", message, **kw)

    def merge(self, branch: str, message: str, **kw: str) -> None:
        self.git("merge", "-q", "--no-ff", branch, "-m", message, **kw)


def _git_repo(system, work):
    return RepositoryFactory(
        system=system,
        provider=Provider.GIT,
        url=str(work.path),
        full_name="local/work",
        default_branch="",
    )


@pytest.mark.parametrize("place", CODEOWNERS_PATHS)
def test_codeowners_in_each_standard_place(tmp_path, mirrors, system, place):
    work = Work(tmp_path / "work")
    work.commit("README", "start")
    work.commit(place, "* @acme/platform")
    repo = _git_repo(system, work)
    result = repository_sync(repository=repo)
    assert result.ok, result.error
    repo.refresh_from_db()
    assert repo.status["codeowners_path"] == place
    assert repo.status["protection"]["observable"] is False
    assert (mirrors / next(p.name for p in mirrors.iterdir())).joinpath("HEAD").exists()


def test_no_codeowners(tmp_path, mirrors, system):
    work = Work(tmp_path / "work")
    work.commit("CODEOWNERS.md", "not the file")
    repo = _git_repo(system, work)
    assert repository_sync(repository=repo).ok
    repo.refresh_from_db()
    assert repo.status["codeowners_path"] is None


def test_merges_and_direct_commits_are_changes_and_a_second_pull_reads_only_what_is_new(
    tmp_path, mirrors, system, senior
):
    work = Work(tmp_path / "work")
    work.commit("README", "start")
    # A branch with an AI co-author, merged with the senior's and a peer's Reviewed-by.
    work.git("checkout", "-q", "-b", "feature")
    work.commit("a.py", "Add a\n\nCo-authored-by: Claude <noreply@anthropic.com>")
    work.git("checkout", "-q", "main")
    work.merge(
        "feature",
        "Merge feature\n\nReviewed-by: Sally <sally@example.test>\nReviewed-by: Peer <peer@example.test>",
    )
    work.commit("d.py", "Docs\n\nReviewed-by: Peer <peer@example.test>")
    repo = _git_repo(system, work)
    result = repository_sync(repository=repo)
    assert result.ok, result.error
    assert result.changes == 4
    records = {r.title: r for r in ChangeReviewRecord.objects.filter(repository=repo)}
    assert [records[t].number for t in ("start", "Add a", "Merge feature", "Docs")] == [1, 2, 3, 4]
    brought = records["Add a"]
    assert brought.ai_assisted
    assert brought.compliant  # the merge's reviewers reviewed what it brings in
    assert brought.senior_approved
    assert brought.ai_signals == ["AI co-author: Claude <noreply@anthropic.com>"]
    assert not records["Merge feature"].ai_assisted
    assert records["Docs"].compliant

    # A second pull reads only what is new (from the stored head), and updates the mirror.
    work.commit("e.py", "More\n\nGenerated-by: tool")
    result = repository_sync(repository=repo)
    assert result.ok
    assert result.changes == 1
    assert ChangeReviewRecord.objects.get(repository=repo, number=5).ai_assisted


def test_unreachable_git_url_is_recorded(tmp_path, mirrors, system):
    repo = RepositoryFactory(
        system=system, provider=Provider.GIT, url=str(tmp_path / "nope"), full_name="x/nope"
    )
    result = repository_sync(repository=repo)
    assert not result.ok
    repo.refresh_from_db()
    assert "Cannot clone" in repo.last_error


def test_option_like_url_is_refused(mirrors, system):
    repo = RepositoryFactory(
        system=system, provider=Provider.GIT, url="--upload-pack=touch /tmp/x", full_name="x/y"
    )
    result = repository_sync(repository=repo)
    assert not result.ok
    assert "cannot start" in str(result.error)
