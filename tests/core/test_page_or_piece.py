"""One htmx rule for pages with a piece htmx swaps (core.pages.page_or_piece): the piece to an
htmx request, the whole page otherwise and to a history restore, and `Vary: HX-Request` on both
so no cache serves one for the other."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import PersonFactory, SystemFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
RESTORE = {"HTTP_HX_REQUEST": "true", "HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}


@pytest.fixture
def pm_client(client):
    client.force_login(PersonFactory(role="program_manager"))
    SystemFactory(name="Checkout API")
    return client


def _is_whole_page(response) -> bool:
    return b"<html" in response.content


@pytest.mark.parametrize(
    ("headers", "whole"),
    [({}, True), (HTMX, False), (RESTORE, True)],
    ids=["plain", "htmx", "history-restore"],
)
def test_the_systems_list(pm_client, headers, whole):
    response = pm_client.get(reverse("inventory:system_list"), **headers)
    assert response.status_code == 200
    assert _is_whole_page(response) is whole
    assert b"Checkout API" in response.content
    assert "HX-Request" in response["Vary"]
    assert (b"Recent changes to systems" in response.content) is whole  # page-only part


def test_the_identities_list_follows_the_same_rule(pm_client):
    """(The overview's team table, whose piece has a target, is in tests/dashboards.)"""
    identities = reverse("identities:list")
    assert _is_whole_page(pm_client.get(identities))
    assert not _is_whole_page(pm_client.get(identities, **HTMX))
    assert _is_whole_page(pm_client.get(identities, **RESTORE))
