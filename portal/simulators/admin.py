"""The simulators in the admin: the registry roster (with import), and read-only views of what
the SMS gateway did."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse

from enrollment import idnumber
from portal import crypto
from portal.simulators import roster
from portal.simulators.models import RosterEntry


class RosterUploadForm(forms.Form):
    file = forms.FileField(label="名册文件（CSV 或 XLSX，不超过10MB）")


@admin.register(RosterEntry)
class RosterEntryAdmin(admin.ModelAdmin):
    list_display = ["name", "id_masked", "status", "insured_region", "category", "medical_assistance", "veteran",
                    "newborn", "joined_on", "account_balance", "updated_at"]
    list_filter = ["status", "category", "medical_assistance", "veteran", "newborn"]
    search_fields = ["name", "id_masked", "insured_region"]
    readonly_fields = ["id_masked"]
    change_list_template = "admin/simulators/rosterentry/change_list.html"

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if len(term) == 18 and idnumber.is_valid(term):
            return queryset.filter(id_hash=crypto.blind_index(idnumber.normalize(term))), False
        return super().get_search_results(request, queryset, search_term)

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="simulators_rosterentry_import"),
            path("template/", self.admin_site.admin_view(self.template_view), name="simulators_rosterentry_template"),
            *super().get_urls(),
        ]

    def import_view(self, request):
        if not self.has_add_permission(request):
            return HttpResponse(status=403)
        errors = []
        form = RosterUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > roster.MAX_BYTES:
                errors = ["文件超过10MB，请拆分后分批导入。"]
            else:
                try:
                    result = roster.import_file(upload.name, upload.read())
                except roster.RosterInvalid as exc:
                    errors = exc.errors[:50]
                    if len(exc.errors) > 50:
                        errors.append(f"……另有{len(exc.errors) - 50}处错误。")
                else:
                    self.message_user(request, f"导入完成：新增{result.created}人，更新{result.updated}人。",
                                      messages.SUCCESS)
                    return redirect(reverse("admin:simulators_rosterentry_changelist"))
        context = {**self.admin_site.each_context(request), "form": form, "errors": errors,
                   "opts": self.model._meta, "title": "导入基本医保参保名册"}
        return render(request, "admin/simulators/rosterentry/import.html", context, status=422 if errors else 200)

    def template_view(self, request):
        response = HttpResponse(
            roster.template_xlsx(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = 'attachment; filename="roster-template.xlsx"'
        return response
