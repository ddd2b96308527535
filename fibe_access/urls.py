from django.contrib import admin
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from keys import leak_views

from .api.site import api
from .api.urls import mounted
from .mcp.views import mcp_endpoint
from .oauth.urls import well_known

# Staff reach the admin only with a verified second factor.
admin.site.__class__ = OTPAdminSite
admin.site.site_header = "Fibe Access administration"
admin.site.site_title = "Fibe Access admin"


def api_not_found(request, rest: str):
    """Unknown paths under the API answer in the API's own JSON error shape."""
    return JsonResponse(
        {"code": "not_found", "message": f"No API endpoint at /api/v1/{rest}."}, status=404
    )


urlpatterns = [
    path("", lambda request: redirect("accounts:security"), name="home"),
    path("admin/", admin.site.urls),
    # Leaked keys (issue 24): no API key needed, so outside the API site's authentication.
    path("api/v1/credentials/revoke", leak_views.credentials_revoke, name="credentials-revoke"),
    path("api/v1/secret-scanning/github", leak_views.github_secret_scanning, name="github-scan"),
    mounted("api/v1/", api),
    path("api/v1/<path:rest>", api_not_found),
    path("mcp", mcp_endpoint, name="mcp"),
    path("mcp/readonly", mcp_endpoint, {"readonly": True}, name="mcp-readonly"),
    *well_known,
    path("oauth/", include("fibe_access.oauth.urls")),
    path("", include("fibe_access.accounts.urls")),
    path("profile/api-keys/", include("keys.urls")),
    path("profile/webhooks/", include("webhooks.urls")),
]
