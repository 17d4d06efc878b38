"""The simulated platform's SM2 key pair, derived from ``SECRET_KEY`` (development and tests only).

Derived rather than generated: every process (web server, workers, the test suite's loopback
server) computes the same pair with no shared file. The insurer's development key is derived the
same way (``conf.development_private_key``); the simulator verifies requests with its public half,
as the real platform verifies with the public key the insurer registered.
"""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings

from portal.integrations.hsa import sm


@lru_cache(maxsize=4)
def _pair(secret: str) -> tuple[str, str]:
    private = sm.private_key_from_seed(f"hsa-platform-simulator:{secret}".encode())
    return private, sm.public_key_of(private)


def platform_private_key() -> str:
    return _pair(settings.SECRET_KEY)[0]


def platform_public_key() -> str:
    return _pair(settings.SECRET_KEY)[1]


def insurer_public_key() -> str:
    """The public key the insurer 'registered': the half of whatever key the portal signs with."""
    from portal.integrations.hsa import conf

    return sm.public_key_of(conf.private_key())
