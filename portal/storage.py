"""Private file storage: documents residents and organizations upload (settlement sheets,
beneficiary lists). On disk under ``PRIVATE_MEDIA_ROOT``, outside any served URL (``url()``
refuses); read only through views that check who asks."""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage


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
