"""The admin of an audit trail (the security log, resource changes): staff read it; nobody adds,
edits or deletes a row there."""

from django.contrib import admin


class AuditTrailAdmin(admin.ModelAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
