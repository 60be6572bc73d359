"""Program and Phase move here from the audits app, keeping their rows.

The models are created in Django's state only, over the tables the audits app made
(audits_program, audits_phase), and the tables are then renamed. The content types follow, so
permissions granted on programs and phases stay granted.
"""

import django.db.models.deletion
from django.db import migrations, models

import safety_reset.core.models


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("program", "phase"):
        if not ContentType.objects.filter(app_label="programs", model=model).exists():
            ContentType.objects.filter(app_label="audits", model=model).update(
                app_label="programs"
            )


def move_content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("program", "phase"):
        if not ContentType.objects.filter(app_label="audits", model=model).exists():
            ContentType.objects.filter(app_label="programs", model=model).update(
                app_label="audits"
            )


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("audits", "0004_evidence_request_kind"),
        ("catalog", "0004_control_evidence_required"),
        ("contenttypes", "0002_remove_content_type_name"),
        # Every migration that made a foreign key to the old table runs before the rename.
        ("dashboards", "0002_snapshot_items_verified"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Program",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("slug", models.SlugField(max_length=80, unique=True)),
                        ("name", models.CharField(max_length=200)),
                        ("description", models.TextField(blank=True)),
                        ("start_date", models.DateField()),
                        ("length_days", models.PositiveSmallIntegerField(default=90)),
                        ("time_zone", models.CharField(default="UTC", max_length=64, validators=[safety_reset.core.models.validate_time_zone])),
                        ("catalog", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="programs", to="catalog.catalog")),
                    ],
                    options={"ordering": ["-start_date"], "db_table": "audits_program"},
                ),
                migrations.CreateModel(
                    name="Phase",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("kind", models.CharField(choices=[("audit", "Audit"), ("remediate", "Remediate"), ("verify", "Verify and sign-off")], max_length=12)),
                        ("start_day", models.PositiveSmallIntegerField()),
                        ("end_day", models.PositiveSmallIntegerField()),
                        ("program", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="phases", to="programs.program")),
                    ],
                    options={"ordering": ["program", "start_day"], "db_table": "audits_phase"},
                ),
                migrations.AddConstraint(
                    model_name="program",
                    constraint=models.CheckConstraint(condition=models.Q(("length_days__gte", 1)), name="program_length_positive"),
                ),
                migrations.AddConstraint(
                    model_name="phase",
                    constraint=models.UniqueConstraint(fields=("program", "kind"), name="phase_kind_unique_in_program"),
                ),
                migrations.AddConstraint(
                    model_name="phase",
                    constraint=models.CheckConstraint(condition=models.Q(("start_day__gte", 1), ("end_day__gte", models.F("start_day"))), name="phase_days_ordered"),
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="program", table=None),
        migrations.AlterModelTable(name="phase", table=None),
        migrations.RunPython(move_content_types, move_content_types_back, elidable=True),
    ]
