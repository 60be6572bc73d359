"""A permission matrix declared as data: each page or action, and the status each role gets.

A new page gets its row in the table of its test module; `check_matrix` signs in as each of the
eight roles of tests/roles.py (the program manager last, as its writes succeed) and compares
the whole row at once, so a failure shows every role that differs. For writes it also checks
that nobody but the program manager changed anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from safety_reset.catalog.models import Control
from safety_reset.inventory.models import Org, Person, Repository, System, Team
from safety_reset.inventory.selectors import event_model
from tests.db_state import database_state
from tests.roles import ROLES, RoleWorld, client_as

LOGIN = "login"  # a redirect to the sign-in page

# Who reads the inventory and the catalog: program managers and viewers (both read the whole
# program); owners, delegates and seniors have their own pages and get 403 here.
READ = {
    "anonymous": LOGIN,
    "viewer": 200,
    "other_owner": 403,
    "owner": 403,
    "delegate": 403,
    "other_senior": 403,
    "senior": 403,
    "program_manager": 200,
}
# Forms (GET) and the people search: program managers only.
WRITE_PAGE = READ | {"viewer": 403}
# Writes (POST with valid data): program managers only; success redirects.
WRITE = WRITE_PAGE | {"program_manager": 302}


@dataclass
class Case:
    name: str
    url: Callable[[RoleWorld], str]
    expected: dict[str, Any]
    data: Callable[[RoleWorld], dict[str, Any]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def method(self) -> str:
        return "post" if self.data is not None else "get"

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.name}"


def fingerprint() -> tuple[Any, ...]:
    """Everything a write on these pages could change."""
    people = Person.objects.order_by("pk").values_list(
        "email",
        "first_name",
        "last_name",
        "role",
        "is_senior",
        "team_id",
        "manager_id",
        "time_zone",
    )
    return (
        tuple(people),
        System.objects.count(),
        Team.objects.count(),
        Org.objects.count(),
        Person.objects.count(),
        Control.objects.count(),
        Control.objects.filter(retired_at__isnull=False).count(),
        Repository.objects.count(),
        event_model(System).objects.count(),
        event_model(Team).objects.count(),
        event_model(Control).objects.count(),
    )


def check_matrix(client, world: RoleWorld, case: Case) -> None:
    actual: dict[str, Any] = {}
    url = case.url(world)
    for role in sorted(ROLES, key=lambda r: r == "program_manager"):
        client_as(client, world, role)
        before = fingerprint()
        before_all = database_state()
        if case.data is not None:
            response = client.post(url, case.data(world), **case.extra)
        else:
            response = client.get(url, **case.extra)
        status: Any = response.status_code
        if status == 302 and response["Location"].startswith("/accounts/login/"):
            status = LOGIN
        actual[role] = status
        if role != "program_manager":
            assert fingerprint() == before, f"{case}: {role} changed something"
            assert database_state() == before_all, f"{case}: {role} changed some other table"
        elif case.data is not None and status == 302:
            assert fingerprint() != before, f"{case}: the program manager's write saved nothing"
    assert actual == case.expected, f"{case}"
