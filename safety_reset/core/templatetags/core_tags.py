from django import template

register = template.Library()


@register.simple_tag
def percent(done: int | float, total: int | float) -> int:
    """Whole percent of done over total; 0 when there is nothing to do."""
    if not total:
        return 0
    return max(0, min(100, round(100 * done / total)))
