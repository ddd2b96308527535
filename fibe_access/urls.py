from django.contrib import admin
from django.shortcuts import redirect
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from .api import api

# Staff reach the admin only with a verified second factor.
admin.site.__class__ = OTPAdminSite
admin.site.site_header = "Fibe Access administration"
admin.site.site_title = "Fibe Access admin"

urlpatterns = [
    path("", lambda request: redirect("accounts:security"), name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("fibe_access.accounts.urls")),
    path("profile/api-keys/", include("keys.urls")),
    path("profile/webhooks/", include("webhooks.urls")),
]
