"""Discovery: RFC 9728 protected resource metadata, RFC 8414 authorization server metadata,
and the challenges on /mcp's 401 and 403 that point to them."""

import pytest
from authlib.oauth2 import rfc8414, rfc9207
from django.test import Client

from tests.support.factories import api_key_make

from . import flow

pytestmark = pytest.mark.django_db

ORIGIN = "http://localhost"


@pytest.mark.parametrize(
    ("path", "resource"),
    [
        ("/.well-known/oauth-protected-resource/mcp", "/mcp"),
        ("/.well-known/oauth-protected-resource", "/mcp"),
        ("/.well-known/oauth-protected-resource/mcp/readonly", "/mcp/readonly"),
        ("/.well-known/oauth-protected-resource/api/v1", "/api/v1"),
    ],
)
def test_protected_resource_metadata(path, resource):
    doc = Client(**flow.HOST).get(path).json()
    assert doc["resource"] == ORIGIN + resource
    assert doc["authorization_servers"] == [ORIGIN]
    assert doc["bearer_methods_supported"] == ["header"]
    assert "mcp:access" in doc["scopes_supported"] and "playspecs:read" in doc["scopes_supported"]


def test_authorization_server_metadata_is_valid_rfc8414():
    doc = Client(**flow.HOST).get("/.well-known/oauth-authorization-server").json()
    metadata = rfc8414.AuthorizationServerMetadata(doc)
    metadata.validate(metadata_classes=[rfc9207.AuthorizationServerMetadata])
    assert doc["issuer"] == ORIGIN
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["client_id_metadata_document_supported"] is True
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert doc["registration_endpoint"] == ORIGIN + "/oauth/register"


def test_public_url_setting_names_the_issuer_and_resources(settings):
    settings.PUBLIC_URL = "https://fibe.example.com/"
    doc = Client(**flow.HOST).get("/.well-known/oauth-protected-resource/mcp").json()
    assert doc["resource"] == "https://fibe.example.com/mcp"
    assert doc["authorization_servers"] == ["https://fibe.example.com"]
    answer = Client(**flow.HOST).post("/mcp", "{}", content_type="application/json")
    assert (
        'resource_metadata="https://fibe.example.com/.well-known/oauth-protected-resource/mcp"'
        in (answer["WWW-Authenticate"])
    )


@pytest.mark.parametrize("path", ["/mcp", "/mcp/readonly"])
def test_every_401_points_to_the_metadata(path, user):
    for headers in (
        {},
        {"HTTP_AUTHORIZATION": "Bearer nope"},
        {"HTTP_AUTHORIZATION": "Bearer fibe_" + "A" * 49},
    ):
        answer = Client(**flow.HOST).post(path, "{}", content_type="application/json", **headers)
        assert answer.status_code == 401
        challenge = answer["WWW-Authenticate"]
        assert challenge.startswith("Bearer ")
        assert (
            f'resource_metadata="{ORIGIN}/.well-known/oauth-protected-resource{path}"' in challenge
        )
        assert 'scope="mcp:access"' in challenge


def test_a_key_without_mcp_access_gets_insufficient_scope(user):
    _, token = api_key_make(user, "playspecs:read")
    answer = flow.mcp(token)
    assert answer.status_code == 403
    assert 'error="insufficient_scope"' in answer["WWW-Authenticate"]
    assert 'scope="mcp:access"' in answer["WWW-Authenticate"]
