"""Logging filters: resident ID numbers (first 6 + last 4) and mobile numbers (first 3 + last 4)
masked in every log line, paths and query strings included; the request id
on every line; one line per failed request, bounded under a storm."""

import contextvars
import logging
import re
import threading
import time
import traceback

from enrollment.idnumber import mask

# Not part of a longer word or number (an order number), but possibly right after a
# percent-encoded character of a URL (``%20620602…``).
_START = r"(?:(?<![0-9A-Za-z])|(?<=%[0-9A-Fa-f]{2}))"
_END = r"(?![0-9A-Za-z])"
# 18 characters shaped like a resident ID (region, a 19xx/20xx birth date, sequence, check
# character).
ID_PATTERN = re.compile(
    _START + r"[1-8][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]" + _END
)
# A mainland mobile number, 11 digits from 13x to 19x, with or without +86 / 86.
MOBILE_PATTERN = re.compile(_START + r"(?:\+?86)?(1[3-9][0-9])([0-9]{4})([0-9]{4})" + _END)


def mask_ids(text: str) -> str:
    return ID_PATTERN.sub(lambda m: mask(m.group(0)), text)


def mask_mobiles(text: str) -> str:
    return MOBILE_PATTERN.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def mask_personal(text: str) -> str:
    """ID numbers (first 6 + last 4) and mobile numbers (first 3 + last 4) masked wherever they occur:
    messages, paths and query strings, exception texts."""
    return mask_mobiles(mask_ids(text))


class MaskIdNumbers(logging.Filter):
    """Masks ID numbers and mobile numbers in the record's message (see also ``LineFormatter``,
    which masks the whole formatted line, tracebacks included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personal(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


MaskPersonalData = MaskIdNumbers


# --- Request ids and failures: one line each, bounded under a storm (issue 18) -------------------

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RequestContext(logging.Filter):
    """Puts the current request's id (``portal.errors.RequestIdMiddleware``) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class OneLinePerFailure(logging.Filter):
    """A failed request is one line: the message, then the exception's type and first line.

    An outage (database or cache unreachable: ``portal.errors.is_outage``) never carries a
    traceback; any other exception keeps its own traceback (unchained, see ``LineFormatter``) once
    per ``TRACEBACK_EVERY`` seconds per place it was raised. Under a storm at most ``BURST`` warning
    and error lines pass per second in a process; the others are counted and the count rides on
    the next line that passes."""

    BURST = 20
    TRACEBACK_EVERY = 60.0

    def __init__(self, name: str = ""):
        super().__init__(name)
        self._lock = threading.Lock()
        self._window, self._in_window, self._suppressed = 0, 0, 0
        self._tracebacks: dict[tuple, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        now = time.monotonic()
        with self._lock:
            if int(now) != self._window:
                self._window, self._in_window = int(now), 0
            self._in_window += 1
            if self._in_window > self.BURST:
                self._suppressed += 1
                return False
            suppressed, self._suppressed = self._suppressed, 0
        message = record.getMessage()
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            message = f"{message} [{type(exc).__module__}.{type(exc).__qualname__}: {first}]"
            if self._traceback_due(exc, now):
                record.exc_text = None
            else:
                record.exc_info, record.exc_text = None, None
        if suppressed:
            message += f" ({suppressed} lines suppressed since the last one)"
        record.msg, record.args = message, None
        return True

    def _traceback_due(self, exc: BaseException, now: float) -> bool:
        from portal.errors import is_outage

        if is_outage(exc):
            return False
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        place = (type(exc), tb.tb_frame.f_code.co_filename if tb else "", tb.tb_lineno if tb else 0)
        with self._lock:
            if now - self._tracebacks.get(place, -self.TRACEBACK_EVERY) < self.TRACEBACK_EVERY:
                return False
            self._tracebacks[place] = now
        return True


class LineFormatter(logging.Formatter):
    """Tracebacks without their chain ("During handling of the above exception…"); every line it
    writes is masked (``mask_personal``), whatever logger or handler produced the record."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_personal(super().format(record))

    def formatException(self, ei) -> str:
        return "".join(traceback.format_exception(ei[0], ei[1], ei[2], chain=False)).rstrip("\n")
