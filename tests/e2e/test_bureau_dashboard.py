"""The bureau's viewer signs in, reads the dashboard, and picks another program year: the figures
swap in place (htmx), the chart is drawn without any script from elsewhere, and no person shows."""

from base64 import b32decode

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from enrollment.models import ProductVersion
from supervision.models import DistrictPopulation
from tests.factories import make_id, sold_policy, staff_user, totp_code

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def figures(products):
    for n, slug in enumerate(["wuwei-2025"] * 6 + ["weihai-2025"]):
        sold_policy(slug, f"参保人{'甲乙丙丁戊己庚'[n]}", make_id(f"62060219800101{n:02d}1"), number=str(n))
    wuwei = ProductVersion.objects.get(slug="wuwei-2025")
    DistrictPopulation.objects.create(program=wuwei.program, year=2025, region_code="620602", name="凉州区", eligible=30)


def test_the_bureau_filters_the_dashboard(phone, figures):
    staff_user("bureau", "医保局监管")
    requests = []
    phone.on("request", lambda request: requests.append(request.url))
    phone.goto("/supervision/")
    phone.get_by_label("用户名").fill("bureau")
    phone.get_by_label("密码").fill("staff-pass-2025")
    phone.get_by_role("button", name="登录").click()
    # First sign-in: enrol an authenticator from the key shown beside the QR code, keep the recovery codes.
    secret = phone.locator("#otp-secret").inner_text().replace(" ", "")
    phone.get_by_label("动态验证码或恢复码").fill(totp_code(TOTPDevice(key=b32decode(secret).hex())))
    phone.get_by_role("button", name="完成绑定").click()
    assert phone.locator("#recovery-codes li").count() == 10
    phone.get_by_role("link", name="我已保存恢复码，继续").click()

    phone.get_by_role("heading", name="监管看板").wait_for()
    wuwei = ProductVersion.objects.get(slug="wuwei-2025")
    phone.get_by_label("项目年度").select_option(str(wuwei.pk))
    phone.locator("#figures h2", has_text="天马·医惠保").wait_for()
    assert phone.locator('[data-figure="total"]').inner_text() == "6"
    assert phone.locator('[data-figure="rate"]').inner_text() == "20.00%"
    assert phone.locator("svg.trend polyline").count() == 1

    weihai = ProductVersion.objects.get(slug="weihai-2025")
    phone.get_by_label("项目年度").select_option(str(weihai.pk))
    phone.locator("#figures h2", has_text="威你保").wait_for()
    assert phone.locator('[data-figure="total"]').inner_text() == "<5"  # 1 person: suppressed
    assert f"version={weihai.pk}" in phone.url  # the filter is in the address, to share or reload
    assert "参保人甲" not in phone.content()
    assert all(url.startswith(phone.url.split("/supervision")[0]) for url in requests)  # nothing from a CDN
