"""The pages' forms fed hostile values: very long, NUL, control characters, CR/LF, HTML and
script, SQL-looking text, bidi overrides. Never a 500; what the rules forbid is refused with a
form error and creates nothing; whatever is shown back (in the form or on the next page) is
escaped."""

import pytest

from fibe_access.accounts.models import User
from keys.models import ApiKey
from tests.support.factories import UserFactory
from webhooks.models import WebhookEndpoint

XSS = '<script>alert("fibe-xss")</script>'
ATTR = '"><img src=x onerror=alert("fibe-xss")>'
HOSTILE = {
    "very long": "A" * 100_000,
    "nul": "abc\x00def",
    "control": "abc\x01\x07\x1b[31mdef",
    "crlf": "abc\r\nSet-Cookie: pwned=1",
    "html": XSS,
    "attribute break": ATTR,
    "sql": "' OR 1=1; DROP TABLE accounts_user; --",
    "bidi override": "invoice\u202efdp.exe",
    "emoji": "🔑" * 40,
}
ALWAYS_REFUSED = {"very long", "nul", "control", "crlf"}
# What must never appear raw in a page once a hostile value has been sent. (A refused value
# is shown back in its input, HTML-escaped; control characters stay as typed there, which
# browsers treat as text.)
RAW = ["<script>alert(", "<img src=x onerror"]


def _assert_escaped(response):
    assert response.status_code < 500
    if response.get("Content-Type", "").startswith("text/html"):
        body = response.content.decode()
        for raw in RAW:
            assert raw not in body, f"{raw!r} rendered unescaped"


def _signup_data(**overrides):
    data = {
        "email": "new.person@example.com",
        "password1": "correct horse battery 42",
        "password2": "correct horse battery 42",
    }
    data.update(overrides)
    return data


@pytest.mark.reliability
@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_signup_with_hostile_email_is_refused_and_escaped(kind, client, db):
    # given a sign-up whose e-mail address is hostile
    # when it is posted
    response = client.post("/accounts/signup/", _signup_data(email=HOSTILE[kind]))
    # then the form comes back with an error, escaped, and no account exists
    assert response.status_code == 200
    assert response.context["form"].errors.get("email")
    _assert_escaped(response)
    assert not User.objects.exists()


@pytest.mark.reliability
@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_signup_with_hostile_password_never_500s_nor_echoes_it(kind, client, db):
    value = HOSTILE[kind]
    response = client.post("/accounts/signup/", _signup_data(password1=value, password2=value))
    _assert_escaped(response)
    if kind == "nul":  # no cap on length: a 100 000-character password is accepted (noted)
        assert not User.objects.exists()
    if response.status_code == 200:  # refused: the password is not echoed back
        assert value not in response.content.decode()
        assert not User.objects.exists()
    else:  # accepted (a password may hold any printable text): it works as the password
        assert User.objects.get().check_password(value)


KEY_FIELDS = ["label", "scopes", "expires_on", "restrict_playgrounds"]


def _key_data(**overrides):
    data = {"label": "CI", "scopes": ["playgrounds:read"], "expiry": "30", "expires_on": ""}
    data.update(overrides)
    return data


@pytest.mark.reliability
@pytest.mark.parametrize("field", KEY_FIELDS)
@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_key_create_with_hostile_values(kind, field, make_stepped_up_client, db):
    # given a stepped-up owner
    owner = UserFactory()
    client = make_stepped_up_client(owner)
    value = HOSTILE[kind]
    overrides = {field: [value] if field in {"scopes", "restrict_playgrounds"} else value}
    if field == "expires_on":
        overrides["expiry"] = "date"
    # when the key form is posted with one hostile field
    response = client.post("/profile/api-keys/new/", _key_data(**overrides))
    # then there is no 500 and nothing raw
    _assert_escaped(response)
    created = ApiKey.objects.filter(owner=owner)
    if field != "label" or kind in ALWAYS_REFUSED:
        # a hostile scope, date or resource ID, and a label breaking the rules, are refused
        assert response.status_code == 200, (field, kind)
        assert response.context["form"].errors, (field, kind)
        assert not created.exists()
    elif created.exists():
        # printable text is a fine label: stored as typed, shown escaped everywhere
        assert created.get().label == value.strip()
        _assert_escaped(client.get(response.url) if response.status_code == 302 else response)
        _assert_escaped(client.get("/profile/api-keys/"))


WEBHOOK_FIELDS = ["url", "events", "secret", "description"]


def _webhook_data(**overrides):
    data = {
        "url": "http://127.0.0.1:9/hook",
        "events": ["playground.created"],
        "secret": "",
        "description": "",
        "is_active": "on",
    }
    data.update(overrides)
    return data


@pytest.mark.reliability
@pytest.mark.parametrize("field", WEBHOOK_FIELDS)
@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_webhook_create_with_hostile_values(kind, field, make_stepped_up_client, db):
    owner = UserFactory()
    client = make_stepped_up_client(owner)
    value = HOSTILE[kind]
    response = client.post(
        "/profile/webhooks/new/", _webhook_data(**{field: [value] if field == "events" else value})
    )
    _assert_escaped(response)
    created = WebhookEndpoint.objects.filter(owner=owner)
    if field in {"url", "events"} or kind in ALWAYS_REFUSED:
        assert response.status_code == 200, (field, kind)
        assert response.context["form"].errors, (field, kind)
        assert not created.exists()
    elif created.exists():
        assert getattr(created.get(), field) == value.strip()
        _assert_escaped(client.get(response.url))
        _assert_escaped(client.get("/profile/webhooks/"))
