from django.contrib import admin

from fibe_access.audit_admin import AuditTrailAdmin

from .models import ResourceChange


@admin.register(ResourceChange)
class ResourceChangeAdmin(AuditTrailAdmin):
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
