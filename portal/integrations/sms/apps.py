from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "portal.integrations.sms"
    label = "sms"
    verbose_name = "短信"
    default_auto_field = "django.db.models.BigAutoField"
