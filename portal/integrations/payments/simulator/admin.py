from django.contrib import admin

from portal.integrations.payments.simulator.models import SimContract, SimNotification, SimRefund, SimTrade


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SimTrade)
class SimTradeAdmin(ReadOnly):
    list_display = ["transaction_id", "channel", "out_trade_no", "trade_type", "total", "state", "paid_at"]
    list_filter = ["channel", "state"]
    search_fields = ["transaction_id", "out_trade_no"]


@admin.register(SimRefund)
class SimRefundAdmin(ReadOnly):
    list_display = ["refund_id", "out_refund_no", "amount", "status", "created_at"]


@admin.register(SimContract)
class SimContractAdmin(ReadOnly):
    list_display = ["contract_id", "channel", "out_contract_code", "state", "signed_at", "terminated_at"]


@admin.register(SimNotification)
class SimNotificationAdmin(ReadOnly):
    list_display = ["__str__", "url", "attempts", "last_status", "delivered_at"]
    list_filter = ["channel", "kind"]
