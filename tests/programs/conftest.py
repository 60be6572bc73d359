"""Program creation tests: a catalog of controls, systems to enrol, the roles, and the SMTP server."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from safety_reset.catalog.models import Catalog
from safety_reset.inventory.models import Person, System, Team
from tests.factories import (
    CatalogFactory,
    ControlFactory,
    PersonFactory,
    SeniorFactory,
    SystemFactory,
    TeamFactory,
)
from tests.notifications.conftest import Mailbox, smtp  # noqa: F401 - the SMTP fixture

__all__ = ["Mailbox"]

START = dt.date(2027, 3, 1)


@dataclass
class World:
    pm: Person
    member: Person
    senior: Person
    catalog: Catalog
    team: Team
    systems: list[System]


def make_systems(n: int, *, team: Team, senior: Person, prefix: str = "svc") -> list[System]:
    return [
        SystemFactory(slug=f"{prefix}-{i}", name=f"{prefix} {i}", team=team, senior_reviewer=senior)
        for i in range(n)
    ]


@pytest.fixture
def world(db) -> World:
    catalog = CatalogFactory(slug="csr", name="Code Safety Reset", version=1)
    for _ in range(3):
        ControlFactory(catalog=catalog)
    ControlFactory(catalog=catalog, retired_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    team = TeamFactory(slug="payments", name="Payments")
    senior = SeniorFactory(email="senior@example.test")
    return World(
        pm=PersonFactory(role="program_manager", email="pm@example.test"),
        member=PersonFactory(email="member@example.test"),
        senior=senior,
        catalog=catalog,
        team=team,
        systems=make_systems(4, team=team, senior=senior),
    )


def create_kwargs(world: World, **over: object) -> dict[str, object]:
    kwargs: dict[str, object] = {
        "name": "Reset 2027",
        "start_date": START,
        "time_zone": "Europe/Berlin",
        "catalog": world.catalog,
    }
    kwargs.update(over)
    return kwargs


@pytest.fixture
def eager():
    """Celery runs queued tasks in place (the kick-off mails go out on commit, in the test)."""
    from safety_reset.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = before
