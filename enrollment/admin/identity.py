"""Identity: appeals decided by customer service (the ID photo is decrypted only in its own view,
and each read is logged), and the masked record of every verification attempt (read only)."""

from __future__ import annotations

import logging

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from enrollment import identity
from enrollment.accounts import AccountError
from enrollment.admin.common import ViewOnlyAdmin
from enrollment.models import IdentityAppeal, Resident, VerificationAttempt
from portal import crypto, storage
from portal.shortcuts import get_object_or_404

logger = logging.getLogger("portal.staff_reads")


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label="审核结果", choices=[("approve", "通过：绑定到申诉账户"), ("reject", "不通过")],
                                 widget=forms.RadioSelect)
    note = forms.CharField(label="审核意见", max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2}),
                           help_text="不通过时必填，将以短信提示申诉人登录查看。")


@admin.register(IdentityAppeal)
class IdentityAppealAdmin(ViewOnlyAdmin):
    list_display = ["number", "name", "id_masked", "status", "created_at", "decided_by", "decided_at"]
    list_filter = ["status"]
    search_fields = ["number", "id_masked"]
    change_form_template = "admin/enrollment/identityappeal/detail.html"

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if len(term) == 18:
            from enrollment import idnumber

            if idnumber.is_valid(term):
                return queryset.filter(id_hash=crypto.blind_index(idnumber.normalize(term))), False
        return super().get_search_results(request, queryset, search_term)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:appeal_id>/photo/", view(self.photo_view), name="enrollment_identityappeal_photo"),
            path("<int:appeal_id>/decide/", view(self.decide_view), name="enrollment_identityappeal_decide"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return self._detail(request, get_object_or_404(IdentityAppeal, pk=object_id), DecisionForm())

    def _detail(self, request, appeal, form, status=200):
        holder = Resident.objects.filter(person__id_hash=appeal.id_hash).first()
        history = IdentityAppeal.pgh_event_model.objects.filter(pgh_obj=appeal).select_related(
            "pgh_context").order_by("pgh_id")
        return TemplateResponse(request, self.change_form_template, {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": f"实名申诉 {appeal.number}",
            "appeal": appeal, "form": form, "holder": holder, "history": history,
            "attempts": VerificationAttempt.objects.filter(id_hash=appeal.id_hash)[:20],
            "can_decide": request.user.has_perm("enrollment.decide_identityappeal"),
        }, status=status)

    def photo_view(self, request, appeal_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        appeal = get_object_or_404(IdentityAppeal, pk=appeal_id)
        logger.info("staff %s read the ID photo of appeal %s", request.user.get_username(), appeal.number)
        return storage.download(identity.appeal_photo(appeal), filename=appeal.number)

    def decide_view(self, request, appeal_id):
        if request.method != "POST" or not request.user.has_perm("enrollment.decide_identityappeal"):
            raise PermissionDenied
        appeal = get_object_or_404(IdentityAppeal, pk=appeal_id)
        form = DecisionForm(request.POST)
        if form.is_valid():
            try:
                identity.appeal_decide(appeal=appeal, user=request.user, approve=form.cleaned_data["decision"] == "approve",
                                       note=form.cleaned_data["note"])
            except AccountError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"申诉{appeal.number}已处理。")
                return redirect(reverse("admin:enrollment_identityappeal_change", args=[appeal.pk]))
        return self._detail(request, appeal, form, status=422)


@admin.register(VerificationAttempt)
class VerificationAttemptAdmin(ViewOnlyAdmin):
    list_display = ["created_at", "purpose", "method", "name_masked", "id_masked", "phone_masked", "outcome", "result",
                    "resident", "ip_address"]
    list_filter = ["purpose", "method", "outcome"]
    search_fields = ["id_masked", "request_id"]
    date_hierarchy = "created_at"

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if len(term) == 18:
            from enrollment import idnumber

            if idnumber.is_valid(term):
                return queryset.filter(id_hash=crypto.blind_index(idnumber.normalize(term))), False
        return super().get_search_results(request, queryset, search_term)
