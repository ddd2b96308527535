from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.template.loader import render_to_string

from . import services
from .actor import Actor
from .addresses import canonical_email, normalize_email
from .models import User
from .notices import account_mail_send

# Argon2 hashes whatever it is given: a cap keeps a huge "password" from costing the server.
PASSWORD_MAX = 1024


class RefuseNulMixin:
    """No field of a page form accepts a NUL character, whatever its type (PostgreSQL cannot
    store one; a checkbox or a choice would otherwise take "on\\x00" as "on"): it is a field
    error and nothing is done."""

    def clean(self):
        data = super().clean()
        getlist = getattr(self.data, "getlist", None)
        for name in list(self.fields):
            key = self.add_prefix(name)
            values = getlist(key) if getlist else [self.data.get(key)]
            if any("\x00" in str(v) for v in values if v is not None) and name not in self.errors:
                self.add_error(name, "Null characters are not allowed.")
        return data


class EmailAddressField(forms.EmailField):
    """An address as Fibe stores it: NFKC-normalised (full-width letters become ASCII) and
    lower-cased before it is validated."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "E-mail address")
        kwargs.setdefault("max_length", 254)
        kwargs.setdefault("widget", forms.EmailInput(attrs={"autocomplete": "email"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return normalize_email(value) if value else value


class EmailForm(RefuseNulMixin, forms.Form):
    email = EmailAddressField()


class SignupForm(RefuseNulMixin, forms.Form):
    email = EmailAddressField()
    password1 = forms.CharField(
        label="Password",
        strip=False,
        max_length=PASSWORD_MAX,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        max_length=PASSWORD_MAX,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords differ.")
        elif p1 and data.get("email"):
            try:
                password_validation.validate_password(p1, User(email=data["email"]))
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


class LoginForm(RefuseNulMixin, AuthenticationForm):
    username = EmailAddressField(
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=PASSWORD_MAX,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class OTPTokenForm(RefuseNulMixin, forms.Form):
    otp_token = forms.CharField(
        label="Code from your authenticator app, or a backup code",
        max_length=16,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "text",
                "autofocus": True,
                "spellcheck": "false",
            }
        ),
    )


class ConfirmDeleteForm(RefuseNulMixin, forms.Form):
    email = EmailAddressField(label="Type your e-mail address to confirm")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_email(self):
        if canonical_email(self.cleaned_data["email"]) != self.user.email_canonical:
            raise forms.ValidationError("That is not this account's e-mail address.")
        return self.cleaned_data["email"]


class PasswordResetRequestForm(RefuseNulMixin, PasswordResetForm):
    """Django's reset form, matching addresses as sign-in does and sending through the
    rate-limited account mail; every request that mails a link is on the account's log."""

    email = EmailAddressField()

    def get_users(self, email):
        return User.objects.filter(email_canonical=canonical_email(email), is_active=True)

    def save(self, *args, request=None, **kwargs):
        self.actor = Actor.from_request(request) if request is not None else Actor.system()
        return super().save(*args, request=request, **kwargs)

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        body = render_to_string(email_template_name, context)
        if account_mail_send(to=context["email"], subject=subject, body=body):
            services.password_reset_requested(actor=self.actor, user=context["user"])


class KeyPolicyForm(forms.Form):
    inactivity_on = forms.BooleanField(label="Expire keys that go unused", required=False)
    inactivity_days = forms.IntegerField(
        label="Unused for (days)",
        required=False,
        min_value=30,
        max_value=365,
        initial=90,
        help_text="30 to 365. The owner is e-mailed 7 days before a key expires this way.",
    )
    lifetime_on = forms.BooleanField(label="Cap the lifetime of new keys", required=False)
    max_lifetime_days = forms.IntegerField(
        label="Maximum lifetime (days)",
        required=False,
        min_value=1,
        max_value=3650,
        initial=90,
        help_text="New keys must expire within this many days; existing keys keep their expiry.",
    )

    def clean(self):
        data = super().clean()
        for switch, days in (
            ("inactivity_on", "inactivity_days"),
            ("lifetime_on", "max_lifetime_days"),
        ):
            if not data.get(switch):
                data[days] = None
            elif data.get(days) is None and days not in self.errors:
                self.add_error(days, "Give a number of days.")
        return data
