from datetime import UTC, datetime, time, timedelta

from django import forms
from django.utils import timezone

from fibe_access.accounts.forms import RefuseNulMixin

from . import allowlist, scopes

EXPIRY_CHOICES = [
    ("7", "7 days"),
    ("30", "30 days"),
    ("90", "90 days"),
    ("none", "No expiry"),
    ("date", "On a date"),
]
CONFIRM_CHOICES = [
    ("auto", "On for agent keys, off for others"),
    ("on", "On: a person approves every destructive call"),
    ("off", "Off"),
]
RESTRICT_PREFIX = "restrict_"
MAX_RESOURCE_CHOICES = 500


class AllowedIpsMixin:
    def clean_allowed_ips(self):
        try:
            return allowlist.normalize(self.cleaned_data.get("allowed_ips") or "")
        except allowlist.AllowListError as exc:
            raise forms.ValidationError(str(exc)) from None


class KeyCreateForm(AllowedIpsMixin, RefuseNulMixin, forms.Form):
    label = forms.CharField(
        label="Label",
        max_length=100,
        help_text="Your reference for this key, e.g. “CI/CD Pipeline” or “Local Dev”.",
    )
    scopes = forms.MultipleChoiceField(
        label="Scopes",
        choices=[(n, n) for n in scopes.OFFERED],
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Choose at least one scope.",
            "invalid_choice": "Unknown scope “%(value)s”.",
        },
    )
    expiry = forms.ChoiceField(
        label="Expires", choices=EXPIRY_CHOICES, initial="30", widget=forms.RadioSelect
    )
    expires_on = forms.DateField(
        label="Expiry date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    allowed_ips = forms.CharField(
        label="Allowed IP addresses",
        required=False,
        max_length=5000,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "203.0.113.0/24\n2001:db8::/32", "spellcheck": "false"}
        ),
        help_text="Optional. One IPv4 or IPv6 address or CIDR per line (up to 50): calls from "
        "anywhere else are refused. Leave empty to allow any address.",
    )
    is_agent = forms.BooleanField(
        label="For agents (unencrypted)",
        required=False,
        help_text="Stores the token so a Genie can read it at runtime. Anyone with access to "
        "your account can read it too. Only tick this if an agent needs it.",
    )

    confirm_destructive = forms.ChoiceField(
        label="Confirm destructive actions",
        choices=CONFIRM_CHOICES,
        initial="auto",
        required=False,  # left out (a script posting the form): as "auto"
        widget=forms.RadioSelect,
        help_text="Deletes, destroys, recreates and secret changes made with this key wait "
        "until you approve each one here, after your second factor.",
    )

    def __init__(
        self,
        *args,
        resource_choices: dict[str, list[tuple[int, str]]],
        max_lifetime_days: int | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.max_lifetime_days = max_lifetime_days
        if max_lifetime_days:
            self.fields["expiry"].choices = [
                (v, label)
                for v, label in EXPIRY_CHOICES
                if v == "date" or (v != "none" and int(v) <= max_lifetime_days)
            ]
            if self.fields["expiry"].initial not in dict(self.fields["expiry"].choices):
                self.fields["expiry"].initial = "date"
            self.fields[
                "expiry"
            ].help_text = f"Your account requires keys to expire within {max_lifetime_days} days."
        self.restrict_families = []
        for family, choices in resource_choices.items():
            name = RESTRICT_PREFIX + family
            self.fields[name] = forms.TypedMultipleChoiceField(
                label=scopes.FAMILIES[family],
                choices=choices,
                coerce=int,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                error_messages={
                    "invalid_choice": "You can only restrict a key to resources "
                    "you own (%(value)s is not one of them)."
                },
            )
            self.restrict_families.append(family)

    def clean_label(self):
        label = self.cleaned_data["label"].strip()
        if any(ord(c) < 32 or ord(c) == 127 for c in label):
            raise forms.ValidationError("The label cannot contain control characters.")
        if not label:
            raise forms.ValidationError("Give the key a label.")
        return label

    def clean(self):
        data = super().clean()
        choice = data.get("expiry")
        data["expires_at"] = None
        if choice in {"7", "30", "90"}:
            data["expires_at"] = timezone.now() + timedelta(days=int(choice))
        elif choice == "date":
            day = data.get("expires_on")
            if day is None:
                self.add_error("expires_on", "Pick the day the key expires.")
            else:
                # The key works through the chosen day, in UTC.
                data["expires_at"] = datetime.combine(day, time.max, tzinfo=UTC)
                if data["expires_at"] <= timezone.now():
                    self.add_error("expires_on", "Choose an expiry date in the future.")
        chosen = data.get("scopes") or []
        families = scopes.restrictable_families(chosen)
        restrictions = {}
        for family in self.restrict_families:
            ids = data.get(RESTRICT_PREFIX + family) or []
            if not ids:
                continue
            if family not in families:
                self.add_error(
                    RESTRICT_PREFIX + family,
                    (f"You restricted {scopes.FAMILIES[family]} but chose no scope for them."),
                )
                continue
            restrictions[family] = sorted(set(ids))
        data["restrictions"] = restrictions
        confirm = data.get("confirm_destructive") or "auto"
        data["confirm_destructive_on"] = None if confirm == "auto" else confirm == "on"
        return data


OVERLAP_CHOICES = [
    ("now", "Now (the default): the old token fails as soon as you rotate"),
    ("1h", "In 1 hour"),
    ("24h", "In 24 hours"),
    ("7d", "In 7 days"),
]


class KeyRotateForm(forms.Form):
    overlap = forms.ChoiceField(
        label="When should the old token stop working?",
        choices=OVERLAP_CHOICES,
        initial="now",
        required=False,
        widget=forms.RadioSelect,
        help_text="Until then both tokens work, sharing the key's rate limit, so you can update "
        "whatever uses the key without downtime. You can stop the old one early.",
    )

    def clean_overlap(self):
        return self.cleaned_data.get("overlap") or "now"  # as before overlaps existed


class KeyAllowedIpsForm(AllowedIpsMixin, RefuseNulMixin, forms.Form):
    allowed_ips = forms.CharField(
        label="Allowed IP addresses",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text="One IPv4 or IPv6 address or CIDR per line (up to 50), e.g. 10.0.0.0/8 or "
        "2001:db8::/32. Calls from anywhere else get 403 ip_not_allowed. Empty: any address.",
    )
