from django.urls import path

from . import views

app_name = "oauth"

urlpatterns = [
    path("authorize", views.authorize, name="authorize"),
    path("token", views.token, name="token"),
    path("register", views.register, name="register"),
    path("apps/<int:grant_id>/revoke/", views.grant_revoke, name="revoke"),
]

# Mounted at the site's root by fibe_access.urls: RFC 9728 and RFC 8414 documents.
well_known = [
    path(".well-known/oauth-protected-resource", views.resource_metadata, {"name": "mcp"}),
    path(".well-known/oauth-protected-resource/mcp", views.resource_metadata, {"name": "mcp"}),
    path(
        ".well-known/oauth-protected-resource/mcp/readonly",
        views.resource_metadata,
        {"name": "mcp/readonly"},
    ),
    path(".well-known/oauth-protected-resource/api/v1", views.resource_metadata, {"name": "api"}),
    path(".well-known/oauth-authorization-server", views.server_metadata),
]
