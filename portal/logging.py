"""A logging filter that masks resident ID numbers in every log line (first 6 + last 4)."""

import logging
import re

from enrollment.idnumber import mask

# 18 characters shaped like a resident ID (region, a 19xx/20xx birth date, sequence, check
# character), not part of a longer word or number such as an order number.
ID_PATTERN = re.compile(
    r"(?<![0-9A-Za-z])[1-8][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx](?![0-9A-Za-z])"
)


def mask_ids(text: str) -> str:
    return ID_PATTERN.sub(lambda m: mask(m.group(0)), text)


class MaskIdNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_ids(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
