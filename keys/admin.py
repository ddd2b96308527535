from django.contrib import admin, messages

from fibe_access.accounts.actor import Actor, Source

from . import services
from .models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Staff see keys, never a digest or a token, and change them only through services."""

    list_display = [
        "label",
        "owner",
        "status_now",
        "scope_list",
        "last_used_at",
        "last_used_ip",
        "expires_at",
        "is_agent",
        "created_at",
    ]
    list_filter = ["status", "is_agent"]
    search_fields = ["label", "owner__email", "last4"]
    list_select_related = ["owner"]
    fields = [
        "owner",
        "label",
        "ending",
        "scopes",
        "restrictions",
        "status",
        "is_agent",
        "expires_at",
        "rate_limit_per_minute",
        "created_at",
        "rotated_at",
        "last_used_at",
        "last_used_ip",
    ]
    readonly_fields = fields
    actions = ["revoke", "expire_now"]

    def has_add_permission(self, request):
        return False  # keys are created by their owner, or with `manage.py createapikey`

    def has_change_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request):
        return request.user.has_perm("keys.change_apikey")

    def delete_model(self, request, obj):
        services.key_delete(actor=Actor.from_request(request, source=Source.ADMIN), key=obj)

    def delete_queryset(self, request, queryset):
        actor = Actor.from_request(request, source=Source.ADMIN)
        for key in queryset:
            services.key_delete(actor=actor, key=key)

    @admin.display(description="status")
    def status_now(self, key):
        return key.current_status()

    @admin.display(description="scopes")
    def scope_list(self, key):
        return ", ".join(key.scopes)

    @admin.display(description="token ends with")
    def ending(self, key):
        return f"…{key.last4}"

    def _run(self, request, queryset, service, verb):
        actor = Actor.from_request(request, source=Source.ADMIN)
        for key in queryset:
            service(actor=actor, key=key)
        self.message_user(request, f"{verb} {queryset.count()} key(s).", messages.SUCCESS)

    @admin.action(description="Revoke selected keys", permissions=["revoke"])
    def revoke(self, request, queryset):
        self._run(request, queryset, services.key_revoke, "Revoked")

    @admin.action(description="Expire selected keys now", permissions=["revoke"])
    def expire_now(self, request, queryset):
        self._run(request, queryset, services.key_expire_now, "Expired")
