"""What the simulated verification service knows beyond the registry roster: which mobile number
belongs to whom (the carriers' subscriber records), and switches that make it answer as if down.

Never a plaintext mobile or ID number: both are kept as the project's blind index and masked."""

from __future__ import annotations

from django.db import models


class CarrierLine(models.Model):
    """A mobile number and the name and ID number it is registered to at its carrier (实名制入网)."""

    ISP_CHOICES = [("移动", "中国移动"), ("联通", "中国联通"), ("电信", "中国电信")]

    phone_hash = models.CharField("手机号检索码", max_length=64, unique=True, editable=False)
    phone_masked = models.CharField("手机号", max_length=11, editable=False)
    id_hash = models.CharField("身份证号检索码", max_length=64, db_index=True, editable=False)
    id_masked = models.CharField("机主身份证号", max_length=18, editable=False)
    name = models.CharField("机主姓名", max_length=50)
    isp = models.CharField("运营商", max_length=4, choices=ISP_CHOICES, default="移动")
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "运营商实名登记（模拟）"

    def __str__(self) -> str:
        return f"{self.phone_masked} {self.name}"


class Outage(models.Model):
    """While a row exists, the service answers as Tencent does when its source is down
    (IdCardVerification ``-4``, PhoneVerification ``-11``, BankCard4EVerification ``-18``) for the named action, or for both."""

    ACTION_CHOICES = [("", "全部"), ("IdCardVerification", "二要素"), ("PhoneVerification", "三要素"),
                      ("BankCard4EVerification", "银行卡四要素")]

    action = models.CharField("接口", max_length=40, blank=True, choices=ACTION_CHOICES)
    note = models.CharField("说明", max_length=200, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "核验服务故障（模拟）"

    def __str__(self) -> str:
        return self.get_action_display()


class BankCard(models.Model):
    """A debit card (or a 社保卡's financial account) as its issuing bank knows it: the holder's name and
    ID number from account opening and the mobile number reserved with the bank (银行预留手机号)."""

    NORMAL, LOST, EXPIRED = "0", "-13", "-14"
    STATUS_CHOICES = [(NORMAL, "正常"), (LOST, "已挂失"), (EXPIRED, "已过期")]

    card_hash = models.CharField(max_length=64, unique=True, editable=False)
    card_masked = models.CharField("卡号", max_length=30, editable=False)
    id_hash = models.CharField(max_length=64, db_index=True, editable=False)
    id_masked = models.CharField("持卡人身份证号", max_length=18, editable=False)
    name = models.CharField("持卡人姓名", max_length=50)
    phone_hash = models.CharField(max_length=64, editable=False)
    phone_masked = models.CharField("预留手机号", max_length=11, editable=False)
    bank = models.CharField("发卡行", max_length=50, default="甘肃银行")
    status = models.CharField("卡状态", max_length=4, choices=STATUS_CHOICES, default=NORMAL)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "银行卡开户登记（模拟）"

    def __str__(self) -> str:
        return f"{self.card_masked} {self.name}"
