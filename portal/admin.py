"""Staff see residents' sign-in accounts masked: a resident's Django account is named ``p:<the
mobile's blind index>`` (``enrollment.accounts``), so every place the admin names a user — the user list, a
user's page, assignee and approver columns, filters, drop-downs, the recent-actions box — shows
``居民 138****0001`` instead (``User.__str__`` is :func:`user_str`, set in
``portal.apps.PortalConfig.ready``). Staff accounts keep their names. Searching by the full
number still finds the account."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

RESIDENT_PREFIX = "p:"


def user_str(user) -> str:
    """A resident's account reads 居民 138****0001 (its login name is the mobile's blind index);
    staff accounts keep their names."""
    username = user.get_username() or ""
    if username.startswith(RESIDENT_PREFIX):
        resident = getattr(user, "resident", None)
        phone = resident.phone if resident is not None else ""
        return f"居民 {phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "居民"
    return username


class PortalUserAdmin(UserAdmin):
    list_display = ["account", "first_name", "last_name", "is_staff", "is_active", "last_login"]

    @admin.display(description="用户名", ordering="username")
    def account(self, obj):
        return user_str(obj)

    def get_search_results(self, request, queryset, search_term):
        """A full mobile finds the resident's account through its login name, the mobile's blind index."""
        import re

        from portal import crypto

        term = search_term.strip()
        if re.fullmatch(r"1[3-9][0-9]{9}", term):
            return queryset.filter(username=f"{RESIDENT_PREFIX}{crypto.blind_index(term)}"), False
        return super().get_search_results(request, queryset, search_term)

    def _resident(self, obj) -> bool:
        return obj is not None and obj.username.startswith(RESIDENT_PREFIX)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self._resident(obj):
            return fieldsets
        return [(name, {**options, "fields": ["account" if f == "username" else f for f in options["fields"]]})
                for name, options in fieldsets]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "account"] if self._resident(obj) else readonly


admin.site.unregister(User)
admin.site.register(User, PortalUserAdmin)
