"""Leaked keys (issue 24): the public revocation endpoint and GitHub's secret-scanning partner
endpoint revoke reported tokens at once, tell each owner once and tell the reporter nothing."""

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client

from fibe_access.accounts.models import SecurityEvent
from keys import tokens
from keys.leak_views import ACCEPTED
from keys.models import ApiKey
from tests.support.factories import UserFactory, api_key_make

REVOKE = "/api/v1/credentials/revoke"
GITHUB = "/api/v1/secret-scanning/github"
REVOKED = ApiKey.Status.REVOKED


def _report(client, credentials, **extra):
    return client.post(
        REVOKE, json.dumps({"credentials": credentials}), content_type="application/json", **extra
    )


def _me(client, token):
    return client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


def _checksum_failing(token: str) -> str:
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


@pytest.fixture
def batch(db):
    """Two owners' keys, one already revoked, and every kind of junk a report can hold."""
    ada, bob = UserFactory(email="ada@example.com"), UserFactory(email="bob@example.com")
    ada_ci, ada_ci_token = api_key_make(ada, "playgrounds:read", label="CI")
    ada_bot, ada_bot_token = api_key_make(ada, "playgrounds:read", label="Agent")
    old, old_token = api_key_make(ada, "playgrounds:read", label="Old")
    ApiKey.objects.filter(pk=old.pk).update(status=REVOKED)
    bob_key, bob_token = api_key_make(bob, "playgrounds:read", label="Bob's deploy")
    kept, kept_token = api_key_make(bob, "playgrounds:read", label="Not reported")
    return {
        "ada": ada,
        "bob": bob,
        "valid": {ada_ci.pk: ada_ci_token, ada_bot.pk: ada_bot_token, bob_key.pk: bob_token},
        "revoked": old_token,
        "kept": (kept, kept_token),
        "junk": [
            tokens.generate(),  # well formed, unknown
            _checksum_failing(ada_ci_token),
            "fibe_short",
            "not a token at all",
            "",
        ],
    }


def test_a_mixed_batch_revokes_every_valid_token_and_mails_each_owner_once(
    batch, django_capture_on_commit_callbacks
):
    client = Client()
    for token in batch["valid"].values():
        assert _me(client, token) == 200
    reported = [*batch["valid"].values(), batch["revoked"], *batch["junk"]]
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = _report(client, reported)

    assert response.status_code == 202
    assert response.json() == ACCEPTED
    assert set(ApiKey.objects.filter(pk__in=batch["valid"]).values_list("status", flat=True)) == {
        REVOKED
    }
    kept, kept_token = batch["kept"]
    assert ApiKey.objects.get(pk=kept.pk).status == ApiKey.Status.ACTIVE
    for token in batch["valid"].values():
        assert _me(client, token) == 401
    assert _me(client, kept_token) == 200
    # one mail per owner, naming every key of theirs and where it was reported from
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.com", "bob@example.com"]
    ada_mail = next(m for m in mail.outbox if m.to == ["ada@example.com"])
    assert "“CI”" in ada_mail.body and "“Agent”" in ada_mail.body and "Old" not in ada_mail.body
    assert "public revocation endpoint (from 127.0.0.1)" in ada_mail.body
    assert not any(t in m.body for m in mail.outbox for t in batch["valid"].values())
    rows = SecurityEvent.objects.filter(kind=SecurityEvent.Kind.KEY_REVOKED)
    assert sorted(r.detail["key_id"] for r in rows) == sorted(batch["valid"])
    assert {r.detail["reason"] for r in rows} == {"reported as leaked"}
    page = Client()
    page.force_login(batch["ada"], backend="django.contrib.auth.backends.ModelBackend")
    security = page.get("/profile/security/").content.decode()
    assert security.count("API key revoked: reported as leaked") == 2


def test_the_answer_is_the_same_whatever_the_tokens_were(batch, django_capture_on_commit_callbacks):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        valid = _report(client, list(batch["valid"].values()))
    junk = _report(client, batch["junk"])
    already = _report(client, list(batch["valid"].values()))  # revoked a moment ago
    empty = _report(client, [])
    answers = {
        (r.status_code, r.content, r.get("Content-Type")) for r in (valid, junk, already, empty)
    }
    assert len(answers) == 1


def test_checksum_failures_never_reach_the_database(batch, django_assert_num_queries):
    junk = [_checksum_failing(t) for t in batch["valid"].values()] + batch["junk"][1:]
    with django_assert_num_queries(0):
        response = _report(Client(), junk)
    assert response.status_code == 202
    assert not ApiKey.objects.filter(pk__in=batch["valid"], status=REVOKED).exists()


def test_reports_are_rate_limited_per_client_address_and_ipv6_per_64(batch, settings):
    settings.LEAK_REPORTS_PER_IP_MINUTE = 2
    client = Client()
    token = next(iter(batch["valid"].values()))
    a, b = "2001:db8:1:2::10", "2001:db8:1:2:ffff::99"  # one /64
    assert _report(client, [], REMOTE_ADDR=a).status_code == 202
    assert _report(client, [], REMOTE_ADDR=b).status_code == 202
    refused = _report(client, [token], REMOTE_ADDR=a)
    assert refused.status_code == 429 and refused["Retry-After"] == "60"
    assert _me(client, token) == 200  # refused reports revoke nothing
    assert _report(client, [], REMOTE_ADDR="2001:db8:1:3::10").status_code == 202  # another /64
    assert _report(client, [], REMOTE_ADDR="198.51.100.7").status_code == 202


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"[[[[" * 5000, 400),
        (json.dumps({"credentials": "fibe_x"}).encode(), 422),
        (json.dumps({"credentials": [1, 2]}).encode(), 422),
        (json.dumps({"tokens": []}).encode(), 422),
        (json.dumps({"credentials": ["x"] * 1001}).encode(), 422),
        (json.dumps({"credentials": ["x" * 300_000]}).encode(), 413),
    ],
)
def test_bad_reports_get_a_clear_4xx(db, body, status):
    response = Client().post(REVOKE, body, content_type="application/json")
    assert response.status_code == status
    assert set(response.json()) == {"code", "message"}


def test_only_post(db):
    response = Client().get(REVOKE)
    assert response.status_code == 405 and response["Allow"] == "POST"


# --- GitHub's secret-scanning partner endpoint -------------------------------------------------

KEY_ID = "90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a"


def _github_document(private_key, key_id=KEY_ID) -> str:
    pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return json.dumps(
        {"public_keys": [{"key_identifier": key_id, "key": pem.decode(), "is_current": True}]}
    )


@pytest.fixture
def github_key(settings, tmp_path):
    """A P-256 key made here and installed as GitHub's, the way an operator installs GitHub's."""
    settings.GITHUB_SECRET_SCANNING_KEYS = ""
    settings.GITHUB_SECRET_SCANNING_KEYS_FILE = tmp_path / "github-keys.json"
    private = ec.generate_private_key(ec.SECP256R1())
    document = tmp_path / "downloaded.json"
    document.write_text(_github_document(private))
    call_command("github_scanning_keys", str(document))
    return private


def _sign(private_key, body: bytes) -> str:
    return base64.b64encode(private_key.sign(body, ec.ECDSA(hashes.SHA256()))).decode()


def _github(body: bytes, *, key_id=KEY_ID, signature: str):
    return Client().post(
        GITHUB,
        body,
        content_type="application/json",
        HTTP_GITHUB_PUBLIC_KEY_IDENTIFIER=key_id,
        HTTP_GITHUB_PUBLIC_KEY_SIGNATURE=signature,
    )


def _matches(*tokens_found):
    return json.dumps(
        [
            {
                "token": t,
                "type": "fibe_api_key",
                "url": f"https://github.com/octocat/hello/blob/abc/leak{i}.env",
                "source": "content",
            }
            for i, t in enumerate(tokens_found)
        ]
    ).encode()


def test_github_signed_report_revokes_and_answers_feedback(
    batch, github_key, django_capture_on_commit_callbacks
):
    bob_token = batch["valid"][max(batch["valid"])]
    unknown = batch["junk"][0]
    body = _matches(bob_token, unknown, batch["revoked"])
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = _github(body, signature=_sign(github_key, body))

    assert response.status_code == 200
    assert response.json() == [
        {
            "token_hash": tokens.digest(bob_token),
            "token_type": "fibe_api_key",
            "label": "true_positive",
        },
        {
            "token_hash": tokens.digest(unknown),
            "token_type": "fibe_api_key",
            "label": "false_positive",
        },
        {
            "token_hash": tokens.digest(batch["revoked"]),
            "token_type": "fibe_api_key",
            "label": "true_positive",
        },
    ]
    assert _me(Client(), bob_token) == 401
    (notice,) = mail.outbox
    assert notice.to == ["bob@example.com"]
    assert "https://github.com/octocat/hello/blob/abc/leak0.env" in notice.body
    row = SecurityEvent.objects.get(user=batch["bob"], kind=SecurityEvent.Kind.KEY_REVOKED)
    assert row.detail["reported_from"] == "https://github.com/octocat/hello/blob/abc/leak0.env"


def test_github_bad_signature_unknown_key_or_replayed_body_is_401_and_revokes_nothing(
    batch, github_key
):
    token = next(iter(batch["valid"].values()))
    body = _matches(token)
    other = _matches(batch["junk"][0])
    stranger = ec.generate_private_key(ec.SECP256R1())
    attempts = [
        _github(body, signature=_sign(stranger, body)),  # signed by someone else
        _github(body, key_id="0" * 64, signature=_sign(github_key, body)),  # unknown key id
        _github(body, signature=_sign(github_key, other)),  # replayed with another's signature
        _github(body + b" ", signature=_sign(github_key, body)),  # body changed after signing
        _github(body, signature="not base64!"),
        _github(body, signature=""),
    ]
    assert [r.status_code for r in attempts] == [401] * len(attempts)
    assert {r.json()["code"] for r in attempts} == {"invalid_signature"}
    assert _me(Client(), token) == 200
    assert not ApiKey.objects.filter(status=REVOKED).exclude(label="Old").exists()


def test_github_keys_from_the_setting_work_without_the_file(batch, settings, tmp_path):
    private = ec.generate_private_key(ec.SECP256R1())
    settings.GITHUB_SECRET_SCANNING_KEYS = _github_document(private)
    settings.GITHUB_SECRET_SCANNING_KEYS_FILE = tmp_path / "absent.json"
    body = _matches(batch["junk"][0])
    response = _github(body, signature=_sign(private, body))
    assert response.status_code == 200
    assert response.json()[0]["label"] == "false_positive"


def test_the_keys_command_refuses_what_is_not_a_p256_key(settings, tmp_path):
    settings.GITHUB_SECRET_SCANNING_KEYS_FILE = tmp_path / "github-keys.json"
    wrong_curve = tmp_path / "p384.json"
    wrong_curve.write_text(_github_document(ec.generate_private_key(ec.SECP384R1())))
    garbage = tmp_path / "garbage.json"
    garbage.write_text('{"keys": []}')
    for source in (wrong_curve, garbage):
        with pytest.raises(CommandError, match="Not installed"):
            call_command("github_scanning_keys", str(source))
    assert not settings.GITHUB_SECRET_SCANNING_KEYS_FILE.exists()


def test_github_messages_are_bounded_before_anything_is_revoked(batch, github_key, settings):
    settings.GITHUB_SECRET_SCANNING_MAX_MATCHES = 2
    token = next(iter(batch["valid"].values()))
    three = _matches(token, token, token)
    assert _github(three, signature=_sign(github_key, three)).status_code == 422
    settings.GITHUB_SECRET_SCANNING_MAX_BYTES = 100
    one = _matches(token)
    assert _github(one, signature=_sign(github_key, one)).status_code == 413
    assert _me(Client(), token) == 200
