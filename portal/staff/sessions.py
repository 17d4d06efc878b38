"""Session limits (issue 13): every session ends 12 hours after sign-in whatever happens, and after a
quiet spell: 15 minutes for staff, 30 for residents (settings ``SESSION_ABSOLUTE_SECONDS``,
``STAFF_SESSION_IDLE_SECONDS``, ``RESIDENT_SESSION_IDLE_SECONDS``).

The sign-in time and the last request's time are kept in the session; a request past either limit
signs the account out before any view runs, so it is answered as for anyone not signed in (the
sign-in page). The last-seen time is written at most once a minute, not on every request."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

STARTED = "_portal_session_started"
SEEN = "_portal_session_seen"
SEEN_GRANULARITY = 60


@receiver(user_logged_in, dispatch_uid="portal.staff.sessions.stamp")
def stamp(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[STARTED] = now
        request.session[SEEN] = now


def idle_limit(user) -> int:
    return settings.STAFF_SESSION_IDLE_SECONDS if user.is_staff else settings.RESIDENT_SESSION_IDLE_SECONDS


class SessionLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            session = request.session
            # A session from before these limits existed starts counting now.
            started = session.setdefault(STARTED, now)
            seen = session.setdefault(SEEN, now)
            if now - started > settings.SESSION_ABSOLUTE_SECONDS or now - seen > idle_limit(user):
                logout(request)
            elif now - seen >= SEEN_GRANULARITY:
                session[SEEN] = now
        return self.get_response(request)
