"""Customer service works here: tickets (assignment, replies, the service-level clock, overdue
filter), follow-up visits (draw a sample, record each call); staff import district populations."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from enrollment.admin.common import MobileSearch
from enrollment.models import ProductVersion, Program
from portal import storage
from portal.shortcuts import get_object_or_404
from supervision import services
from supervision.models import (
    DistrictPopulation,
    FollowUpVisit,
    InsurerStaff,
    PoolEntry,
    SurplusPool,
    Ticket,
    TicketMessage,
)


def _form_page(modeladmin, request, form, title):
    return TemplateResponse(request, "admin/enrollment/form.html", {
        **modeladmin.admin_site.each_context(request), "opts": modeladmin.model._meta, "form": form, "title": title},
        status=422 if form.errors else 200)


def _refused(form, refused: services.Refused) -> None:
    form.add_error(refused.field if refused.field in form.fields else None, refused.message)


class PopulationImportForm(forms.Form):
    program = forms.ModelChoiceField(Program.objects.all(), label="项目")
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)
    file = forms.FileField(label="文件", help_text="CSV（UTF-8 或 GBK）或 XLSX，列：行政区划码、区县、基本医保参保人数。"
                                                   "导入后替换该项目该年度的全部区县数据。")


@admin.register(DistrictPopulation)
class DistrictPopulationAdmin(admin.ModelAdmin):
    list_display = ["program", "year", "region_code", "name", "eligible"]
    list_filter = ["program", "year"]
    search_fields = ["name", "region_code"]

    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(self.import_view),
                     name="supervision_districtpopulation_import"), *super().get_urls()]

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PopulationImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                count = services.populations_import(program=form.cleaned_data["program"], year=form.cleaned_data["year"],
                                                    filename=upload.name, data=upload.read())
            except services.Refused as refused:
                _refused(form, refused)
            else:
                messages.success(request, f"已导入 {count} 个区县。")
                return redirect(reverse("admin:supervision_districtpopulation_changelist"))
        return _form_page(self, request, form, "导入区县参保人口")

    def changelist_view(self, request, extra_context=None):
        messages.info(request, format_html('区县参保人口可批量导入：<a href="{}">导入文件</a>',
                                           reverse("admin:supervision_districtpopulation_import")))
        return super().changelist_view(request, extra_context)


@admin.register(InsurerStaff)
class InsurerStaffAdmin(admin.ModelAdmin):
    list_display = ["user", "coinsurer"]
    list_select_related = ["user", "coinsurer__program"]


class OverdueFilter(admin.SimpleListFilter):
    title = "服务时限"
    parameter_name = "sla"

    def lookups(self, request, model_admin):
        return [("overdue", "超时未答复"), ("due_soon", "4小时内到期")]

    def queryset(self, request, queryset):
        now = timezone.now()
        waiting = queryset.filter(first_response_at__isnull=True).exclude(status__in=Ticket.DONE)
        if self.value() == "overdue":
            return waiting.filter(respond_by__lt=now)
        if self.value() == "due_soon":
            return waiting.filter(respond_by__gte=now, respond_by__lt=now + timezone.timedelta(hours=4))
        return queryset


class MessageInline(admin.TabularInline):
    model = TicketMessage
    fields = ["created_at", "from_staff", "body", "file"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0

    @admin.display(description="附件")
    def file(self, obj):
        if not obj.attachment:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("admin:supervision_ticket_attachment",
                                                           args=[obj.ticket_id, obj.pk]), obj.attachment_name)


class ReplyForm(forms.Form):
    body = forms.CharField(label="回复内容", widget=forms.Textarea(attrs={"rows": 4}))
    status = forms.ChoiceField(label="回复后状态", choices=[c for c in Ticket.STATUS_CHOICES if c[0] != Ticket.OPEN])
    attachment = forms.FileField(label="附件", required=False)


@admin.register(Ticket)
class TicketAdmin(MobileSearch, admin.ModelAdmin):
    list_display = ["number", "kind", "subject", "status", "assignee", "created_at", "respond_by", "clock"]
    list_filter = [OverdueFilter, "status", "kind", ("assignee", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["number", "subject", "organization__name"]  # a full mobile: MobileSearch
    fields = ["number", "resident", "organization", "kind", "subject", "policy", "claim", "status", "assignee",
              "created_at", "respond_by", "first_response_at", "resolved_at", "reply_link"]
    readonly_fields = ["number", "resident", "organization", "kind", "subject", "policy", "claim", "created_at",
                       "respond_by", "first_response_at", "resolved_at", "reply_link"]
    inlines = [MessageInline]
    list_select_related = ["assignee"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "assignee":  # staff only: residents' accounts are never assignees
            kwargs["queryset"] = db_field.related_model.objects.filter(is_staff=True, is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="时限")
    def clock(self, obj):
        if obj.first_response_at:
            return "按时答复" if obj.first_response_at <= obj.respond_by else "超时答复"
        if obj.status in Ticket.DONE:
            return "—"
        return "已超时" if obj.respond_by < timezone.now() else "未到期"

    @admin.display(description="回复")
    def reply_link(self, obj):
        return format_html('<a class="button" href="{}">回复居民</a>',
                           reverse("admin:supervision_ticket_reply", args=[obj.pk]))

    def save_model(self, request, obj, form, change):
        if obj.status in Ticket.DONE and obj.resolved_at is None:
            obj.resolved_at = timezone.now()
        super().save_model(request, obj, form, change)

    def get_urls(self):
        return [path("<int:ticket_id>/reply/", self.admin_site.admin_view(self.reply_view),
                     name="supervision_ticket_reply"),
                path("<int:ticket_id>/attachments/<int:message_id>/", self.admin_site.admin_view(self.attachment_view),
                     name="supervision_ticket_attachment"), *super().get_urls()]

    def attachment_view(self, request, ticket_id, message_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        message = get_object_or_404(TicketMessage, pk=message_id, ticket_id=ticket_id)
        if not message.attachment:
            raise Http404
        return storage.download(storage.unsealed(message.attachment), filename=message.attachment_name)

    def reply_view(self, request, ticket_id):
        if not self.has_change_permission(request):
            raise PermissionDenied
        ticket = get_object_or_404(Ticket, pk=ticket_id)
        form = ReplyForm(request.POST or None, request.FILES or None, initial={"status": Ticket.WAITING})
        if request.method == "POST" and form.is_valid():
            try:
                services.ticket_reply(ticket=ticket, staff=request.user, **form.cleaned_data)
            except services.Refused as refused:
                _refused(form, refused)
            else:
                messages.success(request, f"已回复工单 {ticket.number}。")
                return redirect(reverse("admin:supervision_ticket_change", args=[ticket.pk]))
        return _form_page(self, request, form, f"回复工单 {ticket.number}：{ticket.subject}")


class DrawForm(forms.Form):
    program = forms.ModelChoiceField(Program.objects.all(), label="项目")
    purpose = forms.ChoiceField(label="类型", choices=FollowUpVisit.PURPOSE_CHOICES)
    start = forms.DateField(label="开始日期", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="结束日期", widget=forms.DateInput(attrs={"type": "date"}))
    count = forms.IntegerField(label="抽取人数", min_value=1, max_value=500, initial=20)


class VisitForm(forms.ModelForm):
    class Meta:
        model = FollowUpVisit
        fields = ["outcome", "satisfaction", "notes"]

    def clean(self):
        data = super().clean()
        if data.get("outcome") == FollowUpVisit.REACHED and not data.get("satisfaction"):
            self.add_error("satisfaction", "接通后请记录满意度（1–5）。")
        return data


@admin.register(FollowUpVisit)
class FollowUpVisitAdmin(admin.ModelAdmin):
    form = VisitForm
    list_display = ["person", "purpose", "program", "phone_masked", "outcome", "satisfaction", "drawn_at", "called_by"]
    list_filter = ["outcome", "purpose", "program"]
    search_fields = ["person__name", "person__id_masked"]
    readonly_fields = ["person", "purpose", "program", "phone_number", "drawn_at", "called_by", "called_at"]
    fields = [*readonly_fields, "outcome", "satisfaction", "notes"]

    @admin.display(description="联系电话")
    def phone_masked(self, obj):
        """The list masks the number; the visit's own page shows it to the caller who dials it."""
        phone = obj.phone
        return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else phone or "—"

    @admin.display(description="联系电话")
    def phone_number(self, obj):
        return obj.phone or "—"

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        services.visit_record(visit=obj, outcome=obj.outcome, satisfaction=obj.satisfaction, notes=obj.notes,
                              user=request.user)

    def get_urls(self):
        return [path("draw/", self.admin_site.admin_view(self.draw_view), name="supervision_followupvisit_draw"),
                *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        messages.info(request, format_html('<a href="{}">抽取回访对象</a>',
                                           reverse("admin:supervision_followupvisit_draw")))
        return super().changelist_view(request, extra_context)

    def draw_view(self, request):
        if not request.user.has_perm("supervision.add_followupvisit"):
            raise PermissionDenied
        form = DrawForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                drawn = services.visits_draw(**form.cleaned_data)
            except services.Refused as refused:
                _refused(form, refused)
            else:
                messages.success(request, f"已抽取 {len(drawn)} 人。")
                return redirect(reverse("admin:supervision_followupvisit_changelist"))
        return _form_page(self, request, form, "抽取回访对象")


# --- The surplus pool ------------------------------------------------------------------------------


class PoolEntryInline(admin.TabularInline):
    model = PoolEntry
    fields = ["created_at", "kind", "version", "amount", "balance_after", "premiums", "claims", "operating", "note",
              "created_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0


class YearCloseForm(forms.Form):
    version = forms.ModelChoiceField(ProductVersion.objects.none(), label="结算年度（产品版本）")

    def __init__(self, *args, program, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = ProductVersion.objects.filter(program=program,
                                                                       status=ProductVersion.PUBLISHED)


class PoolUseForm(YearCloseForm):
    amount = forms.CharField(label="使用金额（元）", max_length=20)
    note = forms.CharField(label="说明", max_length=200, help_text="如：补充给付2026年度理赔")


@admin.register(SurplusPool)
class SurplusPoolAdmin(admin.ModelAdmin):
    list_display = ["__str__", "program", "cycle_start", "cycle_years", "balance"]
    list_filter = ["program"]
    readonly_fields = ["program", "cycle_start", "cycle_years", "balance", "pool_actions"]
    inlines = [PoolEntryInline]

    def has_add_permission(self, request):
        return False  # a pool is made by the first year-end close of its cycle

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "title": "结余资金池（年度结余转入请点击项目）"}
        return super().changelist_view(request, extra_context)

    @admin.display(description="操作")
    def pool_actions(self, obj):
        return format_html('<a class="button" href="{}">年度结余转入</a> <a class="button" href="{}">记录使用</a>',
                           reverse("admin:supervision_surpluspool_close", args=[obj.program_id]),
                           reverse("admin:supervision_surpluspool_use", args=[obj.pk]))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [path("close/<int:program_id>/", view(self.close_view), name="supervision_surpluspool_close"),
                path("<int:pool_id>/use/", view(self.use_view), name="supervision_surpluspool_use"),
                *super().get_urls()]

    def close_view(self, request, program_id):
        from supervision import pool as pool_services

        if not request.user.has_perm("supervision.add_poolentry"):
            raise PermissionDenied
        program = get_object_or_404(Program, pk=program_id)
        form = YearCloseForm(request.POST or None, program=program)
        if request.method == "POST" and form.is_valid():
            try:
                entry = pool_services.year_close(version=form.cleaned_data["version"], user=request.user)
            except services.Refused as refused:
                _refused(form, refused)
            else:
                messages.success(request, f"已结转结余 {entry.amount} 元，资金池余额 {entry.balance_after} 元。")
                return redirect(reverse("admin:supervision_surpluspool_change", args=[entry.pool_id]))
        return _form_page(self, request, form, f"年度结余转入资金池：{program}")

    def use_view(self, request, pool_id):
        from supervision import pool as pool_services

        if not request.user.has_perm("supervision.add_poolentry"):
            raise PermissionDenied
        pool = get_object_or_404(SurplusPool, pk=pool_id)
        form = PoolUseForm(request.POST or None, program=pool.program)
        if request.method == "POST" and form.is_valid():
            try:
                entry = pool_services.pool_use(pool=pool, user=request.user, **form.cleaned_data)
            except services.Refused as refused:
                _refused(form, refused)
            else:
                messages.success(request, f"已记录使用 {-entry.amount} 元，资金池余额 {entry.balance_after} 元。")
                return redirect(reverse("admin:supervision_surpluspool_change", args=[pool.pk]))
        return _form_page(self, request, form, f"记录资金池使用：{pool}（余额 {pool.balance} 元）")
