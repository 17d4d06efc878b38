"""The only writers of staff access data: the access log and the reset of a member's second factors."""

from __future__ import annotations

from django.db import transaction

from portal.staff.models import AccessLog


def access_record(*, user, action: str, object_type: str, object_id: str = "", count: int = 1, route: str = "",
                  detail: str = "", ip: str | None = None) -> AccessLog:
    """Log one staff read of personal data. ``detail`` and ``object_id`` name records, never their
    contents (no ID number, name or mobile)."""
    return AccessLog.objects.create(
        user_id=user.pk, username=user.get_username(), action=action, object_type=object_type[:100],
        object_id=str(object_id)[:100], count=count, route=route[:200], detail=detail[:300], ip=ip or None)


def devices_reset(*, user) -> int:
    """Remove every second factor of ``user``; returns how many devices went."""
    from django_otp import devices_for_user

    with transaction.atomic():
        devices = list(devices_for_user(user, confirmed=None))
        for device in devices:
            device.delete()
    return len(devices)
