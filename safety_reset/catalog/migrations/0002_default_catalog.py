"""Install the default “Code Safety Reset v1” catalog on a fresh database."""

from django.db import migrations


def install(apps, schema_editor):
    # The controls are plain data; the installer takes the historical model classes.
    from safety_reset.catalog.defaults import install_default_catalog

    install_default_catalog(apps.get_model("catalog", "Catalog"), apps.get_model("catalog", "Control"))


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
    ]

    operations = [
        # Reversing leaves the catalog in place: programs may already point at it.
        migrations.RunPython(install, migrations.RunPython.noop),
    ]
