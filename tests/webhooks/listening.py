"""Opening a listen session through the API, as `fibe listen` does: shared by the listen tests."""

JSON = "application/json"


def open_session(client, host="laptop.local"):
    opened = client.post(
        "/api/v1/webhooks/sessions",
        {"events": ["playground.created"], "host": host},
        content_type=JSON,
    )
    assert opened.status_code == 201, opened.content
    return opened.json()
