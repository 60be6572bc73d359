"""The repository panel partial: who may see it, what it shows, and its query count."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from safety_reset.inventory.models import Provider
from safety_reset.repo_status.selectors import repository_panel, review_compliance
from tests.factories import ChangeReviewRecordFactory, PersonFactory, RepositoryFactory

from .github_fake import FakeRepo, classic_protection
from .test_github_scenarios import _pulls, make_repo, sync

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.repo_status.urls")]


def test_panel_shows_protection_changes_and_last_pull(github, client, system):
    from django.test import Client

    repo = make_repo(
        system, github, FakeRepo("acme/panel", protection=classic_protection(), pulls=_pulls())
    )
    sync(repo, client)
    client_ = Client()
    client_.force_login(system.owner)
    response = client_.get(reverse("repo_status:panel", args=[system.slug]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "acme/panel" in html
    assert "ci/tests" in html
    assert "/.github/CODEOWNERS" in html
    assert "1 of 5 reviewed by the rule" in html
    assert "approved before the last push" in html


def test_panel_permissions(client, system, django_user_model):
    from django.test import Client

    url = reverse("repo_status:panel", args=[system.slug])
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    outsider = Client()
    outsider.force_login(PersonFactory())
    assert outsider.get(url).status_code == 404
    senior = Client()
    senior.force_login(system.senior_reviewer)
    assert senior.get(url).status_code == 200


@pytest.mark.parametrize("size", [1, 15])
def test_panel_query_count_is_fixed(system, django_assert_num_queries, size):
    for n in range(size):
        repo = RepositoryFactory(
            system=system, status={"head_sha": "x", "protection": {"observable": True}}
        )
        ChangeReviewRecordFactory(repository=repo, ai_assisted=True, compliant=n % 2 == 0)
    with django_assert_num_queries(3):
        panel = repository_panel(system=system)
    assert len(panel.rows) == size
    assert panel.ai_changes == size


def test_review_compliance_per_system_and_team(system):
    repo = RepositoryFactory(system=system)
    ChangeReviewRecordFactory(repository=repo, ai_assisted=True, compliant=True)
    ChangeReviewRecordFactory(repository=repo, ai_assisted=True, compliant=False)
    ChangeReviewRecordFactory(repository=repo, ai_assisted=False, compliant=False)
    systems = type(system).objects.all()
    assert review_compliance(systems=systems) == {system.pk: (2, 1)}
    assert review_compliance(systems=systems, by="team_id") == {system.team_id: (2, 1)}


def test_panel_links_each_change_to_its_commits(system):
    github_repo = RepositoryFactory(
        system=system, provider=Provider.GITHUB, url="https://github.com/acme/shop"
    )
    git_repo = RepositoryFactory(system=system, provider=Provider.GIT, url="/srv/git/tool.git")
    ChangeReviewRecordFactory(
        repository=github_repo, ai_assisted=True, sha="1" * 40, head_sha="2" * 40
    )
    ChangeReviewRecordFactory(
        repository=git_repo, ai_assisted=True, sha="3" * 40, head_sha="3" * 40
    )
    web = Client()
    web.force_login(system.owner)
    html = web.get(reverse("repo_status:panel", args=[system.slug])).content.decode()
    assert f'href="https://github.com/acme/shop/commit/{"1" * 40}"' in html
    assert f'href="https://github.com/acme/shop/commit/{"2" * 40}"' in html
    assert ">1111111</a>" in html
    assert '<span class="mono">3333333</span>' in html  # plain git: no web page to link
    assert "/commit/" + "3" * 40 not in html


@pytest.mark.parametrize("size", [1, 8])
def test_rendered_panel_with_commit_links_has_a_fixed_query_count(
    system, django_assert_num_queries, size
):
    for n in range(size):
        repo = RepositoryFactory(
            system=system, provider=Provider.GITHUB, url=f"https://github.com/acme/r{n}"
        )
        ChangeReviewRecordFactory(
            repository=repo, ai_assisted=True, sha=f"{n:040}", head_sha=f"{n + 1:040}"
        )
    web = Client()
    web.force_login(system.owner)
    url = reverse("repo_status:panel", args=[system.slug])
    web.get(url)  # warm the session
    with django_assert_num_queries(6):  # session, person, system, and the panel's three
        html = web.get(url).content.decode()
    assert html.count("/commit/") == 2 * size
