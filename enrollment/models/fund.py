"""The charity fund (爱心基金) and its append-only ledger."""

from __future__ import annotations

from decimal import Decimal

import pghistory
from django.db import models
from django.db.models import Q

from enrollment.models.base import MONEY
from enrollment.models.orders import Policy
from enrollment.models.organizations import Organization
from enrollment.models.products import Program


@pghistory.track()
class CharityFund(models.Model):
    """A program's charity fund (Weihai 爱心基金). ``balance`` is the sum of its entries; it is
    changed only under a row lock and a database check keeps it from going below zero."""

    program = models.OneToOneField(Program, on_delete=models.PROTECT, related_name="fund", verbose_name="项目")
    name = models.CharField("基金名称", max_length=100)
    balance = models.DecimalField("余额", default=Decimal("0.00"), **MONEY)

    class Meta:
        verbose_name = verbose_name_plural = "爱心基金"
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="fund_balance_not_negative")]

    def __str__(self) -> str:
        return self.name


@pghistory.track()
class FundEntry(models.Model):
    """Append-only: a donation (positive) or an allocation to a resident's policy (negative)."""

    DONATION, ALLOCATION = "donation", "allocation"
    KIND_CHOICES = [(DONATION, "捐赠"), (ALLOCATION, "资助参保")]

    fund = models.ForeignKey(CharityFund, on_delete=models.PROTECT, related_name="entries", verbose_name="基金")
    kind = models.CharField("类型", max_length=12, choices=KIND_CHOICES)
    amount = models.DecimalField("金额", help_text="捐赠为正，资助为负", **MONEY)
    balance_after = models.DecimalField("余额", **MONEY)
    donor_name = models.CharField("捐赠方", max_length=100, blank=True)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="donations", verbose_name="捐赠单位")
    reference = models.CharField("到账凭证号", max_length=64, blank=True)
    policy = models.OneToOneField(Policy, on_delete=models.PROTECT, null=True, blank=True, related_name="fund_entry",
                                  verbose_name="资助保单")
    note = models.CharField("说明", max_length=200, blank=True)
    created_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, related_name="+", verbose_name="经办人")
    created_at = models.DateTimeField("时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "爱心基金流水"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="donation", amount__gt=0) | Q(kind="allocation", amount__lt=0)),
                name="fund_entry_sign",
            ),
            models.UniqueConstraint(fields=["fund", "reference"], condition=~Q(reference=""),
                                    name="fund_donation_reference_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"
