from django.apps import AppConfig


def is_simulator_app(name: str) -> bool:
    return name.startswith("portal.simulators") or ".simulator" in name


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "门户"

    def ready(self) -> None:
        from django.conf import settings
        from django.contrib import admin
        from django.contrib.auth.models import User

        from portal.admin import user_str

        User.__str__ = user_str  # residents' accounts masked wherever a user is named

        # The production checks (portal/checks.py): registered here, run by every management
        # command, by ``check --deploy``, and before the WSGI application and Celery serve.
        # Second-factor devices are managed on the staff devices page and by
        # ``manage.py staff_devices_reset``, never edited as raw rows in the admin.
        from django_otp.plugins.otp_static.models import StaticDevice
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from portal import checks  # noqa: F401

        for model in (StaticDevice, TOTPDevice):
            if admin.site.is_registered(model):
                admin.site.unregister(model)

        # The simulators' tables stay installed (their migrations), but their admin pages are
        # mounted only with the simulators (never in production).
        if not settings.SIMULATORS_ENABLED:
            for model in list(admin.site._registry):
                if is_simulator_app(model._meta.app_config.name):
                    admin.site.unregister(model)
