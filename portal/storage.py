"""Private file storage: documents residents and organizations upload (settlement sheets,
beneficiary lists). On disk under ``PRIVATE_MEDIA_ROOT``, outside any served URL (``url()``
refuses); read only through views that check who asks."""

import io
import os
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.http import HttpResponse

from portal import crypto


class PrivateStorage(FileSystemStorage):
    """Documents residents upload: on disk under ``PRIVATE_MEDIA_ROOT``, outside any served URL
    (``url()`` refuses); read only through views that check who asks."""

    @property
    def base_location(self):
        return str(settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    @property
    def base_url(self):
        return None


def private_storage():
    return PrivateStorage()


MAX_FILE_BYTES = 10 * 1024 * 1024
# What an uploaded document may be (settlement sheets, ticket attachments): recognised by its
# first bytes, not by its name.
SIGNATURES = {b"%PDF-": "application/pdf", b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}


def sniff(upload) -> str | None:
    """The document's type from its first bytes, or None when it is not a PDF, JPEG or PNG."""
    head = upload.read(8)
    upload.seek(0)
    return next((kind for magic, kind in SIGNATURES.items() if head.startswith(magic)), None)


# --- Uploaded documents: checked by content, re-encoded, sealed, served as downloads ---------------

# Names that a browser would render as a page on our origin if it were ever shown inline.
ACTIVE_EXTENSIONS = (".html", ".htm", ".xhtml", ".shtml", ".svg", ".svgz", ".xml", ".xsl", ".js", ".mht", ".mhtml")
EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
MAX_PIXELS = 50_000_000  # a larger image is a decompression bomb or no photo of a document


class DocumentInvalid(Exception):
    """The upload is refused; ``message`` names the field (Chinese), ``code`` is stable."""

    def __init__(self, code: str, message: str):
        self.code, self.message = code, message
        super().__init__(message)


@dataclass(frozen=True)
class Document:
    content: bytes  # what is kept: an image re-encoded, a PDF as sent
    kind: str  # the sniffed type

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.kind]


def document_check(upload, *, label: str) -> Document:
    """An uploaded document, or ``DocumentInvalid`` naming ``label``: a PDF, JPEG or PNG by its
    first bytes and by a real parse (a PDF's trailer must point at its cross-reference; an image
    must decode), whatever its name says; a name a browser would render (.html, .svg…) is refused
    outright. Images are re-encoded with Pillow (nothing but the pixels is kept: no metadata, no
    trailing bytes, EXIF orientation applied)."""
    name = str(getattr(upload, "name", "") or "")
    shown = name[:60]
    if name.lower().endswith(ACTIVE_EXTENSIONS):
        raise DocumentInvalid("document_type", f"{label}：不接受网页或 SVG 等文件（“{shown}”），请上传 JPG、PNG 或 PDF 文件。")
    if upload.size > MAX_FILE_BYTES:
        raise DocumentInvalid("document_too_large", f"{label}：“{shown}”超过{MAX_FILE_BYTES // 1024 // 1024}MB。")
    kind = sniff(upload)
    data = upload.read()
    upload.seek(0)
    refused = DocumentInvalid("document_type", f"{label}：“{shown}”不是 JPG、PNG 或 PDF 文件（或文件已损坏）。")
    if kind is None:
        raise refused
    if kind == "application/pdf":
        if not _pdf_parses(data):
            raise refused
        return Document(data, kind)
    try:
        return Document(_reencoded(data, kind), kind)
    except Exception as exc:  # Pillow raises many kinds for a broken or hostile image
        raise refused from exc


def _pdf_parses(data: bytes) -> bool:
    """The PDF's last ``startxref`` points at a cross-reference table (``xref``) or stream
    (``n g obj``) inside the file, and the file ends with ``%%EOF``."""
    import re

    tail = data[-2048:]
    if b"%%EOF" not in tail:
        return False
    found = re.findall(rb"startxref\s+(\d{1,12})\s+%%EOF", tail)
    if not found:
        return False
    offset = int(found[-1])
    if not 0 < offset < len(data):
        return False
    at = data[offset:offset + 64]
    return at.startswith(b"xref") or re.match(rb"\s*\d+\s+\d+\s+obj\b", at) is not None


def _reencoded(data: bytes, kind: str) -> bytes:
    from PIL import Image, ImageOps

    expected = {"image/jpeg": "JPEG", "image/png": "PNG"}[kind]
    with Image.open(io.BytesIO(data), formats=[expected]) as image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ValueError("too many pixels")
        image.load()
        image = ImageOps.exif_transpose(image)
        out = io.BytesIO()
        if expected == "JPEG":
            if image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            image.save(out, "JPEG", quality=90)
        else:
            image.save(out, "PNG")
    return out.getvalue()


def sealed(document: Document) -> ContentFile:
    """The document encrypted with the field key ring, ready for a private ``FileField``."""
    return ContentFile(crypto.encrypt_bytes(document.content))


def unsealed(field_file) -> bytes:
    with field_file.open("rb") as handle:
        return crypto.decrypt_bytes(handle.read())


def download(data: bytes, *, filename: str) -> HttpResponse:
    """A stored document sent back: always as a download, typed by its content (sniffed again,
    never the name or what the uploader claimed), never sniffed by the browser, never cached."""
    from django.utils.http import content_disposition_header

    kind = next((k for magic, k in SIGNATURES.items() if data.startswith(magic)), "application/octet-stream")
    stem = (filename.rsplit(".", 1)[0] if "." in filename else filename) or "document"
    name = f"{stem}.{EXTENSIONS[kind]}" if kind in EXTENSIONS else stem
    response = HttpResponse(data, content_type=kind)
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


def seal_stored_files(model, field: str) -> int:
    """Encrypt in place the files of ``model.field`` still stored in plaintext (data migrations of
    issue 13). A file that already decrypts is left alone; a missing file is skipped."""
    from cryptography.fernet import InvalidToken

    sealed_count = 0
    for row in model.objects.exclude(**{field: ""}).iterator(chunk_size=500):
        file = getattr(row, field)
        try:
            with file.open("rb") as handle:
                data = handle.read()
        except (FileNotFoundError, OSError):
            continue
        try:
            crypto.decrypt_bytes(data)
            continue
        except (InvalidToken, ValueError):
            pass
        path = file.path
        with open(path, "wb") as handle:
            handle.write(crypto.encrypt_bytes(data))
        sealed_count += 1
    return sealed_count
