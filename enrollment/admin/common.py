"""Shared admin pieces: checked inline formsets, export actions, view-only admins."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponse

from portal import tabular


def _live_rows(formset) -> list[dict]:
    """cleaned_data of the rows that will exist after saving (filled in, not marked for deletion)."""
    return [
        form.cleaned_data
        for form in formset.forms
        if getattr(form, "cleaned_data", None) and not form.cleaned_data.get("DELETE")
    ]


def _sibling(formset, model):
    for other in getattr(formset, "siblings", ()):
        if other.model is model:
            return other
    return None


class CheckedInlineFormSet(BaseInlineFormSet):
    """An inline formset whose ``check(rows)`` returns Chinese messages for the whole set."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        errors = self.check(_live_rows(self))
        if errors:
            raise ValidationError(errors)

    def check(self, rows: list[dict]) -> list[str]:
        return []



def export_actions(columns: list[tuple[str, str]], title: str):
    """Admin actions exporting the selected rows to CSV and XLSX (cells starting with = + - @ made
    safe). ``columns`` are (header, attribute path with ``__``; a ``get_x_display`` name works)."""

    def value(obj, attribute):
        for part in attribute.split("__"):
            obj = getattr(obj, part, None)
            obj = obj() if callable(obj) else obj
            if obj is None:
                return ""
        return obj if isinstance(obj, (int, Decimal, str)) else str(obj)

    def related(model) -> list[str]:
        """The foreign keys the columns walk through, read with the rows (one query, any count)."""
        paths = set()
        for _, attribute in columns:
            current, path = model, []
            for part in attribute.split("__"):
                try:
                    field = current._meta.get_field(part)
                except FieldDoesNotExist:  # a method or property: the path stops here
                    break
                if not (field.many_to_one or field.one_to_one) or field.related_model is None:
                    break
                path.append(part)
                current = field.related_model
            if path:
                paths.add("__".join(path))
        return sorted(paths)

    def rows(queryset):
        queryset = queryset.select_related(*related(queryset.model))
        return ([value(obj, attribute) for _, attribute in columns] for obj in queryset.iterator(chunk_size=2000))

    header = [label for label, _ in columns]

    @admin.action(description="导出所选（CSV）")
    def export_csv(modeladmin, request, queryset):
        return HttpResponse(tabular.to_csv(header, rows(queryset)), content_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{title}.csv"'})

    @admin.action(description="导出所选（XLSX）")
    def export_xlsx(modeladmin, request, queryset):
        return HttpResponse(tabular.to_xlsx(header, rows(queryset), title=title), headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Content-Disposition": f'attachment; filename="{title}.xlsx"'})

    return [export_csv, export_xlsx]


class ViewOnlyAdmin(admin.ModelAdmin):
    """Money and consent records are changed by services only, never by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MobileSearch:
    """Admin search by a full mobile: mobiles are stored encrypted, so an 11-digit term is looked up
    through the blind index (``mobile_path``: the lookup from the model to the Resident, "" for a
    Resident itself); any other term goes to ``search_fields``."""

    mobile_path = "resident__"

    def get_search_results(self, request, queryset, search_term):
        import re

        from portal import crypto

        term = search_term.strip()
        if re.fullmatch(r"1[3-9][0-9]{9}", term):
            return queryset.filter(**{f"{self.mobile_path}phone_hash": crypto.blind_index(term)}), False
        return super().get_search_results(request, queryset, search_term)
