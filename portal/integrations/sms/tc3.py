"""TC3-HMAC-SHA256, Tencent Cloud API 3.0's request signature, written out for the SMS simulator
(which must check what the SDK signed) and for the golden test against Tencent's documented example.

The signing key chain is the SDK's own (``tencentcloud.common.sign.Sign.sign_tc3``); this module
builds the canonical request and the string to sign exactly as the SDK does for a POST with a JSON
body (signed headers ``content-type;host``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from tencentcloud.common.sign import Sign

ALGORITHM = "TC3-HMAC-SHA256"
AUTHORIZATION = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<secret_id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[a-z]+)/tc3_request, "
    r"SignedHeaders=(?P<signed_headers>[a-z;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


def canonical_request(*, method: str, uri: str, query: str, content_type: str, host: str, payload: bytes) -> str:
    headers = f"content-type:{content_type}\nhost:{host}\n"
    return "\n".join([method, uri, query, headers, "content-type;host", hashlib.sha256(payload).hexdigest()])


def string_to_sign(*, timestamp: int, service: str, canonical: str) -> str:
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{date}/{service}/tc3_request\n{digest}"


def signature(*, secret_key: str, timestamp: int, service: str, canonical: str) -> str:
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    return Sign.sign_tc3(secret_key, date, service, string_to_sign(timestamp=timestamp, service=service,
                                                                  canonical=canonical))


def authorization(*, secret_id: str, secret_key: str, timestamp: int, service: str, canonical: str) -> str:
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    sig = signature(secret_key=secret_key, timestamp=timestamp, service=service, canonical=canonical)
    return f"{ALGORITHM} Credential={secret_id}/{date}/{service}/tc3_request, SignedHeaders=content-type;host, Signature={sig}"


@dataclass(frozen=True)
class Authorization:
    secret_id: str
    date: str
    service: str
    signed_headers: str
    signature: str


def parse_authorization(value: str) -> Authorization | None:
    match = AUTHORIZATION.match(value or "")
    return Authorization(**match.groupdict()) if match else None


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
