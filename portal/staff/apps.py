from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class StaffConfig(AppConfig):
    default = True
    """Staff access: the second factor, session limits, the lock-out by address and the access log."""

    name = "portal.staff"
    label = "staff"
    verbose_name = "员工访问"

    def ready(self) -> None:
        from portal.staff import sessions  # noqa: F401  (connects the sign-in signal)


class StaffAdminConfig(admin_apps.AdminConfig):
    """The Django admin, on a site that also requires a second factor (portal.staff.otp)."""

    default = False
    default_site = "portal.staff.otp.StaffAdminSite"
