"""Resident sign-in with a one-time SMS code (real-name binding: ``enrollment.identity``).

Codes: 6 digits from ``secrets``, stored only as an HMAC (keyed with the blind-index key), valid for
5 minutes, 5 tries; a new code kills the older ones. Sending is rate-limited in Redis (Django's
cache): one a minute and ten a day per number, twenty an hour per IP address.
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from enrollment.models import Resident, SmsCode
from portal import crypto, sms

PHONE = re.compile(r"^1[3-9][0-9]{9}$")
NAME = re.compile(r"^[\u4e00-\u9fa5·A-Za-z][\u4e00-\u9fa5·A-Za-z ]{0,28}[\u4e00-\u9fa5A-Za-z]$")
CODE_TTL = timedelta(minutes=5)
MAX_TRIES = 5
VERIFY_FAILURES_PER_IP = 30
LIMITS = (  # (cache key pattern, window seconds, maximum, Chinese wait)
    ("sms:phone-minute:{phone}", 60, 1, "1分钟"),
    ("sms:phone-day:{phone}", 24 * 3600, 10, "24小时"),
    ("sms:ip-hour:{ip}", 3600, 20, "1小时"),
)


class AccountError(Exception):
    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


def _code_hash(phone: str, code: str) -> str:
    return crypto.blind_index(f"sms:{phone}:{code}")


def check_phone(phone: str) -> str:
    phone = (phone or "").strip().replace(" ", "")
    if not PHONE.match(phone):
        raise AccountError("phone_invalid", "请输入正确的11位手机号码。", "phone")
    return phone


def _rate_limit(phone: str, ip: str) -> None:
    """Count this send against every limit, refusing (and counting nothing) when one is full."""
    keys = [(pattern.format(phone=crypto.blind_index(phone), ip=ip or "unknown"), window, maximum, wait)
            for pattern, window, maximum, wait in LIMITS]
    for key, _window, maximum, wait in keys:
        if (cache.get(key) or 0) >= maximum:
            raise AccountError("too_many_codes", f"验证码发送过于频繁，请{wait}后再试。", "phone")
    for key, window, _maximum, _wait in keys:
        if cache.add(key, 1, timeout=window):
            continue
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window)


def code_send(*, phone: str, ip: str | None) -> None:
    phone = check_phone(phone)
    _rate_limit(phone, ip or "")
    code = f"{secrets.randbelow(10**6):06d}"
    now = timezone.now()
    with transaction.atomic():
        SmsCode.objects.by_phone(phone).filter(used_at__isnull=True).update(used_at=now)
        SmsCode.objects.create(phone_hash=crypto.blind_index(phone), phone_masked=sms.masked_phone(phone),
                               code_hash=_code_hash(phone, code), expires_at=now + CODE_TTL)
        transaction.on_commit(lambda: sms.send(phone=phone, template="login_code", code=code))


def code_verify(*, phone: str, code: str, ip: str | None = None) -> Resident:
    """The resident for this phone if ``code`` is its live code; creates the account on first use."""
    phone = code_check(phone=phone, code=code, ip=ip)
    return _resident_for(phone)


def code_check(*, phone: str, code: str, ip: str | None = None) -> str:
    """Use up ``code`` if it is this phone's live code (the phone is proven held); returns the phone.

    A wrong code costs one of the code's five tries (counted in the database, under a row lock, so
    parallel guesses cannot exceed five) and one of the IP address's 30 failures an hour."""
    phone = check_phone(phone)
    ip_key = f"sms:verify-fail:{ip or 'unknown'}"
    if (cache.get(ip_key) or 0) >= VERIFY_FAILURES_PER_IP:
        raise AccountError("locked", "验证失败次数过多，请1小时后再试。", "code")
    code = (code or "").strip()
    if not re.fullmatch(r"[0-9]{6}", code):
        raise AccountError("code_invalid", "请输入短信中的6位数字验证码。", "code")
    now = timezone.now()
    error = None
    with transaction.atomic():
        current = (
            SmsCode.objects.select_for_update()
            .by_phone(phone)
            .filter(used_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if current is None:
            error = AccountError("code_missing", "请先获取验证码。", "code")
        elif current.expires_at <= now:
            error = AccountError("code_expired", "验证码已过期，请重新获取。", "code")
        elif current.attempts >= MAX_TRIES:
            error = AccountError("code_dead", "验证码错误次数过多，请重新获取。", "code")
        elif not hmac.compare_digest(current.code_hash, _code_hash(phone, code)):
            SmsCode.objects.filter(pk=current.pk).update(attempts=F("attempts") + 1)
            left = MAX_TRIES - current.attempts - 1
            message = f"验证码不正确，还可尝试{left}次。" if left else "验证码错误次数过多，请重新获取。"
            error = AccountError("code_wrong", message, "code")
        else:
            current.used_at = now
            current.save(update_fields=["used_at"])
    if error is not None:
        if error.code == "code_wrong":
            if not cache.add(ip_key, 1, timeout=3600):
                cache.incr(ip_key)
        raise error
    return phone


def username_for(phone: str) -> str:
    """A resident's login name: the mobile's blind index, never the mobile (issue 13)."""
    return f"p:{crypto.blind_index(phone)}"


def _resident_for(phone: str) -> Resident:
    resident = Resident.objects.by_phone(phone).select_related("user", "person").first()
    if resident:
        return resident
    user_model = get_user_model()
    try:
        with transaction.atomic():
            user = user_model(username=username_for(phone))
            user.set_unusable_password()
            user.save()
            return Resident.objects.create(user=user, phone=phone)
    except IntegrityError:
        return Resident.objects.by_phone(phone).select_related("user", "person").get()
