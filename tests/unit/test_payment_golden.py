"""Golden tests: the signature strings and ciphers of WeChat Pay API v3 and Alipay against published
examples, so neither the adapters nor the simulator can drift into a private dialect.

Sources (test vectors, kept here as data):
- WeChat Pay's documentation, 签名生成: the string to sign is
  ``HTTP method\\nURL\\ntimestamp\\nnonce\\nbody\\n``; its example is ``GET /v3/certificates`` at
  timestamp 1554208460 with nonce 593BEC0C930BF1AFEB40B4A08C8FB242 and an empty body, and the
  ``Authorization`` header is ``WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",signature="…",
  timestamp="…",serial_no="…"``.
- wechatpay-apiv3/wechatpay-go ``utils/aes_test.go`` (AEAD_AES_256_GCM: key, nonce, associated data,
  ciphertext → "Hello World") and ``utils/sign_test.go`` (SHA256withRSA of "source" with its test key).
- fzlee/alipay (python-alipay-sdk) ``tests/test.py``: RSA2 of ``"hello\\n"`` with its test app key
  equals ``openssl dgst -sha256 -sign``; ``tests/certs/app/app_private_key.pem``.
"""

import base64
import subprocess
from urllib.parse import parse_qsl

import pytest
import time_machine
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

WECHAT_AES = {"key": "testAPIv3Key0000", "nonce": "wCq51qZv4Yfg", "associated_data": "Dl56FrqWQJF1t9LtC3vEUsniZKvbqdR8",
              "ciphertext": "FsdXzxryWfKwvLJKf8LG/ToRPTRh8RN9wROC", "plaintext": "Hello World"}

WECHAT_GO_TEST_KEY = """-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDZUJN33V+dSfvd
fL0Mu+39XrZNXFFMQSy1V15FpncHeV47SmV0TzTqZc7hHB0ddqAdDi8Z5k3TKqb7
6sOwYr5TcAfuR6PIPaleyE0/0KrljBum2Isa2Nyq7Dgc3ElBQ6YN4l/a+DpvKaz1
FSKmKrhLNskqokWVSlu4g8OlKlbPXQ9ibII14MZRQrrkTmHYHzfi7GXXM0thAKuR
0HNvyhTHBh4/lrYM3GaMvmWwkwvsMavnOex6+eioZHBOb1/EIZ/LzC6zuHArPpyW
3daGaZ1rtQB1vVzTyERAVVFsXXgBHvfFud3w3ShsJYk8JvMwK2RpJ5/gV0QSARcm
LDRUAlPzAgMBAAECggEBAMc7rDeUaXiWv6bMGbZ3BTXpg1FhdddnWUnYE8HfX/km
OFI7XtBHXcgYFpcjYz4D5787pcsk7ezPidAj58zqenuclmjKnUmT3pfbI5eCA2v4
C9HnbYDrmUPK1ZcADtka4D6ScDccpNYNa1g2TFHzkIrEa6H+q7S3O2fqxY/DRVtN
0JIXalBb8daaqL5QVzSmM2BMVnHy+YITJWIkP2a3pKs9C0W65JGDsnG0wVrHinHF
+cnhFZIbaPEI//DAFMc9NkrWOKVRTEgcCUxCFaHOZVNxDWZD7A2ZfJB2rK6eg//y
gEiFDR2h6mTaDowMB4YF2n2dsIO4/dCG8vPHI20jn4ECgYEA/ZGu6lEMlO0XZnam
AZGtiNgLcCfM/C2ZERZE7QTRPZH1WdK92Al9ndldsswFw4baJrJLCmghjF/iG4zi
hhBvLnOLksnZUfjdumxoHDWXo2QBWbI5QsWIE7AuTiWgWj1I7X4fCXSQf6i+M/y2
6TogQ7d0ANpZFyOkTNMn/tiJvLECgYEA22XqlamG/yfAGWery5KNH2DGlTIyd6xJ
WtJ9j3jU99lZ0bCQ5xhiBbU9ImxCi3zgTsoqLWgA/p00HhNFNoUcTl9ofc0G3zwT
D1y0ZzcnVKxGJdZ6ohW52V0hJStAigtjYAsUgjm7//FH7PiQDBDP1Wa6xSRkDQU/
aSbQxvEE8+MCgYEA3bb8krW7opyM0XL9RHH0oqsFlVO30Oit5lrqebS0oHl3Zsr2
ZGgoBlWBsEzk3UqUhTFwm/DhJLTSJ/TQPRkxnhQ5/mewNhS9C7yua7wQkzVmWN+V
YeUGTvDGDF6qDz12/vJAgSwDDRym8x4NcXD5tTw7mmNRcwIfL22SkysThIECgYAV
BgccoEoXWS/HP2/u6fQr9ZIR6eV8Ij5FPbZacTG3LlS1Cz5XZra95UgebFFUHHtC
EY1JHJY7z8SWvTH8r3Su7eWNaIAoFBGffzqqSVazfm6aYZsOvRY6BfqPHT3p/H1h
Tq6AbBffxrcltgvXnCTORjHPglU0CjSxVs7awW3AEQKBgB5WtaC8VLROM7rkfVIq
+RXqE5vtJfa3e3N7W3RqxKp4zHFAPfr82FK5CX2bppEaxY7SEZVvVInKDc5gKdG/
jWNRBmvvftZhY59PILHO2X5vO4FXh7suEjy6VIh0gsnK36mmRboYIBGsNuDHjXLe
BDa+8mDLkWu5nHEhOxy2JJZl
-----END PRIVATE KEY-----
"""
WECHAT_GO_EXPECTED = (
    "BKyAfU4iMCuvXMXS0Wzam3V/cnxZ+JaqigPM5OhljS2iOT95OO6Fsuml2JkFANJU9K6q9bLlDhPXuoV"
    "z+pp4hAm6pHU4ld815U4jsKu1RkyaII+1CYBUYC8TK0XtJ8FwUXXz8vZHh58rrAVN1XwNyvD1vfpxrMT4SL536GLwvpUHlCqIMzoZUguLl"
    "i/K8V29QiOhuH6IEqLNJn8e9b3nwNcQ7be3CzYGpDAKBfDGPCqCv8Rw5zndhlffk2FEA70G4hvMwe51qMN/RAJbknXG23bSlObuTCN7Ndj"
    "1aJGH6/L+hdwfLpUtJm4QYVazzW7DFD27EpSQEqA8bX9+8m1rLg=="
)

ALIPAY_SDK_TEST_APP_KEY = """-----BEGIN RSA PRIVATE KEY-----
MIICWwIBAAKBgQCtuXpYzpJjTp2eIUk3D0Qvi/VJv7N/8m7QjpqczhQ67yWyJ7/A
5Mp1xqcEgMx/awl9svuzOO7291NeAGS0Nn1dwR/xqSkKke0ouo7tH+ECZgTka+nn
La6L246btoMot3+Il2Kq47m/mA5AnAlqVJXJBfB5fpHQVAWK2jlw1ZEUIwIDAQAB
AoGAJrpcjgOvGrhh5uigu8eJedgHnKNBztoq3g+MZDyEwgaiLq8xzjyy7cKVZSmZ
bSZdfUozVmbwztmgGiqYSJyFIc1vBcSV5jqIZqdPwiZyBPqGXup5jgaKColoO2rR
ZvJbl1HNVOPlZT8fYhI7KchrRAruxlmLYfdDjabcG2r7swECQQDTUzH9bQ0YqCju
/Co0GurPKX+NPLYuTSbm+NILihBRdKoMCjVKn6b6UUxdyDX+u2BVqC8c1TZlmmrt
+o5OoMLBAkEA0nNdPNwBq+XVJq6GrQqLS/F7WoP4ZiouMMcvoQGLjxrs412rOsrO
NSeA4ivTuZtALHc6Sm/T0EDqQzH7z2Qj4wJAcrpsHWYjAgvpjTWhxAAJEsc41Hjt
f12rjSHxBwrBqTdpSngQTp82jBevGgskJVOdDWPtj/3BNpALFYA92jo1AQJAP1jI
dPxIaITLD1SzZzzoRxjOJ6XXzHDf7IDYfl9nsdDKA3p7gzvurCNS8UF9/r2TqI7O
9f8JRAN2QHm4MWoUPwJAHaog7L3O3IAjJhKOQNPcPBAcoirDDZykbhY9FK465WNn
YxQn2ZlptGMSCZkLl0QXddZ+Acxv2Y5L2OGb620vsg==
-----END RSA PRIVATE KEY-----
"""


def _public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


# --- WeChat Pay ---------------------------------------------------------------------------------


def test_wechat_aes_gcm_decryption_matches_the_published_vector():
    from wechatpayv3.utils import aes_decrypt

    v = WECHAT_AES
    assert aes_decrypt(v["nonce"], v["ciphertext"], v["associated_data"], v["key"]) == v["plaintext"]
    assert aes_decrypt(v["nonce"], v["ciphertext"], v["associated_data"], "testAPIv3Key1111") is None  # wrong key


def test_the_simulators_encryption_is_what_the_sdk_decrypts(settings, tmp_path):
    from wechatpayv3.utils import aes_decrypt

    from portal.integrations.payments.simulator import keys, provider

    settings.PAYMENT_SIMULATOR_KEY_DIR = tmp_path
    keys._load.cache_clear()
    resource = provider.wechat_encrypt({"out_trade_no": "O1", "amount": {"total": 6900}}, "transaction", "transaction")
    assert resource["algorithm"] == "AEAD_AES_256_GCM" and len(resource["nonce"]) == 12
    plaintext = aes_decrypt(resource["nonce"], resource["ciphertext"], "transaction",
                            keys.material()["wechatpay_apiv3_key"])
    assert plaintext == '{"out_trade_no": "O1", "amount": {"total": 6900}}'


def test_sha256_with_rsa_matches_the_published_vector():
    from wechatpayv3.utils import load_private_key, rsa_sign

    from portal.integrations.payments.simulator import provider

    assert rsa_sign(load_private_key(WECHAT_GO_TEST_KEY), "source") == WECHAT_GO_EXPECTED
    assert provider.rsa_sign(WECHAT_GO_TEST_KEY, "source") == WECHAT_GO_EXPECTED
    assert provider.rsa_verify(_public_pem(WECHAT_GO_TEST_KEY), "source", WECHAT_GO_EXPECTED)


def test_the_request_signature_covers_the_documented_string():
    """The SDK signs ``GET\\n/v3/certificates\\n1554208460\\n593BEC…\\n\\n`` (the documentation's
    example) and writes the documented Authorization header; the simulator rebuilds the same string."""
    import re

    from wechatpayv3.utils import build_authorization, load_private_key

    from portal.integrations.payments.simulator import provider

    with time_machine.travel(1554208460, tick=False):
        header = build_authorization("/v3/certificates", "GET", "1900009191", "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C",
                                     load_private_key(WECHAT_GO_TEST_KEY), nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242")
    match = re.fullmatch(r'WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",'
                         r'signature="([^"]+)",timestamp="1554208460",serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C"',
                         header)
    assert match
    documented = "GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n"
    assert provider.rsa_verify(_public_pem(WECHAT_GO_TEST_KEY), documented, match.group(1))


def test_a_notification_signature_covers_timestamp_nonce_and_body():
    """WeChat Pay's answer and notification signature string is ``timestamp\\nnonce\\nbody\\n``."""
    from wechatpayv3.utils import load_public_key, rsa_verify

    from portal.integrations.payments.simulator import provider

    body = '{"id":"EV-2018022511223320873"}'
    signature = provider.rsa_sign(WECHAT_GO_TEST_KEY, f"1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n{body}\n")
    public = load_public_key(_public_pem(WECHAT_GO_TEST_KEY))
    assert rsa_verify("1554208460", "593BEC0C930BF1AFEB40B4A08C8FB242", body, signature, public)
    assert not rsa_verify("1554208460", "593BEC0C930BF1AFEB40B4A08C8FB242", body + " ", signature, public)


# --- Alipay -------------------------------------------------------------------------------------


@pytest.fixture
def sdk_client():
    from alipay import AliPay

    return AliPay(appid="appid", app_private_key_string=ALIPAY_SDK_TEST_APP_KEY,
                  alipay_public_key_string=_public_pem(ALIPAY_SDK_TEST_APP_KEY), sign_type="RSA2")


def test_alipay_rsa2_matches_openssl_as_the_sdks_own_test_does(sdk_client, tmp_path):
    key_file = tmp_path / "app_private_key.pem"
    key_file.write_text(ALIPAY_SDK_TEST_APP_KEY)
    expected = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key_file)], input=b"hello\n",
                              capture_output=True, check=True).stdout
    assert sdk_client._sign("hello\n") == base64.b64encode(expected).decode()


def test_the_simulators_rsa2_is_the_sdks(sdk_client):
    from portal.integrations.payments.simulator import provider

    assert provider.rsa_sign(ALIPAY_SDK_TEST_APP_KEY, "hello\n") == sdk_client._sign("hello\n")
    assert sdk_client._verify("hello\n", provider.rsa_sign(ALIPAY_SDK_TEST_APP_KEY, "hello\n"))


def test_the_simulator_verifies_what_the_sdk_signs_and_the_sdk_verifies_a_notification(sdk_client):
    """Requests: every parameter but ``sign``, sorted, ``k=v`` joined by ``&``. Notifications: the same
    without ``sign_type`` (the SDK's ``verify``)."""
    from portal.integrations.payments.simulator import provider

    query = sdk_client.client_api("alipay.trade.wap.pay", {"subject": "测试", "out_trade_no": "20170411145511",
                                                           "total_amount": "12.00", "product_code": "QUICK_WAP_WAY"},
                                  return_url="https://example.com/return", notify_url="https://example.com/notify")
    params = dict(parse_qsl(query))
    content = provider.alipay_content(params, exclude_sign_type=False)
    assert content.startswith("app_id=appid&biz_content={") and "&sign_type=RSA2&" in content
    assert provider.rsa_verify(_public_pem(ALIPAY_SDK_TEST_APP_KEY), content, params["sign"])

    notification = {"trade_no": "2017041121001004070200183979", "out_trade_no": "20170411145511",
                    "total_amount": "12.00", "app_id": "2016101100660467", "charset": "utf-8", "version": "1.0",
                    "sign_type": "RSA2", "notify_time": "2017-04-11 14:55:44", "trade_status": "TRADE_SUCCESS",
                    "notify_id": "4e5a35340926d9e4405f4f7b75b5d45gji", "notify_type": "trade_status_sync",
                    "subject": "测试"}
    signature = provider.rsa_sign(ALIPAY_SDK_TEST_APP_KEY, provider.alipay_content(notification, exclude_sign_type=True))
    assert sdk_client.verify(dict(notification), signature)
    assert not sdk_client.verify({**notification, "total_amount": "0.01"}, signature)


def test_fen_and_yuan_at_the_boundary_only():
    from decimal import Decimal

    from portal.integrations import payments

    assert payments.to_fen(Decimal("138.00")) == 13800 and payments.from_fen(13800) == Decimal("138.00")
    for wrong in ("138.00", 138.0, True, -1):
        with pytest.raises(ValueError):
            payments.from_fen(wrong)
    with pytest.raises(ValueError):
        payments.to_fen(Decimal("1.005"))
    assert payments.yuan("69.00") == Decimal("69.00")
    with pytest.raises(ValueError):
        payments.yuan("6900.001")


def test_signature_padding_is_pkcs1_v1_5_with_sha256():
    key = serialization.load_pem_private_key(WECHAT_GO_TEST_KEY.encode(), password=None)
    key.public_key().verify(base64.b64decode(WECHAT_GO_EXPECTED), b"source", padding.PKCS1v15(), hashes.SHA256())
