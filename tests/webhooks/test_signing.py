import base64
import json
import time

from standardwebhooks.webhooks import Webhook

from webhooks import signing


def test_github_signature_matches_published_test_vector():
    signature = signing.github_signature("It's a Secret to Everybody", b"Hello, World!")

    assert signature == ("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")


def test_standard_webhooks_library_accepts_our_signature():
    secret, body = "s3cr3t-value", json.dumps({"event": "playground.created"}).encode()
    headers = signing.signed_headers(
        event="playground.created",
        delivery_id="d-1",
        secret=secret,
        body=body,
        timestamp=int(time.time()),
    )

    verifier = Webhook(base64.b64encode(secret.encode()).decode())

    assert verifier.verify(body, headers) == {"event": "playground.created"}


def test_standard_webhooks_library_rejects_tampered_body():
    secret = "s3cr3t-value"
    headers = signing.signed_headers(
        event="playground.created",
        delivery_id="d-1",
        secret=secret,
        body=b"{}",
        timestamp=int(time.time()),
    )

    verifier = Webhook(base64.b64encode(secret.encode()).decode())

    try:
        verifier.verify(b'{"x":1}', headers)
    except Exception as exc:  # noqa: BLE001
        assert type(exc).__name__ == "WebhookVerificationError"
    else:
        raise AssertionError("tampered body verified")


def test_no_secret_means_no_signature_headers():
    headers = signing.signed_headers(
        event="playroom.created", delivery_id="d-2", secret="", body=b"{}", timestamp=1
    )

    assert "X-Playground-Signature" not in headers
    assert "webhook-signature" not in headers
    assert headers["X-Playground-Delivery"] == headers["webhook-id"] == "d-2"


def test_during_an_overlap_each_header_lists_one_signature_per_secret_newest_first():
    body, new, old = b'{"event":"playground.created"}', "new-secret", "old-secret"
    headers = signing.signed_headers(
        event="playground.created", delivery_id="d-3", secret=[new, old], body=body, timestamp=7
    )
    assert headers["X-Playground-Signature"] == (
        f"{signing.github_signature(new, body)} {signing.github_signature(old, body)}"
    )
    assert headers["webhook-signature"] == (
        f"{signing.standard_signature(new, 'd-3', 7, body)} "
        f"{signing.standard_signature(old, 'd-3', 7, body)}"
    )


def test_the_cli_verifies_either_secret_of_an_overlap():
    from fibe_cli.commands.verify import Invalid, verify_github

    body = b"{}"
    header = signing.signed_headers(
        event="e", delivery_id="d", secret=["new", "old"], body=body, timestamp=1
    )["X-Playground-Signature"]
    verify_github("new", body, header)
    verify_github("old", body, header)
    try:
        verify_github("other", body, header)
    except Invalid:
        pass
    else:
        raise AssertionError("a third secret verified")


def test_the_readme_snippet_is_the_one_the_pages_show():
    from pathlib import Path

    from webhooks.presenters import SIGNATURE_SNIPPET

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"```python\n{SIGNATURE_SNIPPET}```" in readme
