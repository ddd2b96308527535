"""Template helpers shared by every page: relative times people can read, exact on hover."""

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil

register = template.Library()


def _relative_text(value, now=None) -> str:
    now = now or timezone.now()
    delta = (value - now).total_seconds()
    if abs(delta) < 45:
        return "just now"
    if delta > 0:
        return f"in {timeuntil(value, now, depth=1)}"
    return f"{timesince(value, now, depth=1)} ago"


@register.filter
def relative(value):
    """``<time>`` with "3 minutes ago" / "in 12 days", the exact UTC time in its title."""
    if not value:
        return ""
    exact = timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z")
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', value.isoformat(), exact, _relative_text(value)
    )
