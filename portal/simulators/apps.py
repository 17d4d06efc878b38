from django.apps import AppConfig


class SimulatorsConfig(AppConfig):
    name = "portal.simulators"
    label = "simulators"
    verbose_name = "外部系统模拟器"
