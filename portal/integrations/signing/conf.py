"""Settings of the e-policy signature (the insurer's document-signing certificate), read at call time.

Production names the insurer's certificate and key (``EPOLICY_SIGNING_CERT_FILE``,
``EPOLICY_SIGNING_KEY_FILE``, optionally ``EPOLICY_SIGNING_KEY_PASSPHRASE`` and the issuing chain
``EPOLICY_SIGNING_CHAIN_FILE``) and the key of the policies' verification codes
(``EPOLICY_CODE_KEY``); :func:`production_errors` refuses to start without them, with a key that is
not the certificate's, an expired certificate, or the development certificate. Elsewhere an empty
setting means the development certificate, generated at first use under
``EPOLICY_SIGNING_DEV_DIR`` (``var/epolicy-signing``) by :mod:`portal.integrations.signing.dev`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

DEV_MARKER = "DEVELOPMENT ONLY"  # the development certificates' organizational unit


@dataclass(frozen=True)
class SigningConf:
    cert_file: Path
    key_file: Path
    chain_files: tuple[Path, ...]
    passphrase: bytes | None
    development: bool


def signing() -> SigningConf:
    cert, key = settings.EPOLICY_SIGNING_CERT_FILE, settings.EPOLICY_SIGNING_KEY_FILE
    chain = tuple(Path(p) for p in (settings.EPOLICY_SIGNING_CHAIN_FILE or "").split(",") if p.strip())
    passphrase = settings.EPOLICY_SIGNING_KEY_PASSPHRASE.encode() if settings.EPOLICY_SIGNING_KEY_PASSPHRASE else None
    if cert and key:
        return SigningConf(Path(cert), Path(key), chain, passphrase, development=False)
    if settings.PRODUCTION:
        raise RuntimeError("EPOLICY_SIGNING_CERT_FILE and EPOLICY_SIGNING_KEY_FILE must be set in production")
    from portal.integrations.signing import dev

    files = dev.ensure(Path(settings.EPOLICY_SIGNING_DEV_DIR))
    return SigningConf(files.cert, files.key, (files.ca,), None, development=True)


def code_key() -> bytes:
    return (settings.EPOLICY_CODE_KEY or "").encode()


def _certificate_problem(cert_file: str, key_file: str, passphrase: str) -> str | None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        cert = x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
    except (OSError, ValueError) as exc:
        return f"EPOLICY_SIGNING_CERT_FILE is not a readable PEM certificate: {exc}"
    try:
        key = serialization.load_pem_private_key(Path(key_file).read_bytes(), passphrase.encode() or None)
    except (OSError, ValueError, TypeError) as exc:
        return f"EPOLICY_SIGNING_KEY_FILE is not a readable PEM private key (or the passphrase is wrong): {exc}"
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
        return "EPOLICY_SIGNING_KEY_FILE is not the key of EPOLICY_SIGNING_CERT_FILE"
    if cert.not_valid_after_utc <= datetime.now(UTC):
        return "EPOLICY_SIGNING_CERT_FILE has expired"
    units = [a.value for a in cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATIONAL_UNIT_NAME)]
    if DEV_MARKER in units or cert.issuer == cert.subject:
        return "EPOLICY_SIGNING_CERT_FILE is a development or self-signed certificate, not the insurer's"
    return None


def production_errors() -> list[str]:
    errors = []
    cert, key = settings.EPOLICY_SIGNING_CERT_FILE, settings.EPOLICY_SIGNING_KEY_FILE
    if not cert or not key:
        errors.append("EPOLICY_SIGNING_CERT_FILE and EPOLICY_SIGNING_KEY_FILE (the insurer's signing certificate"
                      " and key) are not set: e-policies must be signed")
    else:
        problem = _certificate_problem(cert, key, settings.EPOLICY_SIGNING_KEY_PASSPHRASE)
        if problem:
            errors.append(problem)
    if len(code_key()) < 32:
        errors.append("EPOLICY_CODE_KEY (at least 32 characters) is not set: it keys the policies' verification codes")
    return errors
