"""Template tags other apps' pages use to mention programs without importing this app."""

from django import template

from safety_reset.programs.models import Program
from safety_reset.programs.selectors import programs_open as _programs_open

register = template.Library()


@register.simple_tag
def programs_open() -> list[Program]:
    """The open programs (a system saved now joins those whose scope it is in)."""
    return _programs_open()
