"""Persons and resident accounts (view-only: services write them), and the consent texts and records."""

from __future__ import annotations

from django.contrib import admin

from enrollment.admin.common import MobileSearch, ViewOnlyAdmin
from enrollment.models import (
    Consent,
    ConsentText,
    Person,
    RenewalAuthorization,
    RenewalRefusal,
    Resident,
)

# --- Persons ---------------------------------------------------------------------------------


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    """Only masked ID numbers are shown; searching by a full ID number uses the blind index."""

    list_display = ["name", "id_masked", "sex", "birth_date", "region_code", "created_at"]
    search_fields = ["name", "id_masked"]
    fields = ["name", "id_masked", "sex", "birth_date", "region_code", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if len(term) == 18:
            from enrollment import idnumber

            try:
                return queryset.by_id_number(term), False
            except idnumber.IdNumberError:
                pass
        return super().get_search_results(request, queryset, search_term)



@admin.register(Resident)
class ResidentAdmin(MobileSearch, ViewOnlyAdmin):
    list_display = ["__str__", "person", "bound_at", "created_at"]
    search_fields = ["person__name", "person__id_masked"]  # and by the full number (MobileSearch), shown masked
    mobile_path = ""
    fields = ["phone_masked", "user", "person", "bound_at", "created_at", "closed_at"]
    readonly_fields = fields

    @admin.display(description="手机号")
    def phone_masked(self, obj):
        return str(obj)


@admin.register(ConsentText)
class ConsentTextAdmin(admin.ModelAdmin):
    """A text once agreed to is never edited: publish a new version instead."""

    list_display = ["title", "kind", "version", "effective_at"]
    list_filter = ["kind"]

    def has_change_permission(self, request, obj=None):
        if obj is not None and Consent.objects.filter(text=obj).exists():
            return False
        return super().has_change_permission(request, obj)


@admin.register(Consent)
class ConsentAdmin(ViewOnlyAdmin):
    list_display = ["person", "text", "given_by", "as_guardian", "given_at"]
    list_filter = ["text__kind", "as_guardian"]


@admin.register(RenewalAuthorization)
class RenewalAuthorizationAdmin(ViewOnlyAdmin):
    list_display = ["person", "program", "plan_code", "created_at", "revoked_at"]
    list_filter = ["program"]


@admin.register(RenewalRefusal)
class RenewalRefusalAdmin(ViewOnlyAdmin):
    list_display = ["authorization", "version", "code", "message", "created_at"]
    list_filter = ["version", "code"]
