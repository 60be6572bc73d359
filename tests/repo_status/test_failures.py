"""Rate limits and failures: each is recorded, retried by the task, and loses nothing pulled."""

from __future__ import annotations

import time
from io import StringIO
from unittest import mock

import pytest
from celery.exceptions import Retry
from django.core.management import CommandError, call_command

from safety_reset.repo_status import tasks
from safety_reset.repo_status.models import ChangeReviewRecord
from safety_reset.repo_status.providers.base import RateLimitedError, TransientError
from safety_reset.repo_status.providers.http import GitHubClient

from .conftest import TOKEN
from .github_fake import FakeRepo, classic_protection
from .test_github_scenarios import NOW, _pulls, make_repo, sync

pytestmark = pytest.mark.django_db

SECOND_PR_REVIEWS = r"/pulls/2/reviews"


def _repo(system, github, name="acme/flaky"):
    return make_repo(
        system, github, FakeRepo(name, protection=classic_protection(), pulls=_pulls())
    )


def _assert_kept_what_was_pulled(repo):
    # The state read before the failure is stored, and so is the change finished before it.
    assert repo.status["protection"]["required_approvals"] == 2
    assert "changes_watermark" not in repo.status  # the next pull starts from the same place
    assert list(
        ChangeReviewRecord.objects.filter(repository=repo).values_list("number", flat=True)
    ) == [1]
    assert repo.last_error
    assert repo.last_error_at == NOW
    assert repo.last_success_at is None


def test_primary_rate_limit_403(github, client, system):
    repo = _repo(system, github)
    reset = int(time.time()) + 120
    github.fail(
        SECOND_PR_REVIEWS,
        403,
        message="API rate limit exceeded for user ID 1.",
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )
    result = sync(repo, client)
    assert isinstance(result.error, RateLimitedError)
    assert 100 <= result.error.retry_after <= 121
    _assert_kept_what_was_pulled(repo)
    # The pause is shared through the cache: the next request waits without asking GitHub.
    count = len(github.log)
    other = make_repo(system, github, FakeRepo("acme/other"))
    assert isinstance(sync(other, client).error, RateLimitedError)
    assert len(github.log) == count


def test_429_with_retry_after(github, client, system):
    repo = _repo(system, github)
    github.fail(
        SECOND_PR_REVIEWS,
        429,
        message="You have exceeded a secondary rate limit.",
        headers={"Retry-After": "30"},
    )
    result = sync(repo, client)
    assert isinstance(result.error, RateLimitedError)
    assert result.error.retry_after == 30
    _assert_kept_what_was_pulled(repo)


def test_secondary_rate_limit_403_without_headers_waits_a_minute(github, client, system):
    repo = _repo(system, github)
    github.fail(SECOND_PR_REVIEWS, 403, message="You have exceeded a secondary rate limit.")
    result = sync(repo, client)
    assert isinstance(result.error, RateLimitedError)
    assert result.error.retry_after == 60


def test_502(github, client, system):
    repo = _repo(system, github)
    github.fail(SECOND_PR_REVIEWS, 502, message="Server Error")
    result = sync(repo, client)
    assert isinstance(result.error, TransientError)
    assert not isinstance(result.error, RateLimitedError)
    _assert_kept_what_was_pulled(repo)
    # The next pull completes and stores everything.
    assert sync(repo, client).ok
    assert ChangeReviewRecord.objects.filter(repository=repo).count() == 6
    assert repo.last_success_at == NOW


def test_timeout(github, system):
    repo = _repo(system, github)
    github.fail(SECOND_PR_REVIEWS, 0, sleep=1.0)  # answers late; this client gives up at 0.3 s
    with GitHubClient(base_url=github.base_url, token=TOKEN, timeout=0.3) as impatient:
        result = sync(repo, impatient)
    assert isinstance(result.error, TransientError)
    assert "in time" in str(result.error)
    _assert_kept_what_was_pulled(repo)


def test_task_retries_with_backoff_on_5xx_and_waits_on_rate_limits(github, system):
    repo = _repo(system, github)
    github.fail(r"/repos/acme/flaky$", 502)
    with (
        mock.patch.object(tasks.sync_repository, "retry", side_effect=Retry()) as retry,
        pytest.raises(Retry),
    ):
        tasks.sync_repository.run(repo.pk)
    assert 20 <= retry.call_args.kwargs["countdown"] <= 40
    github.fail(r"/repos/acme/flaky$", 429, headers={"Retry-After": "90"})
    with (
        mock.patch.object(tasks.sync_repository, "retry", side_effect=Retry()) as retry,
        pytest.raises(Retry),
    ):
        tasks.sync_repository.run(repo.pk)
    assert 90 < retry.call_args.kwargs["countdown"] <= 101


def test_fan_out_queues_one_task_per_repository(github, system):
    repos = [make_repo(system, github, FakeRepo(f"acme/fan-{n}")) for n in range(3)]
    with mock.patch.object(tasks.sync_repository, "delay") as delay:
        assert tasks.sync_all_repositories() == 3
    assert sorted(c.args[0] for c in delay.call_args_list) == sorted(r.pk for r in repos)


def test_one_repository_failing_does_not_stop_the_others(github, system):
    bad = make_repo(system, github, FakeRepo("acme/broken"))
    good = make_repo(
        system, github, FakeRepo("acme/fine", protection=classic_protection(), pulls=_pulls())
    )
    github.fail(r"/repos/acme/broken", 502, times=10)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="1 of 2 repositories failed"):
        call_command("sync_repos", "--system", system.slug, stdout=out, stderr=err)
    bad.refresh_from_db()
    good.refresh_from_db()
    assert "502" in bad.last_error
    assert bad.last_success_at is None
    assert good.last_success_at is not None
    assert good.last_error == ""
    assert ChangeReviewRecord.objects.filter(repository=good).count() == 6
    assert "acme/broken" in err.getvalue()
    assert "2 repositories, 1 read, 1 failed" in out.getvalue()


def test_unknown_repository_is_an_error_not_a_crash(github, client, system):
    from tests.factories import RepositoryFactory

    repo = RepositoryFactory(system=system, full_name="acme/missing")
    result = sync(repo, client)
    assert "404" in str(result.error)
    assert repo.last_error
