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
