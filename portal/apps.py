from django.apps import AppConfig
from django.db.backends.signals import connection_created


def history_triggers_settled(sender, connection, **kwargs) -> None:
    """Every history trigger (django-pghistory's, through django-pgtrigger) first reads the setting
    ``pgtrigger.ignore``; when the session never set it, the read raises inside the trigger and is
    caught, a cost paid on every tracked row (about 2 ms a row in a long transaction: copying 16,000
    claims with their lines took 57 s, and 6 s once set). An empty list set once per connection
    ignores nothing and takes the cheap path; ``pgtrigger.ignore()`` still overrides it locally."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET pgtrigger.ignore = '{}'")


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
        connection_created.connect(history_triggers_settled, dispatch_uid="portal.history_triggers_settled")

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
