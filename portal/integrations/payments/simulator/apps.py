from django.apps import AppConfig


class PaymentsSimulatorConfig(AppConfig):
    name = "portal.integrations.payments.simulator"
    label = "payments_simulator"
    verbose_name = "支付渠道模拟器（微信支付、支付宝）"
    default_auto_field = "django.db.models.BigAutoField"
