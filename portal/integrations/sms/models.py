"""What the portal sent through the SMS gateway and what the gateway reported back.

No phone number in clear: its blind index (to find a person's messages) and the masked form.
"""

from django.db import models


class SmsDispatch(models.Model):
    SENT, DELIVERED, FAILED, REFUSED = "sent", "delivered", "failed", "refused"
    STATUS_CHOICES = [(SENT, "已提交网关"), (DELIVERED, "已送达"), (FAILED, "未送达"), (REFUSED, "网关拒绝")]

    template = models.CharField("消息", max_length=40)
    template_id = models.CharField("模板ID", max_length=20)
    phone_hash = models.CharField("手机号检索码", max_length=64, db_index=True, editable=False)
    phone_masked = models.CharField("手机号", max_length=11)
    serial_no = models.CharField("发送流水号", max_length=64, unique=True, null=True, blank=True)
    status = models.CharField("状态", max_length=10, choices=STATUS_CHOICES, default=SENT)
    code = models.CharField("网关返回码", max_length=80, blank=True)
    report_status = models.CharField("回执状态", max_length=10, blank=True)  # SUCCESS / FAIL
    report_description = models.CharField("回执说明", max_length=200, blank=True)
    sent_at = models.DateTimeField("发送时间", auto_now_add=True)
    delivered_at = models.DateTimeField("用户接收时间", null=True, blank=True)
    reported_at = models.DateTimeField("回执记录时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "短信发送记录"
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return f"{self.phone_masked} {self.template}"
