from django.contrib import admin

from portal.integrations.sms.simulator.models import SmsMessage


@admin.register(SmsMessage)
class SmsMessageAdmin(admin.ModelAdmin):
    list_display = ["phone_masked", "template_id", "sent_at", "report_status", "report_pulled"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
