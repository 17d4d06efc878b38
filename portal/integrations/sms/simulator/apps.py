from django.apps import AppConfig


class SmsSimulatorConfig(AppConfig):
    name = "portal.integrations.sms.simulator"
    label = "sms_simulator"
    verbose_name = "短信网关（模拟）"
    default_auto_field = "django.db.models.BigAutoField"
