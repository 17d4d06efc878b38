"""The simulated carriers' records and outage switches in the admin (development and demos)."""

from django import forms
from django.contrib import admin

from enrollment import idnumber
from portal.integrations.identity.simulator import carrier
from portal.integrations.identity.simulator.models import BankCard, CarrierLine, Outage


class CarrierLineForm(forms.ModelForm):
    phone = forms.RegexField(label="手机号", regex=r"^1[3-9][0-9]{9}$", error_messages={"invalid": "请输入11位手机号。"})
    id_number = forms.CharField(label="机主身份证号", max_length=18)

    class Meta:
        model = CarrierLine
        fields = ["name", "isp"]

    def clean_id_number(self):
        try:
            return idnumber.parse(self.cleaned_data["id_number"]).number
        except idnumber.IdNumberError as exc:
            raise forms.ValidationError(exc.message) from None


@admin.register(CarrierLine)
class CarrierLineAdmin(admin.ModelAdmin):
    list_display = ["phone_masked", "name", "id_masked", "isp", "updated_at"]
    list_filter = ["isp"]
    search_fields = ["name", "phone_masked", "id_masked"]
    form = CarrierLineForm
    fields = ["phone", "id_number", "name", "isp"]

    def has_change_permission(self, request, obj=None):
        return False  # a number changes hands by adding it again

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = carrier.line_set(phone=data["phone"], id_number=data["id_number"], name=data["name"], isp=data["isp"])
        obj.pk = saved.pk


@admin.register(Outage)
class OutageAdmin(admin.ModelAdmin):
    list_display = ["action", "note", "created_at"]


class BankCardForm(forms.ModelForm):
    card_number = forms.RegexField(label="卡号", regex=r"^[0-9]{12,19}$", error_messages={"invalid": "请输入12至19位卡号。"})
    id_number = forms.CharField(label="持卡人身份证号", max_length=18)
    phone = forms.RegexField(label="预留手机号", regex=r"^1[3-9][0-9]{9}$", error_messages={"invalid": "请输入11位手机号。"})

    class Meta:
        model = BankCard
        fields = ["name", "bank", "status"]

    def clean_id_number(self):
        try:
            return idnumber.parse(self.cleaned_data["id_number"]).number
        except idnumber.IdNumberError as exc:
            raise forms.ValidationError(exc.message) from None


@admin.register(BankCard)
class BankCardAdmin(admin.ModelAdmin):
    list_display = ["card_masked", "name", "id_masked", "phone_masked", "bank", "status", "updated_at"]
    list_filter = ["status", "bank"]
    search_fields = ["name", "card_masked", "id_masked"]
    form = BankCardForm
    fields = ["card_number", "id_number", "name", "phone", "bank", "status"]

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = carrier.card_set(card_number=data["card_number"], id_number=data["id_number"], name=data["name"],
                                 phone=data["phone"], bank=data["bank"], status=data["status"])
        obj.pk = saved.pk
