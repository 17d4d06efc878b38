"""The admin lock-out (django-axes) counts failures two ways: per username and address (5, then the
pair is locked for the cool-off) and per address across every username (``AXES_IP_FAILURE_LIMIT``,
default 20: a password-spraying run from one address is stopped, while an office behind one address
is not locked by a few people's typos). Both counters live in the cache and expire with the cool-off."""

from __future__ import annotations

from axes.handlers.cache import AxesCacheHandler
from axes.helpers import get_cache_timeout
from django.conf import settings


def _ip_key(request) -> str:
    return f"axes-ip-failures:{getattr(request, 'axes_ip_address', '') or ''}"


class AddressAwareCacheHandler(AxesCacheHandler):
    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request=request, **kwargs)
        if request is None or self.is_whitelisted(request, credentials):
            return
        if self._address_locked(request):
            request.axes_locked_out = True  # answered as locked; not locked for longer by trying again
            return
        key = _ip_key(request)
        if self.cache.add(key=key, value=1, timeout=get_cache_timeout(request)):
            count = 1
        else:
            count = self.cache.incr(key=key, delta=1)
        if count >= settings.AXES_IP_FAILURE_LIMIT:
            request.axes_locked_out = True

    def _address_locked(self, request) -> bool:
        return (self.cache.get(_ip_key(request)) or 0) >= settings.AXES_IP_FAILURE_LIMIT

    def is_locked(self, request, credentials: dict | None = None) -> bool:
        if super().is_locked(request, credentials):
            return True
        if self.is_whitelisted(request, credentials):
            return False
        return self._address_locked(request)
