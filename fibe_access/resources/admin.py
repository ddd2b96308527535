from django.contrib import admin

from .models import ResourceChange


@admin.register(ResourceChange)
class ResourceChangeAdmin(admin.ModelAdmin):
    """Read-only: the audit trail of resource writes."""

    list_display = [
        "created_at",
        "family",
        "object_id",
        "action",
        "fields",
        "source",
        "owner",
        "actor",
        "api_key_id",
        "ip",
    ]
    list_filter = ["family", "action", "source"]
    search_fields = ["owner__email", "ip"]
    list_select_related = ["owner", "actor"]
    readonly_fields = [f.name for f in ResourceChange._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
