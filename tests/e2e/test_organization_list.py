"""An organization uploads a list of 200 rows with some bad ones, watches the worker's progress,
fixes nothing, confirms, pays on the simulator, and the report shows each row's outcome."""

import io
import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from enrollment import organizations, services
from enrollment.models import BeneficiaryList, BeneficiaryRow, Order, ProductVersion
from portal.integrations.sms.simulator.models import SmsMessage
from tests.factories import SELF_ID, make_id, make_resident, roster

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = "13812345678"


@pytest.fixture
def on_sale(products):
    today = timezone.localdate()
    version = services.version_copy(version=ProductVersion.objects.get(slug="wuwei-2025"), slug="wuwei-e2e",
                                    year=today.year + 1)
    version.sales_start, version.sales_end = today - timedelta(days=1), today + timedelta(days=30)
    version.coverage_start, version.coverage_end = date(today.year + 1, 1, 1), date(today.year + 1, 12, 31)
    version.save()
    services.version_publish(version=version)
    return version


def two_hundred_rows() -> bytes:
    lines = ["姓名,身份证号,手机号"]
    for n in range(192):
        id_number = make_id(f"620602198{n // 100}01{n % 28 + 1:02d}{n:03d}")
        name = "职工" + chr(0x4E00 + n)
        roster(id_number, name)
        lines.append(f"{name},{id_number},")
    lines += ["坏号甲,6.20602E+17,", "坏号乙,6.20602E+17,", "坏号丙,6.20602E+17,"]  # a spreadsheet's numbers
    lines += ["错位丁," + SELF_ID[:-1] + ("0" if SELF_ID[-1] != "0" else "1") + ","] * 2  # wrong check digit
    lines += [lines[1], lines[2], lines[3]]  # three duplicates of rows 2-4
    return ("\n".join(lines) + "\n").encode("gbk")


def test_an_organization_uploads_watches_confirms_pays_and_reads_the_report(phone, on_sale, worker, settings,
                                                                             tmp_path, monkeypatch):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    monkeypatch.setenv("PRIVATE_MEDIA_ROOT", str(tmp_path))  # the worker reads the same files
    roster(SELF_ID, "张桂兰")
    manager = make_resident(phone=PHONE)
    from stdnum.cn import uscc

    organization = organizations.organization_register(
        resident=manager, name="武威市示例建材有限公司", credit_code="91620600MA71X0AB3" + uscc.calc_check_digit(
            "91620600MA71X0AB3"), kind="employer", contact_name="马经理", contact_phone="0935-1234567")
    organization.approve()
    organization.save()

    phone.goto(f"/account/login/?next=/org/{organization.pk}/")
    phone.get_by_label("手机号").fill(PHONE)
    phone.get_by_role("button", name="获取验证码").click()
    phone.get_by_text("验证码已发送至 138****5678").wait_for()
    code = re.search(r"(\d{6})", SmsMessage.objects.to(PHONE).get().body).group(1)
    phone.get_by_label("验证码").fill(code)
    phone.get_by_role("button", name="登录").click()

    phone.get_by_role("heading", name="武威市示例建材有限公司").wait_for()
    phone.get_by_role("link", name="上传名单（单位统一投保）").click()
    phone.get_by_label("产品方案").select_option(str(on_sale.plans.get(code="basic").pk))
    phone.get_by_label("参保名单").set_input_files(
        files=[{"name": "职工名单.csv", "mimeType": "text/csv", "buffer": two_hundred_rows()}])
    phone.get_by_role("button", name="上传并校验").click()

    # No worker yet: the page shows the progress bar and polls it.
    phone.get_by_text(re.compile(r"正在校验：已完成 0 / 200 行")).wait_for()
    assert phone.locator("progress").count() == 1
    worker()
    phone.get_by_text(re.compile("共 200 行")).wait_for(timeout=60000)  # the page refreshed itself when done
    counts = {s: int(phone.locator(f'[data-count="{s}"]').inner_text()) for s in ("valid", "invalid")}
    assert counts == {"valid": 192, "invalid": 8}

    phone.get_by_label(re.compile("已向被保险人告知保险条款")).check()
    phone.get_by_role("button", name=re.compile("确认为 192 人下单")).click()
    phone.get_by_role("button", name=re.compile("微信支付")).click()
    phone.get_by_role("heading", name="收银台").wait_for()
    phone.get_by_role("button", name=re.compile("确认支付")).click()
    phone.get_by_text(re.compile("已支付，保单已出单")).wait_for(timeout=15000)
    assert Order.objects.get().status == Order.PAID
    assert phone.locator('[data-count="issued"]').inner_text() == "192"

    beneficiaries = BeneficiaryList.objects.get()
    with phone.expect_download() as download:
        phone.get_by_role("link", name=re.compile("下载逐行校验报告")).click()
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(open(download.value.path(), "rb").read())).active
    outcomes = {row[0]: (row[4], row[5]) for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert len(outcomes) == 200
    assert outcomes[2][0] == "已出单" and outcomes[194] == ("未通过", "id_as_number")
    assert outcomes[197] == ("未通过", "id_checksum") and outcomes[199][1] == "duplicate_in_file"
    assert beneficiaries.rows.filter(status=BeneficiaryRow.ISSUED).count() == 192

