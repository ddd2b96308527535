from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from fibe_access.audit_admin import AuditTrailAdmin

from . import services
from .actor import Actor, Source
from .models import SecurityEvent, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = [
        "email",
        "name",
        "email_verified_at",
        "is_staff",
        "is_active",
        "date_joined",
        "last_login",
    ]
    search_fields = ["email", "name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["name", "email_verified_at"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]

    def get_deleted_objects(self, objs, request):
        # An account's security log goes with it (account_delete keeps one row of the deletion),
        # though staff can never delete log rows one by one.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(SecurityEvent._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    def delete_model(self, request, obj):
        """Through the service: keys revoked at once, caches invalidated, audited."""
        services.account_delete(actor=Actor.from_request(request, source=Source.ADMIN), user=obj)

    def delete_queryset(self, request, queryset):
        actor = Actor.from_request(request, source=Source.ADMIN)
        for user in queryset:
            services.account_delete(actor=actor, user=user)


@admin.register(SecurityEvent)
class SecurityEventAdmin(AuditTrailAdmin):
    list_display = ["created_at", "user", "kind", "ip", "user_agent"]
    list_filter = ["kind"]
    search_fields = ["user__email", "ip"]
    list_select_related = ["user"]
