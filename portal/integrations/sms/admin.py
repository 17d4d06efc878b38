from django.contrib import admin

from portal.integrations.sms.models import SmsDispatch


@admin.register(SmsDispatch)
class SmsDispatchAdmin(admin.ModelAdmin):
    list_display = ["phone_masked", "template", "status", "code", "report_description", "sent_at", "delivered_at"]
    list_filter = ["status", "template"]
    search_fields = ["serial_no"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
