"""TC3-HMAC-SHA256 against the worked example of Tencent Cloud's "签名方法 v3" document (CVM
DescribeInstances, 2019-02-25): the simulator's check cannot drift into a private dialect."""

import hashlib

from tencentcloud.common.sign import Sign

from portal.integrations.sms import tc3

SECRET_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******"
SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3*******"
TIMESTAMP = 1551113065
PAYLOAD = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'


def canonical():
    return tc3.canonical_request(method="POST", uri="/", query="", content_type="application/json; charset=utf-8",
                                 host="cvm.tencentcloudapi.com", payload=PAYLOAD)


def test_the_documented_canonical_request_and_string_to_sign():
    assert hashlib.sha256(PAYLOAD).hexdigest() == "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    assert canonical() == ("POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n"
                           "content-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064")
    assert tc3.string_to_sign(timestamp=TIMESTAMP, service="cvm", canonical=canonical()) == (
        "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031")


def test_the_documented_signature_and_authorization_header():
    expected = "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
    assert tc3.signature(secret_key=SECRET_KEY, timestamp=TIMESTAMP, service="cvm", canonical=canonical()) == expected
    header = tc3.authorization(secret_id=SECRET_ID, secret_key=SECRET_KEY, timestamp=TIMESTAMP, service="cvm",
                               canonical=canonical())
    assert header == (f"TC3-HMAC-SHA256 Credential={SECRET_ID}/2019-02-25/cvm/tc3_request, "
                      f"SignedHeaders=content-type;host, Signature={expected}")
    parsed = tc3.parse_authorization(header)
    assert (parsed.secret_id, parsed.date, parsed.service, parsed.signature) == (SECRET_ID, "2019-02-25", "cvm", expected)


def test_the_sdk_key_chain_is_the_one_used():
    string = tc3.string_to_sign(timestamp=TIMESTAMP, service="cvm", canonical=canonical())
    assert Sign.sign_tc3(SECRET_KEY, "2019-02-25", "cvm", string) == (
        "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c")
