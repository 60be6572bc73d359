from __future__ import annotations

import pytest

from safety_reset.audits.models import ChecklistItem
from tests.factories import (
    AuditFactory,
    ChecklistItemFactory,
    ControlFactory,
    PersonFactory,
    ProgramFactory,
    SystemFactory,
)
from tests.notifications.conftest import smtp  # noqa: F401 - the SMTP server, for digests


class Register:
    """A system in a program whose checklist has the two controls the register checks."""

    def __init__(self, slug: str = "checkout", email: str = "owner@register.test") -> None:
        self.program = ProgramFactory()
        self.owner = PersonFactory(email=email)
        self.system = SystemFactory(owner=self.owner, slug=slug)
        self.audit = AuditFactory(program=self.program, system=self.system)
        self.items = {
            key: ChecklistItemFactory(
                audit=self.audit,
                control=ControlFactory(
                    catalog=self.program.catalog, key=key, evaluation="automated"
                ),
            )
            for key in ("agent-least-privilege", "human-in-the-loop")
        }

    def item(self, key: str = "agent-least-privilege") -> ChecklistItem:
        return ChecklistItem.objects.get(pk=self.items[key].pk)


@pytest.fixture
def register(db) -> Register:
    return Register()
