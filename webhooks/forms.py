import json

from django import forms

from fibe_access.accounts.forms import RefuseNulMixin

from . import events

GROUP_LABELS = {"api_key": "API keys"}
STATUS_CHOICES = [
    ("", "Any status"),
    ("succeeded", "Succeeded"),
    ("retrying", "Retrying"),
    ("pending", "Pending"),
    ("failed", "Failed"),
]


class EndpointForm(RefuseNulMixin, forms.Form):
    url = forms.CharField(
        label="Target URL",
        max_length=2000,
        widget=forms.URLInput(
            attrs={"placeholder": "https://example.com/fibe/webhooks", "autocomplete": "off"}
        ),
        help_text="Must be HTTPS and reachable from the internet: private and loopback "
        "addresses are refused.",
    )
    events = forms.MultipleChoiceField(
        label="Events",
        choices=events.choices(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Choose at least one event.",
            "invalid_choice": "Unknown event “%(value)s”.",
        },
    )
    secret = forms.CharField(
        label="Signing secret",
        required=False,
        max_length=255,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="Optional. When set, every request is signed with HMAC-SHA256 so you can "
        "check it came from Fibe.",
    )
    remove_secret = forms.BooleanField(label="Remove the signing secret", required=False)
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=255,
        help_text="What this endpoint is for (optional).",
    )
    is_active = forms.BooleanField(
        label="Active",
        required=False,
        initial=True,
        help_text="Inactive endpoints receive nothing.",
    )

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing:
            self.fields[
                "secret"
            ].help_text = (
                "Leave blank to keep the current secret; type or generate a new one to replace it."
            )
        else:
            del self.fields["remove_secret"]

    def clean(self):
        data = super().clean()
        for name in ("description", "secret"):
            value = data.get(name) or ""
            if any(ord(c) < 32 or ord(c) == 127 for c in value):
                self.add_error(name, "Control characters are not allowed.")
        return data

    def event_groups(self):
        chosen = (
            set(self.data.getlist("events"))
            if self.is_bound
            else set(self.initial.get("events") or [])
        )
        return [
            (
                GROUP_LABELS.get(resource, resource),
                [
                    {
                        "name": e.name,
                        "help": e.description,
                        "checked": e.name in chosen,
                        "example": json.dumps(e.example(), indent=2),
                    }
                    for e in group
                ],
            )
            for resource, group in events.grouped().items()
        ]


class DeliveryFilterForm(forms.Form):
    event = forms.ChoiceField(
        label="Event", required=False, choices=[("", "Any event"), *events.choices()]
    )
    status = forms.ChoiceField(label="Status", required=False, choices=STATUS_CHOICES)
    kind = forms.ChoiceField(
        label="Kind",
        required=False,
        choices=[("", "Real and test"), ("real", "Real events only"), ("test", "Tests only")],
    )


class RecoverForm(RefuseNulMixin, forms.Form):
    since = forms.DateTimeField(
        label="Failed since",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        help_text="Every failed delivery created since then is sent again (times in UTC).",
    )


SECRET_OVERLAP_CHOICES = [
    ("24h", "In 24 hours (recommended)"),
    ("1h", "In 1 hour"),
    ("7d", "In 7 days"),
    ("now", "Now: receivers still holding the old secret fail at once"),
]


class SecretRotateForm(RefuseNulMixin, forms.Form):
    overlap = forms.ChoiceField(
        label="When should the old secret stop signing?",
        choices=SECRET_OVERLAP_CHOICES,
        initial="24h",
        widget=forms.RadioSelect,
        help_text="Until then every delivery carries two signatures, one per secret, so a "
        "receiver holding either verifies it. You can end it early.",
    )
    new_secret = forms.CharField(
        label="New secret",
        required=False,
        max_length=255,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="Leave blank and Fibe generates a strong one (shown once).",
    )

    def clean_new_secret(self):
        value = self.cleaned_data.get("new_secret") or ""
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise forms.ValidationError("Control characters are not allowed.")
        return value
