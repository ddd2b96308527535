"""``pending|pending_for:key_id``: the confirmations waiting for a key, from the page's one
query (keys.confirmations.pending_by_key)."""

from django import template

register = template.Library()


@register.filter
def pending_for(pending, key_id):
    return (pending or {}).get(key_id, [])
