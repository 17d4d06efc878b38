"""The SMS simulator's outbox: what a phone would have received, and the delivery report Tencent
would hand out once through ``PullSmsSendStatus``. The number is kept as its blind index and masked
form only (the outbox page filters by the number typed in)."""

from django.db import models

from portal import crypto


class SmsMessageQuerySet(models.QuerySet):
    def to(self, phone: str):
        return self.filter(phone_hash=crypto.blind_index(phone))


class SmsMessage(models.Model):
    phone_hash = models.CharField("手机号检索码", max_length=64, db_index=True, editable=False)
    phone_masked = models.CharField("手机号", max_length=11)
    sdk_app_id = models.CharField("应用ID", max_length=20)
    sign_name = models.CharField("签名", max_length=20)
    template_id = models.CharField("模板ID", max_length=20)
    params = models.JSONField("模板参数", default=list)
    body = models.TextField("内容")
    serial_no = models.CharField("发送流水号", max_length=64, unique=True)
    session_context = models.CharField("会话上下文", max_length=512, blank=True)
    sent_at = models.DateTimeField("发送时间", auto_now_add=True)
    report_status = models.CharField("回执状态", max_length=10)  # SUCCESS / FAIL
    report_description = models.CharField("回执说明", max_length=100)
    report_pulled = models.BooleanField("回执已拉取", default=False)

    objects = SmsMessageQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "短信（模拟网关）"
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return f"{self.phone_masked} {self.template_id}"
