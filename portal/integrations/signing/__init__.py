"""Digital signatures on the documents the portal issues (PAdES, through pyHanko).

:func:`sign_pdf` signs a PDF with the insurer's document-signing certificate (``conf.py``): a
PAdES baseline signature (``ETSI.CAdES.detached``) over the whole file, with the certificate chain
embedded, so any PDF reader shows who signed it and that nothing changed since. :func:`verify_pdf`
is what the tests (and an auditor's script) use: the signature's integrity, validity against the
given trust roots, and the signer.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO

from portal.integrations.signing import conf


@lru_cache(maxsize=4)
def _signer(cert_file, key_file, chain_files, passphrase, stamp):
    from pyhanko.sign import signers

    return signers.SimpleSigner.load(str(key_file), str(cert_file), ca_chain_files=[str(p) for p in chain_files],
                                     key_passphrase=passphrase)


def signer():
    c = conf.signing()
    stamp = tuple(p.stat().st_mtime_ns for p in (c.cert_file, c.key_file))
    return _signer(c.cert_file, c.key_file, c.chain_files, c.passphrase, stamp)


def sign_pdf(data: bytes, *, reason: str, location: str = "", field_name: str = "承保公司签章") -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    meta = signers.PdfSignatureMetadata(field_name=field_name, reason=reason, location=location or None,
                                        subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256")
    writer = IncrementalPdfFileWriter(BytesIO(data), strict=False)
    return signers.PdfSigner(meta, signer=signer()).sign_pdf(writer).getvalue()


def signer_name() -> str:
    """The signing certificate's subject common name, as printed on the documents."""
    return signer().signing_cert.subject.native.get("common_name", "")


@dataclass(frozen=True)
class Verification:
    intact: bool  # the signed bytes are unchanged
    valid: bool  # the signature verifies with the certificate's key
    trusted: bool  # the certificate chains to one of the trust roots
    covers_whole_file: bool
    signer: str
    reason: str | None


def verify_pdf(data: bytes, trust_roots) -> list[Verification]:
    """Every signature of ``data``, checked against ``trust_roots`` (asn1crypto or PEM-file certificates)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(BytesIO(data))
    context = ValidationContext(trust_roots=list(trust_roots), allow_fetching=False)
    out = []
    for embedded in reader.embedded_signatures:
        status = validate_pdf_signature(embedded, context)
        out.append(Verification(
            intact=status.intact, valid=status.valid, trusted=status.trusted,
            covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
            signer=status.signing_cert.subject.native.get("common_name", ""),
            reason=embedded.sig_object.get("/Reason"),
        ))
    return out
