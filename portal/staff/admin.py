from django.contrib import admin

from portal.staff.models import AccessLog


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    """Read-only for everyone, superusers included: auditors search by staff member, object and date."""

    list_display = ["at", "username", "action", "object_type", "object_id", "count", "route", "ip"]
    list_filter = ["action", "object_type", ("at", admin.DateFieldListFilter)]
    search_fields = ["=username", "=object_id", "object_type", "route"]
    date_hierarchy = "at"
    list_per_page = 100

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}
