"""Sending systems and the settlements they sent: import, search, corrections."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from claims import selectors, services
from claims.admin.common import ReadOnlyAdmin, search_by_id
from claims.models import (
    Settlement,
    SettlementSource,
)
from enrollment.models import Program
from portal import crypto

# --- Sources -----------------------------------------------------------------------------------


class SourceForm(forms.ModelForm):
    secret = forms.CharField(label="签名密钥", required=False, widget=forms.PasswordInput(render_value=False),
                             help_text="留空则不修改。密钥加密保存，只在此处输入一次。")

    class Meta:
        model = SettlementSource
        fields = ["code", "name", "kind", "program", "key_id", "active"]

    def save(self, commit=True):
        source = super().save(commit=False)
        if self.cleaned_data.get("secret"):
            source.secret_cipher = crypto.encrypt(self.cleaned_data["secret"])
        if commit:
            source.save()
        return source


@admin.register(SettlementSource)
class SettlementSourceAdmin(admin.ModelAdmin):
    form = SourceForm
    list_display = ["name", "code", "kind", "program", "key_id", "active"]
    list_filter = ["kind", "program", "active"]


# --- Settlements -------------------------------------------------------------------------------


class ImportForm(forms.Form):
    program = forms.ModelChoiceField(Program.objects.all(), label="项目")
    file = forms.FileField(label="结算单文件", help_text="CSV（UTF-8 或 GBK）或 XLSX；每列一个字段，与接口字段同名。")


@admin.register(Settlement)
class SettlementAdmin(ReadOnlyAdmin):
    list_display = ["settlement_id", "name", "id_masked", "hospital_name", "source", "match_status",
                    "unmatched_reason", "reversed_at", "received_at"]
    list_filter = ["match_status", "source", "hospital_name", ("reversed_at", admin.EmptyFieldListFilter)]
    search_fields = ["settlement_id", "id_masked", "name"]
    exclude = ["record", "id_hash", "id_cipher", "content_hash"]
    readonly_fields = ["received_record"]
    change_list_template = "admin/claims/settlement/change_list.html"

    @admin.display(description="原始记录（身份证号已脱敏）")
    def received_record(self, obj):
        import json

        return format_html("<pre>{}</pre>", json.dumps(selectors.masked_record(obj.received), ensure_ascii=False,
                                                       indent=2))

    def get_search_results(self, request, queryset, search_term):
        found = search_by_id(queryset, search_term, "id_hash", "id_masked")
        if found is not None:
            return found, False
        return super().get_search_results(request, queryset, search_term)

    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(self.import_view), name="claims_settlement_import"),
                *super().get_urls()]

    def import_view(self, request):
        from portal.tabular import TableInvalid, read_table

        if not request.user.has_perm("claims.review_claim"):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        results = None
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                rows = read_table(upload.name, upload.read(), required=("settlement_id", "id_number"), max_rows=5000)
            except TableInvalid as exc:
                form.add_error("file", exc.message)
            else:
                receipts = services.settlements_import(program=form.cleaned_data["program"], rows=rows,
                                                       user=request.user)
                results = [r.as_json(index + 2) for index, r in enumerate(receipts)]  # spreadsheet row numbers
                accepted = sum(1 for r in results if r["status"] == "accepted")
                messages.info(request, f"共{len(results)}行：接收{accepted}行，其余{len(results) - accepted}行见下表。")
        return TemplateResponse(request, "admin/claims/settlement/import.html", {
            **self.admin_site.each_context(request), "form": form, "results": results,
            "title": "导入结算单", "opts": self.model._meta,
        })
