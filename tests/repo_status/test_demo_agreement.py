"""Issue 11 item 6: on the demo data, the repository panel and the checklist's automated items
read one stored result, so they agree (no "CODEOWNERS: missing" beside a passing item)."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from safety_reset.audits.models import ChecklistItem
from safety_reset.catalog.models import Evaluation
from safety_reset.demo.services import demo_seed
from safety_reset.inventory.models import System
from safety_reset.repo_status.rules import CODEOWNERS_CONTROL, PROTECTION_CONTROLS
from safety_reset.repo_status.selectors import repository_panel

pytestmark = pytest.mark.django_db

PROTECTION_KEYS = (*PROTECTION_CONTROLS, CODEOWNERS_CONTROL)
AGREES = {
    True: {"passing", "not_applicable"},
    False: {"failing", "excepted"},
}


def test_panel_and_automated_items_agree_on_the_demo():
    demo_seed(systems=30, day=41, seed=7, now=timezone.now())
    items = ChecklistItem.objects.filter(
        control__evaluation=Evaluation.AUTOMATED, control__key__in=list(PROTECTION_KEYS)
    ).select_related("control", "audit")
    status_of = {(i.audit.system_id, i.control.key): i.status for i in items}
    compared = 0
    for system in System.objects.filter(repositories__isnull=False).distinct():
        panel = repository_panel(system=system)
        html = render_to_string("repo_status/partials/_panel.html", {"panel": panel})
        for row in panel.rows:
            for key, passing, _why in row.verdicts:
                status = status_of.get((system.pk, key))
                if status is None or passing is None or status == "not_assessed":
                    continue
                compared += 1
                assert status in AGREES[passing], (system.slug, row.repository, key, status)
                shown = "passing" if passing else "failing"
                assert f'data-control="{key}" data-verdict="{shown}"' in html
    assert compared > 50
