"""Third-party apps under Chinese names in the admin (their strings: ``locale/zh_Hans``)."""

from axes.apps import AppConfig as AxesAppConfig


class AxesConfig(AxesAppConfig):
    """django-axes: the admin's sign-in lockout."""

    verbose_name = "登录防护"
