"""Service points, cashier shifts and counter enrollments (柜面代办)."""

from __future__ import annotations

from django.contrib import admin

from enrollment.admin.common import ViewOnlyAdmin, export_actions
from enrollment.models import CashierShift, CounterEnrollment, ServicePoint


@admin.register(ServicePoint)
class ServicePointAdmin(admin.ModelAdmin):
    list_display = ["name", "program", "address", "active"]
    list_filter = ["program", "active"]
    search_fields = ["name", "address"]


@admin.register(CashierShift)
class CashierShiftAdmin(ViewOnlyAdmin):
    list_display = ["service_point", "staff", "opened_at", "closed_at", "cash_expected", "cash_counted",
                    "card_total", "note"]
    list_filter = ["service_point", "staff"]
    actions = export_actions([
        ("网点", "service_point"), ("收款员", "staff"), ("开班", "opened_at"), ("结班", "closed_at"),
        ("应收现金", "cash_expected"), ("实点现金", "cash_counted"), ("刷卡合计", "card_total"), ("说明", "note")],
        "cashier-shifts")


@admin.register(CounterEnrollment)
class CounterEnrollmentAdmin(ViewOnlyAdmin):
    list_display = ["order", "shift", "staff", "id_card_checked", "card_reference", "created_at"]
    list_filter = ["shift__service_point", "staff"]
    search_fields = ["order__number"]
    exclude = ["consent_scan", "phone_cipher"]
