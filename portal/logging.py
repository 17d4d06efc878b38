"""A logging filter that masks resident ID numbers in every log line (first 6 + last 4)."""

import logging
import re

from enrollment.idnumber import mask

# 18 characters: 17 digits and a digit or X, not inside a longer run of digits.
ID_PATTERN = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")


def mask_ids(text: str) -> str:
    return ID_PATTERN.sub(lambda m: mask(m.group(0)), text)


class MaskIdNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_ids(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
