from django.apps import AppConfig


def is_simulator_app(name: str) -> bool:
    return name.startswith("portal.simulators") or ".simulator" in name


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "门户"

    def ready(self) -> None:
        from django.conf import settings
        from django.contrib import admin

        # The production checks (portal/checks.py): registered here, run by every management
        # command, by ``check --deploy``, and before the WSGI application and Celery serve.
        from portal import checks  # noqa: F401

        # The simulators' tables stay installed (their migrations), but their admin pages are
        # mounted only with the simulators (never in production).
        if not settings.SIMULATORS_ENABLED:
            for model in list(admin.site._registry):
                if is_simulator_app(model._meta.app_config.name):
                    admin.site.unregister(model)
