"""`fibe webhooks verify`, the receiver's side: both signature schemes, a tampered body, a
wrong secret, a replayed (old) timestamp; the verdict agrees with the standardwebhooks
library; and a real delivery, sent by a real worker to a loopback receiver, verifies."""

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from webhooks.signing import github_signature

from .conftest import assert_clean_failure

SECRET = "It's a Secret to Everybody"
BODY = json.dumps({"event": "playground.created", "data": {"id": 7}}).encode()


def _v1(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Signed by the standardwebhooks library (its secrets are base64 of the key bytes)."""
    library = Webhook(base64.b64encode(secret.encode()).decode())
    return library.sign(msg_id, datetime.fromtimestamp(timestamp, tz=UTC), body.decode())


def _verify(fibe, *args, body=BODY, env=None):
    return fibe("webhooks", "verify", *args, input=body, env=env)


def test_a_good_sha256_signature_verifies(offline_fibe):
    result = _verify(
        offline_fibe, "--secret", SECRET, "--signature", github_signature(SECRET, BODY)
    )

    assert result.code == 0, result
    assert "Valid" in result.err


def test_a_tampered_body_or_a_wrong_secret_fails_with_a_reason(offline_fibe):
    signature = github_signature(SECRET, BODY)

    tampered = _verify(offline_fibe, "--secret", SECRET, "--signature", signature, body=BODY + b" ")
    wrong = _verify(offline_fibe, "--secret", SECRET + "!", "--signature", signature)

    for result in (tampered, wrong):
        assert_clean_failure(result, 1)
        assert "does not match" in result.err


def test_a_standard_webhooks_signature_verifies_within_the_tolerance(offline_fibe):
    now = int(time.time())
    signature = _v1(SECRET, "msg_1", now, BODY)
    v1 = ("--signature", signature, "--id", "msg_1", "--timestamp", str(now))

    good = _verify(offline_fibe, "--secret", SECRET, *v1)
    tampered = _verify(offline_fibe, "--secret", SECRET, *v1, body=BODY.replace(b"7", b"8"))
    other_id = _verify(offline_fibe, "--secret", SECRET, *v1[:3], "msg_2", *v1[4:])

    assert good.code == 0, good
    assert_clean_failure(tampered, 1)
    assert_clean_failure(other_id, 1)


def test_an_old_or_future_timestamp_is_refused_even_when_correctly_signed(offline_fibe):
    for moment, word in ((int(time.time()) - 600, "old"), (int(time.time()) + 600, "future")):
        signature = _v1(SECRET, "msg_1", moment, BODY)
        v1 = ("--signature", signature, "--id", "msg_1", "--timestamp", str(moment))

        refused = _verify(offline_fibe, "--secret", SECRET, *v1)
        widened = _verify(offline_fibe, "--secret", SECRET, *v1, "--tolerance", "900")

        assert_clean_failure(refused, 1)
        assert word in refused.err
        assert widened.code == 0, widened


def test_both_schemes_together_and_each_must_verify(offline_fibe, tmp_path):
    now = int(time.time())
    body_file = tmp_path / "body.json"
    body_file.write_bytes(BODY)
    both = (
        "--signature",
        github_signature(SECRET, BODY),
        "--signature",
        _v1(SECRET, "msg_9", now, BODY),
        "--id",
        "msg_9",
        "--timestamp",
        str(now),
    )
    env = {"FIBE_WEBHOOK_SECRET": SECRET}

    from_file = offline_fibe("webhooks", "verify", *both, "--file", str(body_file), env=env)
    one_bad = _verify(offline_fibe, *both[:3], "sha256=" + "0" * 64, *both[4:], env=env)

    assert from_file.code == 0, from_file
    assert "sha256 and v1" in from_file.err
    assert_clean_failure(one_bad, 1)


def test_usage_errors_are_named(offline_fibe):
    v1_alone = _verify(offline_fibe, "--secret", SECRET, "--signature", "v1,abc")
    unknown = _verify(offline_fibe, "--secret", SECRET, "--signature", "md5=abc")
    no_secret = _verify(offline_fibe, "--signature", github_signature(SECRET, BODY))

    for result in (v1_alone, unknown, no_secret):
        assert_clean_failure(result, 2)
    assert "--id and --timestamp" in v1_alone.err
    assert "--secret" in no_secret.err and "FIBE_WEBHOOK_SECRET" in no_secret.err


@pytest.mark.parametrize(
    "case", ["good", "tampered body", "wrong secret", "wrong id", "old", "new"]
)
def test_the_verdict_agrees_with_the_standardwebhooks_library(offline_fibe, case):
    now = int(time.time())
    msg_id, secret, body = "msg_x", SECRET, BODY
    timestamp = now + {"old": -1000, "new": 1000}.get(case, 0)
    signature = _v1(secret, msg_id, timestamp, body)
    sent_body = body + b"x" if case == "tampered body" else body
    sent_secret = "other" if case == "wrong secret" else secret
    sent_id = "msg_y" if case == "wrong id" else msg_id
    headers = {"webhook-id": sent_id, "webhook-timestamp": str(timestamp)}
    headers["webhook-signature"] = signature
    try:
        Webhook(base64.b64encode(sent_secret.encode()).decode()).verify(sent_body, headers)
        library_accepts = True
    except WebhookVerificationError:
        library_accepts = False

    ours = _verify(
        offline_fibe,
        "--secret",
        sent_secret,
        "--signature",
        signature,
        "--id",
        sent_id,
        "--timestamp",
        str(timestamp),
        body=sent_body,
    )

    assert (ours.code == 0) == library_accepts == (case == "good")


def test_a_real_delivery_verifies(fibe, make_token, receiver, start_worker):
    start_worker()
    fibe.login(make_token("webhooks:manage"))
    made = fibe(
        "webhooks",
        "create",
        "--url",
        receiver.url,
        "--events",
        "playground.created",
        "--secret",
        SECRET,
        "--json",
    )
    endpoint_id = json.loads(made.out)["id"]

    assert fibe("webhooks", "test", str(endpoint_id)).code == 0
    assert receiver.wait_for(1, timeout=30), "the worker sent nothing"

    got = receiver.received[0]
    headers = {k.lower(): v for k, v in got.headers.items()}
    signatures = (
        "--signature",
        headers["x-playground-signature"],
        "--signature",
        headers["webhook-signature"],
        "--id",
        headers["webhook-id"],
        "--timestamp",
        headers["webhook-timestamp"],
    )
    good = _verify(fibe, "--secret", SECRET, *signatures, body=got.body)
    bad = _verify(fibe, "--secret", SECRET, *signatures, body=got.body + b"\n")

    assert good.code == 0, good
    assert_clean_failure(bad, 1)
