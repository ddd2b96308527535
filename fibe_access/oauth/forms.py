"""The consent form: the New API key form without label or agent storage, its scopes limited to
what the client asked for (the person may untick, never add), the same restriction widget and
expiry."""

from __future__ import annotations

from django import forms

from keys import scopes
from keys.forms import KeyCreateForm

from .public import MCP_SCOPE


def offered_scopes(requested: str | None) -> tuple[list[str], bool]:
    """The scopes the consent page offers for a ``scope`` request, and whether the client left
    the choice to the person: a client asking only to connect (``mcp:access``, what the 401
    names, or nothing) is offered the whole catalogue, none ticked."""
    asked = [n for n in dict.fromkeys((requested or "").split()) if n in scopes.CATALOGUE]
    if not [n for n in asked if n != MCP_SCOPE]:
        return [n for n in scopes.OFFERED if n != MCP_SCOPE], True
    return [n for n in asked if n != MCP_SCOPE], False


class ConsentForm(KeyCreateForm):
    def __init__(self, *args, offered: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["label"]
        del self.fields["is_agent"]
        self.fields["scopes"].choices = [(n, n) for n in offered]
        self.fields["scopes"].required = False
        self.fields["expiry"].initial = "none"
        self.fields["confirm_destructive"] = forms.BooleanField(  # issue 22: on by default
            label="Confirm destructive actions",
            required=False,
            initial=True,
            help_text="Deletes, destroys, recreates and secret changes this app makes wait until "
            "you approve each one, after your second factor.",
        )

    def clean(self):
        data = super().clean()
        data["label"] = ""
        data["confirm_destructive_on"] = bool(data.get("confirm_destructive"))
        return data
