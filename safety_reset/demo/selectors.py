"""Reads of the demo app."""

from safety_reset.programs.models import Program


def demo_data_exists() -> bool:
    """Whether any program is loaded (demo or not): the demo never loads over one."""
    return Program.objects.exists()
