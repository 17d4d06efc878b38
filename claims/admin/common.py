"""Shared admin pieces of the claims app: search by full ID number, read-only admins."""

from __future__ import annotations

import re

from django.contrib import admin

from enrollment import idnumber
from portal import crypto

MASKED_ID = re.compile(r"^\d{6}\*{8}\d{3}[\dX]$")


def search_by_id(queryset, term: str, id_hash_field: str, masked_field: str):
    """Search by the masked ID as shown on every page (``620602********1231``), or by a whole ID
    number through its blind index (the ID itself is never stored in clear)."""
    term = term.strip().upper()
    if MASKED_ID.match(term):
        return queryset.filter(**{masked_field: term})
    if idnumber.is_valid(term):
        return queryset.filter(**{id_hash_field: crypto.blind_index(idnumber.normalize(term))})
    return None


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
