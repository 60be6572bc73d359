"""The register's figures where people work: My work's block of identities due for
re-attestation (queries pinned at two sizes), the owner's digest lines and the PM's figures."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from safety_reset.identities.selectors import identities_due_by_person
from safety_reset.notifications import digests
from tests.factories import PersonFactory, SystemFactory
from tests.notifications.conftest import bodies

from .factories import DEPLOY_ROLE, IdentityFactory

pytestmark = pytest.mark.django_db

LA_MONDAY = dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC)  # Mon 30 Nov 08:30 PST


def _ago(days: float, now: dt.datetime | None = None) -> dt.datetime:
    return (now or timezone.now()) - dt.timedelta(days=days)


def test_due_are_my_systems_lapsed_first_then_soonest(register) -> None:
    delegate = PersonFactory(email="delegate@register.test")
    register.system.delegates.add(delegate)
    answers = PersonFactory(email="answers@register.test")
    other = SystemFactory(slug="elsewhere", name="Elsewhere")
    soon = IdentityFactory(name="soon-bot", systems=[register.system], last_attested_at=_ago(26))
    lapsed = IdentityFactory(name="old-bot", systems=[register.system], last_attested_at=_ago(40))
    never = IdentityFactory(name="new-bot", systems=[register.system], last_attested_at=None)
    IdentityFactory(name="fresh-bot", systems=[register.system], last_attested_at=_ago(2))
    theirs = IdentityFactory(
        name="their-bot", systems=[other], accountable=answers, last_attested_at=_ago(35)
    )
    due = identities_due_by_person(person_ids=[register.owner.pk, delegate.pk, answers.pk])
    mine = [i.name for i in due[register.owner.pk]]
    assert mine == [never.name, lapsed.name, soon.name]
    assert [i.name for i in due[delegate.pk]] == mine
    assert [i.name for i in due[answers.pk]] == [theirs.name]  # they answer for it
    first = due[register.owner.pk][1]
    assert first.lapsed
    assert first.systems == [register.system.name]
    assert first.url == f"/identities/{lapsed.pk}/"
    assert not due[register.owner.pk][2].lapsed


@pytest.mark.parametrize("size", [2, 20])
def test_my_work_block_queries_are_fixed(client, register, size) -> None:
    for n in range(size):
        system = SystemFactory(owner=register.owner, slug=f"sys-{n}")
        register.system.delegates.add(PersonFactory())
        IdentityFactory(systems=[system, register.system], last_attested_at=_ago(31 + n))
    client.force_login(register.owner)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/identities/due/")
    assert response.status_code == 200
    assert len(queries) == 4, [q["sql"] for q in queries.captured_queries]  # session, user, 2
    assert len(response.context["due"]) == size
    body = response.content.decode()
    assert body.count('class="work-action" href="/identities/') == size
    assert "lapsed" in body


def test_my_work_loads_the_block(client, register) -> None:
    client.force_login(register.owner)
    response = client.get("/my-work/")
    assert response.status_code == 200
    assert 'hx-get="/identities/due/"' in response.content.decode()


def test_owner_digest_lists_identities_to_re_attest(smtp, register) -> None:
    identity = IdentityFactory(
        name="checkout-ci", systems=[register.system], last_attested_at=_ago(33, LA_MONDAY)
    )
    delivery = digests.digests_send(person_ids=[register.owner.pk], now=LA_MONDAY)
    assert len(delivery.sent) == 1
    [message] = smtp.messages
    assert "1 identity to re-attest" in message["Subject"]
    text, html = bodies(message)
    for body in (text, html):
        assert "Identities to re-attest" in body
        assert "checkout-ci" in body
        assert f"https://reset.example.test/identities/{identity.pk}/" in body
    assert "lapsed Fri 27 Nov" in text


def test_program_manager_digest_has_the_register_figures(smtp, register) -> None:
    pm = PersonFactory(email="pm@register.test", role="program_manager")
    for n in range(3):
        identity = IdentityFactory(
            systems=[register.system], last_attested_at=_ago(40 if n == 0 else 1, LA_MONDAY)
        )
        identity.policies.create(name="p", document=DEPLOY_ROLE, can_destroy=True)
    digests.digests_send(person_ids=[pm.pk], now=LA_MONDAY)
    text, html = bodies(smtp.for_("pm@register.test")[0])
    assert "3 can delete production (3 without a gate)" in text
    assert "0 seen, not registered, 1 attestations lapsed" in text
    assert "Agents, bots and roles" in html
    assert "https://reset.example.test/identities/?can_delete_production=true" in html
