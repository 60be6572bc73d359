"""Program and Phase now live in the programs app (its 0001 renames their tables); here they
leave the audits app's state, and an audit's program points there. No SQL runs."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audits", "0004_evidence_request_kind"),
        ("programs", "0001_initial"),
        ("dashboards", "0003_snapshot_program_moves"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="audit",
                    name="program",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="audits",
                        to="programs.program",
                    ),
                ),
                migrations.DeleteModel(name="Phase"),
                migrations.DeleteModel(name="Program"),
            ],
            database_operations=[],
        ),
    ]
