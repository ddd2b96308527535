"""10 000 random and malformed ``Authorization`` headers against the API: every one is a 401
with ``WWW-Authenticate: Bearer``, and those whose token fails the shape or checksum check cost
no database query at all."""

import random
import string

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from keys import tokens
from tests.support.factories import UserFactory, api_key_make

COUNT = 10_000
SEED = 20261122


def _mutate_one(token: str, rng: random.Random) -> str:
    i = rng.randrange(len(tokens.PREFIX), len(token))
    choices = tokens.ALPHABET.replace(token[i], "")
    return token[:i] + rng.choice(choices) + token[i + 1 :]


def _hostile_headers(rng: random.Random, real_token: str, revoked_token: str):
    """Yield (kind, header value or None for no header)."""
    sql = [
        "' OR '1'='1",
        "'; DROP TABLE keys_apikey; --",
        "1 UNION SELECT digest FROM keys_apikey",
        "fibe_' OR 1=1 --",
        '" OR ""="',
    ]
    kinds = {
        "missing": lambda: None,
        "empty": lambda: "",
        "scheme only": lambda: rng.choice(["Bearer", "Bearer ", "bearer", "BEARER  "]),
        "wrong scheme": lambda: (
            rng.choice(["Basic", "Token", "Digest", "ApiKey", "fibe"]) + " " + real_token
        ),
        "bare token": lambda: real_token,
        "huge": lambda: "Bearer " + "fibe_" + "A" * rng.choice([10_000, 100_000, 1_000_000]),
        "non-ascii": lambda: (
            "Bearer "
            + "".join(rng.choice("fibeé€😀\u202e\u0000ßΩ漢字") for _ in range(rng.randint(1, 60)))
        ),
        "latin-1 mojibake": lambda: "Bearer " + real_token[:-3] + "Ã©\xff",
        "control chars": lambda: (
            "Bearer "
            + real_token[:20]
            + rng.choice(["\x00", "\r\n", "\t", "\x1b[31m", "\x7f"])
            + real_token[20:]
        ),
        "bad checksum": lambda: "Bearer " + _mutate_one(real_token, rng),
        "truncated": lambda: "Bearer " + real_token[: rng.randrange(len(real_token))],
        "extended": lambda: "Bearer " + real_token + rng.choice(string.ascii_letters),
        "wrong prefix": lambda: (
            "Bearer "
            + rng.choice(["ghp_", "sk_live_", "fibe-", "FIBE_", "fib_", "xfibe_"])
            + real_token[5:]
        ),
        "sql-like": lambda: "Bearer " + rng.choice(sql),
        "random printable": lambda: (
            "Bearer " + "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 120)))
        ),
        "random base62 with prefix": lambda: (
            "Bearer fibe_"
            + "".join(
                rng.choice(tokens.ALPHABET) for _ in range(tokens.BODY_LEN + tokens.CHECK_LEN)
            )
        ),
        "two tokens": lambda: f"Bearer {real_token} {real_token}",
        "unknown but well-formed": lambda: "Bearer " + tokens.generate(),
        "revoked": lambda: "Bearer " + revoked_token,
    }
    names = sorted(kinds)
    for i in range(COUNT):
        kind = names[i % len(names)]
        yield kind, kinds[kind]()


def _token_the_server_sees(header: str | None) -> str | None:
    """What ``ApiKeyAuth`` would hand to the shape check (ninja's HttpBearer parsing)."""
    if not header:
        return None
    scheme, _, rest = header.partition(" ")
    return rest.strip() if scheme.lower() == "bearer" else None


@pytest.mark.reliability
@pytest.mark.timeout(240)
def test_ten_thousand_hostile_authorization_headers_are_401_and_malformed_cost_no_query(db):
    # given a real active key (so near-misses of a real token are tried) and a revoked one
    owner = UserFactory()
    _, real_token = api_key_make(owner, "playgrounds:read")
    revoked, revoked_token = api_key_make(owner, "playgrounds:read", label="revoked")
    revoked.status = revoked.Status.REVOKED
    revoked.save(update_fields=["status"])
    client = Client()
    rng = random.Random(SEED)
    counts: dict[str, int] = {}
    queried: dict[str, int] = {}
    # when each header is sent
    for kind, header in _hostile_headers(rng, real_token, revoked_token):
        extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/playgrounds", **extra)
        # then it is refused as an invalid token, in JSON, with the Bearer challenge
        assert response.status_code == 401, (kind, header[:80] if header else header)
        assert response["WWW-Authenticate"].startswith("Bearer "), kind
        assert response.json()["code"] == "invalid_token", kind
        # and only a token that passes the shape and checksum check may reach the database
        token = _token_the_server_sees(header)
        if token is not None and tokens.is_well_formed(token):
            assert len(queries) <= 1, (kind, [q["sql"] for q in queries])
            queried[kind] = queried.get(kind, 0) + 1
        else:
            assert len(queries) == 0, (
                kind,
                header[:80] if header else header,
                [q["sql"] for q in queries],
            )
        counts[kind] = counts.get(kind, 0) + 1
    assert sum(counts.values()) == COUNT
    # the near-misses of the real token never reached the database
    assert "bad checksum" not in queried and "wrong prefix" not in queried
    assert queried.get("unknown but well-formed") == counts["unknown but well-formed"]
    print(
        f"\n{COUNT} hostile headers, all 401; reached the database: {sum(queried.values())} "
        f"({', '.join(f'{k}: {v}' for k, v in sorted(queried.items()))})"
    )
