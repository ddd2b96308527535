"""``{% connected_apps user as apps %}``: the Connected apps section of Profile → API Keys."""

from django import template

from keys import presenters

from .. import selectors

register = template.Library()


@register.simple_tag
def connected_apps(user) -> list[tuple]:
    grants = selectors.grants_for(owner=user)
    cards = presenters.key_cards([g.key for g in grants])
    return list(zip(grants, cards, strict=True))
