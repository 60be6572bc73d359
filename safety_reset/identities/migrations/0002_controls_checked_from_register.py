"""`agent-least-privilege` and `human-in-the-loop` become automated: checked from the register."""

from django.db import migrations

KEYS = ("agent-least-privilege", "human-in-the-loop")


def forwards(apps, schema_editor):
    from safety_reset.catalog.defaults import DEFAULT_CATALOG_SLUG, DEFAULT_CONTROLS

    Control = apps.get_model("catalog", "Control")
    for spec in DEFAULT_CONTROLS:
        if spec.key in KEYS:
            Control.objects.filter(catalog__slug=DEFAULT_CATALOG_SLUG, key=spec.key).update(
                evaluation=spec.evaluation, guidance=spec.guidance
            )


def backwards(apps, schema_editor):
    Control = apps.get_model("catalog", "Control")
    Control.objects.filter(key__in=KEYS).update(evaluation="attestation")


class Migration(migrations.Migration):
    dependencies = [
        ("identities", "0001_register"),
        ("catalog", "0003_control_history"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
