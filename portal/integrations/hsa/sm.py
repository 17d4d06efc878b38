"""SM2 signatures over an SM3 digest (GB/T 32918, GB/T 32905) through ``gmssl``.

Keys are hexadecimal text: a private key is 64 hex digits (the scalar ``d``), a public key 128
hex digits (``x || y``, without the ``04`` prefix; a prefixed 130-digit key is accepted). A
signature is 128 hex digits, ``r || s``. The digest is SM3 over ``Z_A || message`` with the
default distinguishing ID ``1234567812345678`` (GM/T 0009), which is what the medical-insurance
platform and every other SM2 implementation expect.
"""

from __future__ import annotations

import re
import secrets
from functools import lru_cache

from gmssl import func, sm2, sm3

_N = int(sm2.default_ecc_table["n"], 16)
_HEX = re.compile(r"^[0-9a-fA-F]+$")


class KeyInvalid(ValueError):
    pass


def sm3_hex(data: bytes) -> str:
    return sm3.sm3_hash(func.bytes_to_list(data))


def _public(public_key: str) -> str:
    key = public_key.strip()
    if len(key) == 130 and key[:2] == "04":
        key = key[2:]
    if len(key) != 128 or not _HEX.match(key):
        raise KeyInvalid("an SM2 public key is 128 hexadecimal digits (x || y)")
    return key.lower()


def _private(private_key: str) -> str:
    key = private_key.strip()
    if len(key) != 64 or not _HEX.match(key) or not 1 <= int(key, 16) <= _N - 2:
        raise KeyInvalid("an SM2 private key is 64 hexadecimal digits in [1, n-2]")
    return key.lower()


def _crypt(private_key: str = "", public_key: str = "") -> sm2.CryptSM2:
    crypt = sm2.CryptSM2(private_key=private_key, public_key="")
    crypt.public_key = public_key  # gmssl's constructor lstrips "04" characters, not a prefix
    return crypt


@lru_cache(maxsize=16)
def public_key_of(private_key: str) -> str:
    d = _private(private_key)
    return _crypt(d)._kg(int(d, 16), sm2.default_ecc_table["g"])


def private_key_from_seed(seed: bytes) -> str:
    """A valid private key derived from ``seed`` (development keys; never in production)."""
    return "%064x" % (int(sm3_hex(seed), 16) % (_N - 2) + 1)


def new_private_key() -> str:
    return "%064x" % (secrets.randbelow(_N - 2) + 1)


def sign(message: bytes, private_key: str, *, k: str | None = None) -> str:
    """SM2 signature (``r || s`` hex) of SM3(Z_A || message). ``k`` only for known-answer tests."""
    d = _private(private_key)
    crypt = _crypt(d, public_key_of(d))
    while True:
        signature = crypt.sign_with_sm3(message, k or func.random_hex(crypt.para_len))
        if signature is not None:
            return signature
        if k is not None:  # pragma: no cover - a fixed k that happens to be unusable
            raise ValueError("k gives no signature")


def verify(message: bytes, signature: str, public_key: str) -> bool:
    if not isinstance(signature, str) or len(signature) != 128 or not _HEX.match(signature):
        return False
    r, s = int(signature[:64], 16), int(signature[64:], 16)
    if not (1 <= r < _N and 1 <= s < _N):
        return False
    try:
        return bool(_crypt(public_key=_public(public_key)).verify_with_sm3(signature.lower(), message))
    except (ValueError, TypeError, ZeroDivisionError):
        return False
