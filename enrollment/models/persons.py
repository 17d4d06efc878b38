"""Persons: one row per real person, whichever channel brought them."""

from __future__ import annotations

import pghistory
from django.db import models

from enrollment import idnumber
from portal import crypto

# --- Persons ---------------------------------------------------------------------------------


class PersonQuerySet(models.QuerySet):
    def by_id_number(self, value: str):
        """Find by ID number through the blind index (``value`` is normalised first)."""
        return self.filter(id_hash=crypto.blind_index(idnumber.normalize(value)))


@pghistory.track(pghistory.UpdateEvent(condition=pghistory.AnyChange("name")), fields=["name", "name_verified_at"],
                 model_name="PersonNameEvent")
class Person(models.Model):
    """Someone who can be insured; one row per real person, whichever channel brought them.

    The ID number is stored encrypted (``id_cipher``) and found by ``id_hash``; only the masked
    form (first 6 + last 4) is kept in clear, for lists and search. The name of record is the one
    the verification service confirmed (``name_verified_at``) when the person bound an account;
    before that, the name a buyer typed that the registry confirmed.
    """

    SEX_CHOICES = [("M", "男"), ("F", "女")]

    name = models.CharField("姓名", max_length=50)
    id_cipher = models.TextField("身份证号（密文）", editable=False)
    id_hash = models.CharField("身份证号检索码", max_length=64, unique=True, editable=False)
    id_masked = models.CharField("身份证号", max_length=18, db_index=True, editable=False)
    birth_date = models.DateField("出生日期")
    sex = models.CharField("性别", max_length=1, choices=SEX_CHOICES)
    region_code = models.CharField("户籍地区码", max_length=6, db_index=True)
    name_verified_at = models.DateTimeField("姓名核验时间", null=True, blank=True, editable=False)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    objects = PersonQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "参保人"

    def __str__(self) -> str:
        return f"{self.name}（{self.id_masked}）"

    @property
    def id_number(self) -> str:
        return crypto.decrypt(self.id_cipher)

    def set_id_number(self, value: str) -> idnumber.IdNumber:
        parsed = idnumber.parse(value)
        self.id_cipher = crypto.encrypt(parsed.number)
        self.id_hash = crypto.blind_index(parsed.number)
        self.id_masked = idnumber.mask(parsed.number)
        self.birth_date = parsed.birth_date
        self.sex = parsed.sex
        self.region_code = parsed.region_code
        return parsed
