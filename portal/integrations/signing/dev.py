"""The development signing certificates: a CA and the e-policy signing certificate it issues, both
marked ``DEVELOPMENT ONLY`` (production refuses them), generated once per directory under a file lock
(the web server and the worker may start together). ECDSA P-256 keys: quick to make."""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from portal.integrations.signing.conf import DEV_MARKER


@dataclass(frozen=True)
class DevFiles:
    ca: Path
    cert: Path
    key: Path


def _name(common_name: str, unit: str = DEV_MARKER) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "惠民保参保与理赔服务平台"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _generate(directory: Path, unit: str = DEV_MARKER) -> None:
    """``unit`` other than the marker: a stand-in for an insurer's certificate (the settings tests)."""
    now = datetime.now(UTC) - timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("开发用电子保单签名根证书", unit)
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("开发用电子保单签名证书（承保公司）", unit)).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    for name, data in (
        ("ca.pem", ca.public_bytes(pem)),
        ("signing.pem", cert.public_bytes(pem)),
        ("signing-key.pem", key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
    ):
        temporary = directory / f".{name}.{os.getpid()}"
        temporary.write_bytes(data)
        os.chmod(temporary, 0o600)
        os.replace(temporary, directory / name)


def ensure(directory: Path) -> DevFiles:
    files = DevFiles(directory / "ca.pem", directory / "signing.pem", directory / "signing-key.pem")
    if files.ca.exists() and files.cert.exists() and files.key.exists():
        return files
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not files.key.exists():
            _generate(directory)
    return files
