"""The repository panel partial: who may see it, what it shows, and its query count."""

from __future__ import annotations

import pytest
from django.urls import reverse

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
