from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "门户"

    def ready(self) -> None:
        from django.conf import settings

        if settings.PRODUCTION:
            from django.core.exceptions import ImproperlyConfigured

            from portal.integrations import production_errors

            errors = production_errors()
            if errors:
                raise ImproperlyConfigured("production settings refused: " + "; ".join(errors))
