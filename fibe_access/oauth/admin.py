from django.contrib import admin

from .models import Grant, OAuthClient


@admin.register(OAuthClient)
class OAuthClientAdmin(admin.ModelAdmin):
    list_display = ("client_name", "kind", "client_id", "created_at")
    readonly_fields = [f.name for f in OAuthClient._meta.fields]


@admin.register(Grant)
class GrantAdmin(admin.ModelAdmin):
    list_display = ("client", "owner", "resource", "created_at", "revoked_at")
    readonly_fields = [f.name for f in Grant._meta.fields]
