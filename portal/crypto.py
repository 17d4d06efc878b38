"""Encryption at rest and the blind index for personal identifiers.

``encrypt``/``decrypt`` use Fernet (AES-128-CBC + HMAC-SHA256) with ``FIELD_ENCRYPTION_KEYS``; the
first key encrypts, every key decrypts, so keys can be rotated. ``blind_index`` is an HMAC-SHA256
with the separate ``BLIND_INDEX_KEY``: equal inputs give equal digests, so a person can be found by
ID number without storing it in clear, and a stolen database without the key cannot be searched.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(value: str) -> str:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).decrypt(token.encode()).decode()


def blind_index(value: str) -> str:
    return hmac.new(settings.BLIND_INDEX_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def encrypt_bytes(value: bytes) -> bytes:
    """A file's content sealed with the same key ring (Fernet token, URL-safe base64)."""
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).encrypt(value)


def decrypt_bytes(token: bytes) -> bytes:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS)).decrypt(token)


def sealed(cipher: str, *, index: str | None = None, doc: str = "") -> property:
    """A model attribute kept only encrypted, in the ``cipher`` column (and, with ``index``, its blind
    index in that column, to find it by): reading decrypts, assigning encrypts. An empty value is
    stored as given ("" or None; the index then None, so a unique index allows many)."""

    def read(instance):
        token = getattr(instance, cipher)
        return decrypt(token) if token else token

    def write(instance, value):
        setattr(instance, cipher, encrypt(value) if value else value)
        if index:
            setattr(instance, index, blind_index(value) if value else None)

    return property(read, write, doc=doc)
