"""SM2 signatures over an SM3 digest (GB/T 32918, GB/T 32905).

Keys are hexadecimal text: a private key is 64 hex digits (the scalar ``d``), a public key 128
hex digits (``x || y``, without the ``04`` prefix; a prefixed 130-digit key is accepted). A
signature is 128 hex digits, ``r || s``. The digest is SM3 over ``Z_A || message`` with the
default distinguishing ID ``1234567812345678`` (GM/T 0009), which is what the medical-insurance
platform and every other SM2 implementation expect.

The curve's parameters come from ``gmssl`` (the reference implementation the golden tests were
first written against); the arithmetic does not: gmssl's pure-Python SM3 costs about 9 ms per KB
and its scalar multiplication about 12 ms, so one signed round trip with the platform (sign,
verify, on both sides) cost about 120 ms of CPU. SM3 is OpenSSL's (``hashlib``, where the build
has it) and the point multiplication is ``fastecdsa``'s C code over the SM2 curve (about 1 ms);
the signing equations below are GB/T 32918.2 §6.1 and §7.1, checked by the standard's own
example in ``tests/unit/test_hsa_golden.py``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from functools import lru_cache

from fastecdsa.curve import Curve
from fastecdsa.point import Point
from gmssl import func, sm2, sm3

_TABLE = sm2.default_ecc_table
_N = int(_TABLE["n"], 16)
CURVE = Curve("SM2", int(_TABLE["p"], 16), int(_TABLE["a"], 16), int(_TABLE["b"], 16), _N,
              int(_TABLE["g"][:64], 16), int(_TABLE["g"][64:], 16))
_HEX = re.compile(r"^[0-9a-fA-F]+$")
# ENTL (bit length of the default ID) || ID || a || b || xG || yG: the fixed head of Z_A.
_Z_HEAD = bytes.fromhex("0080" + "31323334353637383132333435363738" + _TABLE["a"] + _TABLE["b"] + _TABLE["g"])


class KeyInvalid(ValueError):
    pass


def sm3_hex(data: bytes) -> str:
    try:
        return hashlib.new("sm3", data).hexdigest()
    except ValueError:  # an OpenSSL built without SM3
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


@lru_cache(maxsize=64)
def _point(public_key: str) -> Point:
    """The public key as a point of the curve; ``KeyInvalid`` when it is not on it."""
    key = _public(public_key)
    try:
        return Point(int(key[:64], 16), int(key[64:], 16), curve=CURVE)
    except ValueError as exc:
        raise KeyInvalid("the SM2 public key is not a point of the curve") from exc


def _digest(message: bytes, public_key: str) -> int:
    """e = SM3(Z_A || M) as an integer, Z_A = SM3(ENTL || ID || a || b || G || P_A)."""
    z = bytes.fromhex(sm3_hex(_Z_HEAD + bytes.fromhex(public_key)))
    return int(sm3_hex(z + message), 16)


@lru_cache(maxsize=16)
def public_key_of(private_key: str) -> str:
    point = int(_private(private_key), 16) * CURVE.G
    return f"{point.x:064x}{point.y:064x}"


def private_key_from_seed(seed: bytes) -> str:
    """A valid private key derived from ``seed`` (development keys; never in production)."""
    return "%064x" % (int(sm3_hex(seed), 16) % (_N - 2) + 1)


def new_private_key() -> str:
    return "%064x" % (secrets.randbelow(_N - 2) + 1)


def sign(message: bytes, private_key: str, *, k: str | None = None) -> str:
    """SM2 signature (``r || s`` hex) of SM3(Z_A || message). ``k`` only for known-answer tests."""
    d = int(_private(private_key), 16)
    e = _digest(message, public_key_of(private_key.strip().lower()))
    inverse = pow(1 + d, -1, _N)
    while True:
        nonce = int(k, 16) if k is not None else secrets.randbelow(_N - 1) + 1
        r = (e + (nonce * CURVE.G).x) % _N
        s = (inverse * (nonce + r) - r) % _N  # (1 + d)^-1 (k - r d)
        if r != 0 and r + nonce != _N and s != 0:
            return f"{r:064x}{s:064x}"
        if k is not None:  # pragma: no cover - a fixed k that happens to be unusable
            raise ValueError("k gives no signature")


def verify(message: bytes, signature: str, public_key: str) -> bool:
    if not isinstance(signature, str) or len(signature) != 128 or not _HEX.match(signature):
        return False
    r, s = int(signature[:64], 16), int(signature[64:], 16)
    t = (r + s) % _N
    if not (1 <= r < _N and 1 <= s < _N) or t == 0:
        return False
    try:
        point = _point(public_key)
    except KeyInvalid:
        return False
    x = (s * CURVE.G + t * point).x
    return (_digest(message, _public(public_key)) + x) % _N == r
