"""Window settlements, clearing with hospitals and reconciliation with the platform (read only;
every change is a service: statements are made by the daily task, batches and payment by actions)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponse
from django.utils.html import format_html, format_html_join

from claims import selectors
from claims.admin.common import ReadOnlyAdmin
from claims.models import ClearingBatch, ClearingItem, ClearingStatement, Reconciliation, WindowSettlement
from claims.services.clearing import clearing_batch_create, clearing_batch_paid
from claims.services.review import ReviewRefused


def _export(statements, fmt: str, name: str) -> HttpResponse:
    if fmt == "xlsx":
        response = HttpResponse(selectors.clearing_xlsx(statements),
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    else:
        response = HttpResponse(selectors.clearing_csv(statements), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@admin.register(WindowSettlement)
class WindowSettlementAdmin(ReadOnlyAdmin):
    list_display = ["number", "hospital_name", "day", "own_part", "payout", "patient_pays", "reversal_day"]
    list_filter = ["day", "source", "reversal_day"]
    search_fields = ["number", "hospital_code", "policy__number"]
    list_select_related = ["source"]
    exclude = ["content_hash"]


class ClearingItemInline(admin.TabularInline):
    model = ClearingItem
    fields = ["settlement_id", "kind", "amount", "claim"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ClearingStatement)
class ClearingStatementAdmin(ReadOnlyAdmin):
    list_display = ["day", "hospital_code", "hospital_name", "settlements", "payouts", "reversals_count", "reversals",
                    "adjustments", "total", "status", "batch"]
    list_filter = ["status", "day", "source"]
    search_fields = ["hospital_code", "hospital_name"]
    inlines = [ClearingItemInline]
    actions = ["export_csv", "export_xlsx", "make_batch"]

    @admin.action(description="导出清算明细（CSV）")
    def export_csv(self, request, queryset):
        return _export(queryset, "csv", "clearing")

    @admin.action(description="导出清算明细（XLSX）")
    def export_xlsx(self, request, queryset):
        return _export(queryset, "xlsx", "clearing")

    @admin.action(description="将所选平台的待支付清算单加入支付批次")
    def make_batch(self, request, queryset):
        for source in {s.source for s in queryset.select_related("source")}:
            try:
                batch = clearing_batch_create(source=source, user=request.user)
            except ReviewRefused as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"已生成医院清算支付批次 {batch.number}，合计{batch.total}元")


@admin.register(ClearingBatch)
class ClearingBatchAdmin(ReadOnlyAdmin):
    list_display = ["number", "source", "total", "status", "created_by", "created_at", "paid_at"]
    list_filter = ["status", "source"]
    search_fields = ["number"]
    actions = ["export_csv", "export_xlsx", "mark_paid"]

    @admin.action(description="导出批次清算明细（CSV）")
    def export_csv(self, request, queryset):
        return _export(ClearingStatement.objects.filter(batch__in=queryset), "csv", "clearing-batch")

    @admin.action(description="导出批次清算明细（XLSX）")
    def export_xlsx(self, request, queryset):
        return _export(ClearingStatement.objects.filter(batch__in=queryset), "xlsx", "clearing-batch")

    @admin.action(description="确认保险公司已支付")
    def mark_paid(self, request, queryset):
        for batch in queryset:
            try:
                clearing_batch_paid(batch_id=batch.pk, user=request.user)
            except ReviewRefused as exc:
                messages.error(request, f"{batch.number}：{exc.message}")
            else:
                messages.success(request, f"{batch.number} 已确认支付")


class DifferenceFilter(admin.SimpleListFilter):
    title = "对账结果"
    parameter_name = "result"

    def lookups(self, request, model_admin):
        return [("differs", "有差异"), ("matched", "相符")]

    def queryset(self, request, queryset):
        if self.value() == "differs":
            return queryset.exclude(totals_match=True, differences=[])
        if self.value() == "matched":
            return queryset.filter(totals_match=True, differences=[])
        return queryset


@admin.register(Reconciliation)
class ReconciliationAdmin(ReadOnlyAdmin):
    list_display = ["day", "hospital_code", "platform_count", "our_count", "platform_amount", "our_amount",
                    "totals_match", "detail_checked", "difference_count"]
    list_filter = [DifferenceFilter, "day", "source"]
    search_fields = ["hospital_code"]
    readonly_fields = ["difference_table"]
    exclude = ["differences"]

    @admin.display(description="明细差异笔数")
    def difference_count(self, obj):
        return len(obj.differences)

    @admin.display(description="明细差异")
    def difference_table(self, obj):
        if not obj.differences:
            return "无"
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (d["settlement_id"], "结算" if d["type"] == "settle" else "撤销", d["platform"] or "—", d["ours"] or "—",
             d["message"]) for d in obj.differences))
        return format_html("<table><tr><th>结算单号</th><th>类型</th><th>平台金额</th><th>本系统金额</th><th>差异</th></tr>{}</table>",
                           rows)
