"""Payout batches: create from approved claims, export, reconcile with the insurer's return file."""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from claims import selectors, services
from claims.admin.common import ReadOnlyAdmin
from claims.models import (
    PayoutBatch,
)
from enrollment.models import Program
from portal.shortcuts import get_object_or_404

staff_reads = logging.getLogger("portal.staff_reads")

# --- Payment batches ---------------------------------------------------------------------------


class BatchCreateForm(forms.Form):
    program = forms.ModelChoiceField(Program.objects.all(), label="项目")


class ReconcileForm(forms.Form):
    file = forms.FileField(label="保险公司回盘文件", required=False,
                           help_text="CSV 或 XLSX，含“结算单号”“支付金额”两列；不上传则确认整批已按导出金额支付。")


@admin.register(PayoutBatch)
class PayoutBatchAdmin(ReadOnlyAdmin):
    list_display = ["number", "program", "total", "paid_total", "status", "created_by", "created_at", "reconciled_at"]
    list_filter = ["status", "program"]
    search_fields = ["number"]
    change_list_template = "admin/claims/payoutbatch/change_list.html"
    change_form_template = "admin/claims/payoutbatch/detail.html"

    def changelist_view(self, request, extra_context=None):
        from claims.services.payouts import awaiting_payee

        programs = list(Program.objects.all())
        waiting = [(p, n) for p in programs if (n := awaiting_payee(p).count())]
        return super().changelist_view(request, {**(extra_context or {}), "programs": programs,
                                                 "awaiting_payee": waiting})

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("create/", view(self.create_view), name="claims_payoutbatch_create"),
            path("<int:batch_id>/export.<str:fmt>", view(self.export_view), name="claims_payoutbatch_export"),
            path("<int:batch_id>/reconcile/", view(self.reconcile_view), name="claims_payoutbatch_reconcile"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        batch = get_object_or_404(PayoutBatch, pk=object_id)
        return self._detail(request, batch, ReconcileForm())

    def _detail(self, request, batch, form, status=200):
        return TemplateResponse(request, self.change_form_template, {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": f"支付批次 {batch.number}",
            "batch": batch, "rows": selectors.payout_rows(batch), "columns": selectors.PAYOUT_COLUMNS,
            "form": form, "can_manage": request.user.has_perm("claims.manage_payout_batch"),
        }, status=status)

    def create_view(self, request):
        form = BatchCreateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                batch = services.payout_batch_create(program=form.cleaned_data["program"], user=request.user)
            except services.ReviewRefused as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"已生成支付批次 {batch.number}，共{batch.items.count()}笔，合计{batch.total}元")
                return redirect(reverse("admin:claims_payoutbatch_change", args=[batch.pk]))
        return redirect(reverse("admin:claims_payoutbatch_changelist"))

    def export_view(self, request, batch_id, fmt):
        if not self.has_view_permission(request):
            raise PermissionDenied
        batch = get_object_or_404(PayoutBatch, pk=batch_id)
        if fmt in ("csv", "xlsx"):  # the file carries the payees' whole card numbers, for the insurer to pay
            staff_reads.info("payout batch %s exported with card numbers by %s", batch.number,
                             request.user.get_username())
        if fmt == "csv":
            return HttpResponse(selectors.payout_csv(batch), content_type="text/csv; charset=utf-8",
                                headers={"Content-Disposition": f'attachment; filename="{batch.number}.csv"'})
        if fmt == "xlsx":
            return HttpResponse(selectors.payout_xlsx(batch), headers={
                "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "Content-Disposition": f'attachment; filename="{batch.number}.xlsx"'})
        raise Http404

    def reconcile_view(self, request, batch_id):
        from portal.tabular import TableInvalid, read_table

        batch = get_object_or_404(PayoutBatch, pk=batch_id)
        form = ReconcileForm(request.POST or None, request.FILES or None)
        if request.method != "POST" or not form.is_valid():
            return redirect(reverse("admin:claims_payoutbatch_change", args=[batch.pk]))
        paid = None
        upload = form.cleaned_data.get("file")
        if upload:
            try:
                rows = read_table(upload.name, upload.read(), required=("结算单号", "支付金额"), max_rows=100_000)
                paid = {row["结算单号"].lstrip("'"): Decimal(row["支付金额"]).quantize(Decimal("0.01")) for row in rows}
            except TableInvalid as exc:
                form.add_error("file", exc.message)
            except (InvalidOperation, KeyError):
                form.add_error("file", "“支付金额”列须为金额，例如 5400.00")
        if not form.errors:
            try:
                batch = services.payout_batch_reconcile(batch_id=batch.pk, user=request.user, paid=paid)
            except services.ReviewRefused as exc:
                form.add_error(None, exc.message)
            else:
                report = batch.reconciliation
                messages.success(request, f"对账完成：已支付{report['paid']}笔，合计{batch.paid_total}元；"
                                          f"未支付{len(report['missing']) + len(report['mismatched'])}笔将进入下一批次")
                return redirect(reverse("admin:claims_payoutbatch_change", args=[batch.pk]))
        return self._detail(request, batch, form, status=422)
