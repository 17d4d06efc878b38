from django.apps import AppConfig


class IdentitySimulatorConfig(AppConfig):
    name = "portal.integrations.identity.simulator"
    label = "identity_simulator"
    verbose_name = "实名核验模拟器"
