"""Signing in with a mobile number and an SMS code (binding a real name: test_identity.py)."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from enrollment import accounts
from enrollment.models import Resident, SmsCode
from portal.integrations.sms.simulator.models import SmsMessage
from tests.factories import login_as, make_resident

pytestmark = pytest.mark.django_db
PHONE = "13812345678"


def last_code(phone=PHONE) -> str:
    return re.search(r"验证码为(\d{6})", SmsMessage.objects.to(phone).latest("sent_at").body).group(1)


def send(client, phone=PHONE, **extra):
    return client.post(reverse("enrollment:send_code"), {"phone": phone}, HTTP_HX_REQUEST="true", **extra)


def test_sending_a_code_answers_with_a_partial_and_stores_only_its_hash(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = send(client)
    page = response.content.decode()
    assert response.status_code == 200 and "验证码已发送至 138****5678" in page and "<html" not in page
    code = last_code()
    stored = SmsCode.objects.get()
    assert code not in stored.code_hash and len(stored.code_hash) == 64


@pytest.mark.parametrize("phone", ["", "1381234567", "23812345678", "138-1234-5678x", "12812345678"])
def test_a_bad_phone_number_is_refused_and_nothing_is_sent(client, phone):
    response = send(client, phone=phone)
    assert response.status_code == 422
    assert "请输入正确的11位手机号码" in response.content.decode()
    assert not SmsCode.objects.exists() and not SmsMessage.objects.exists()


def test_one_code_a_minute_per_number(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert send(client).status_code == 200
        response = send(client)
    assert response.status_code == 429 and "1分钟后再试" in response.content.decode()
    assert SmsCode.objects.count() == 1


def test_twenty_codes_an_hour_per_ip(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(20):
            assert send(client, phone=f"1391234{i:04d}").status_code == 200
        response = send(client, phone="13712345678")
    assert response.status_code == 429 and "1小时后再试" in response.content.decode()


def sign_in(client, code, phone=PHONE, next_url=""):
    return client.post(reverse("enrollment:login"), {"phone": phone, "code": code, "next": next_url})


def test_the_right_code_signs_in_and_a_new_account_goes_to_binding(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        send(client)
    response = sign_in(client, last_code(), next_url="/buy/wuwei-2025/")
    assert response.status_code == 302 and response["Location"] == "/account/bind/?next=/buy/wuwei-2025/"
    assert Resident.objects.by_phone(PHONE).get().person is None
    assert "_auth_user_id" in client.session


def test_a_code_works_once(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        send(client)
    code = last_code()
    sign_in(client, code)
    client.logout()
    response = sign_in(client, code)
    assert response.status_code == 422 and "请先获取验证码" in response.content.decode()


def test_a_wrong_code_says_how_many_tries_are_left_and_five_kill_it(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        send(client)
    code = last_code()
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        assert f"还可尝试{left}次" in sign_in(client, wrong).content.decode()
    assert "错误次数过多" in sign_in(client, wrong).content.decode()
    response = sign_in(client, code)  # even the right code is dead now
    assert response.status_code == 422 and "_auth_user_id" not in client.session
    assert not Resident.objects.exists()


def test_a_code_expires_after_five_minutes(client, django_capture_on_commit_callbacks):
    with time_machine.travel("2025-06-15 10:00 +08:00", tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            send(client)
    with time_machine.travel("2025-06-15 10:05:01 +08:00", tick=False):
        response = sign_in(client, last_code())
    assert "验证码已过期" in response.content.decode() and not Resident.objects.exists()


def test_a_new_code_kills_the_older_one(client, django_capture_on_commit_callbacks):
    with time_machine.travel("2025-06-15 10:00 +08:00", tick=False), django_capture_on_commit_callbacks(execute=True):
        send(client)
    first = last_code()
    with time_machine.travel("2025-06-15 10:02 +08:00", tick=False), django_capture_on_commit_callbacks(execute=True):
        send(client)
        second = last_code()
        if first != second:
            assert sign_in(client, first).status_code == 422
        assert sign_in(client, second).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_guesses_cannot_exceed_five():
    accounts.code_send(phone=PHONE, ip="10.0.0.1")
    code = SmsCode.objects.get()

    def guess(n):
        try:
            accounts.code_verify(phone=PHONE, code=f"{n:06d}", ip=f"10.0.1.{n}")
            return "ok"
        except accounts.AccountError as exc:
            return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(guess, range(900000, 900024)))
    code.refresh_from_db()
    assert code.attempts == 5
    assert outcomes.count("code_wrong") + outcomes.count("ok") <= 5


def test_thirty_wrong_codes_from_one_address_lock_it_out():
    phones = [f"1361234{i:04d}" for i in range(6)]
    for phone in phones:
        accounts.code_send(phone=phone, ip="198.51.100.7")
    codes = {phone: SmsCode.objects.by_phone(phone).get() for phone in phones}
    for phone in phones:  # five wrong guesses each: 30 failures from one address
        for _ in range(5):
            with pytest.raises(accounts.AccountError) as wrong:
                wrong_code = next(c for c in ("999999", "999998") if accounts._code_hash(phone, c) != codes[phone].code_hash)
                accounts.code_verify(phone=phone, code=wrong_code, ip="198.51.100.7")
            assert wrong.value.code == "code_wrong"
    with pytest.raises(accounts.AccountError) as locked:
        accounts.code_verify(phone=phones[0], code="123456", ip="198.51.100.7")
    assert locked.value.code == "locked" and "1小时后再试" in locked.value.message


@pytest.fixture
def signed_in_unbound(client, products):
    resident = make_resident(phone=PHONE, id_number=None)
    login_as(client, resident.user)
    return resident


def test_logout_is_post_only(client, signed_in_unbound):
    assert client.get(reverse("enrollment:logout")).status_code == 405
    assert client.post(reverse("enrollment:logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_the_sms_outbox_masks_numbers_unless_asked_for_one(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        send(client)
    page = client.get(reverse("sms_simulator:outbox")).content.decode()
    assert "138****5678" in page and PHONE not in page
    assert PHONE in client.get(reverse("sms_simulator:outbox") + f"?phone={PHONE}").content.decode()
