"""The request budget: a full pull of 335 systems × 2 repositories, then one with nothing changed.

Prints the figures (run with `-s` to see them) and pins them: the second pull must be
conditional requests only, every one answered 304.
"""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command

from safety_reset.inventory.models import Repository
from safety_reset.repo_status.models import ChangeReviewRecord
from tests.factories import RepositoryFactory, SystemFactory

from .github_fake import FakePull, FakeRepo, classic_protection
from .test_github_scenarios import ago

pytestmark = pytest.mark.django_db

SYSTEMS, REPOSITORIES_EACH, PULLS_EACH = 335, 2, 3


def _pulls() -> list[FakePull]:
    return [
        FakePull(
            n,
            "dev-a",
            ago(n * 5),
            labels=["ai-assisted"] if n == 1 else [],
            commits=[("change", ago(n * 5 + 2), "dev-a")],
            reviews=[
                ("sally-senior", "APPROVED", ago(n * 5 + 1), ""),
                ("peer-b", "APPROVED", ago(n * 5 + 1), ""),
            ],
        )
        for n in range(1, PULLS_EACH + 1)
    ]


def _requests(output: str) -> int:
    return int(re.search(r"(\d+) GitHub requests", output).group(1))  # type: ignore[union-attr]


def test_full_pull_then_unchanged_pull(github, senior, settings):
    # A generous timeout: this test measures requests, and the machine is shared.
    settings.REPO_HTTP_TIMEOUT = 10.0
    for s in range(SYSTEMS):
        system = SystemFactory(senior_reviewer=senior)
        for r in range(REPOSITORIES_EACH):
            name = f"acme/sys{s}-repo{r}"
            github.add(FakeRepo(name, protection=classic_protection(), pulls=_pulls()))
            RepositoryFactory(system=system, full_name=name, default_branch="")
    total = SYSTEMS * REPOSITORIES_EACH

    first, errors = StringIO(), StringIO()
    call_command("sync_repos", stdout=first, stderr=errors)
    assert errors.getvalue() == ""
    full = _requests(first.getvalue())
    assert f"{total} repositories, {total} read, 0 failed" in first.getvalue()
    assert ChangeReviewRecord.objects.count() == total * PULLS_EACH
    # Per repository: repository, branch, protection, rules, CODEOWNERS, its errors, pulls, the
    # open pulls (the review gate: none open here), and reviews + commits of each merged one.
    assert full == total * (8 + 2 * PULLS_EACH)
    assert 304 not in github.statuses()

    github.reset_log()
    second = StringIO()
    call_command("sync_repos", stdout=second)
    unchanged = _requests(second.getvalue())
    assert set(github.statuses()) == {304}
    # repository, branch, protection, rules, pulls, open pulls: CODEOWNERS is not asked while
    # the head is unchanged, and no pull request is newer than the watermark.
    assert unchanged == total * 6
    assert Repository.objects.filter(last_error="").count() == total
    print(
        f"\nFull pull of {SYSTEMS} systems x {REPOSITORIES_EACH} repositories "
        f"({PULLS_EACH} merged pull requests each): {full} requests.\n"
        f"Second pull, nothing changed: {unchanged} requests, all conditional, all 304 "
        f"(no rate-limit cost)."
    )
