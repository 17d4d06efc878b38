"""Staff import the simulated registry's roster in the admin: CSV (UTF-8, BOM, GBK) or XLSX."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from portal.simulators.models import RosterEntry
from tests.factories import MOTHER_ID, SELF_ID

pytestmark = pytest.mark.django_db
HEADER = "姓名,身份证号,参保状态,参保地区码,险种,医疗救助对象,退役军人,新生儿,个人账户余额"
ROWS = [f"张桂兰,{SELF_ID},参保缴费正常,620602,城乡居民医保,否,否,否,0.00",
        f"李秀英,{MOTHER_ID},暂停参保,620602,职工医保,是,否,否,12.50"]
URL = reverse("admin:simulators_rosterentry_import")


def upload(admin_client, name, data):
    return admin_client.post(URL, {"file": SimpleUploadedFile(name, data)})


def csv_bytes(rows=ROWS, encoding="utf-8"):
    return "\n".join([HEADER, *rows]).encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_each_encoding_is_imported(admin_client, encoding):
    response = upload(admin_client, "roster.csv", csv_bytes(encoding=encoding))
    assert response.status_code == 302
    mother = RosterEntry.objects.get(name="李秀英")
    assert (mother.status, mother.category, mother.medical_assistance, str(mother.account_balance)) == (
        "suspended", "employee", True, "12.50")
    assert mother.id_masked == MOTHER_ID[:6] + "********" + MOTHER_ID[-4:]


def test_xlsx_is_imported_and_the_template_round_trips(admin_client):
    template = admin_client.get(reverse("admin:simulators_rosterentry_template"))
    book = load_workbook(io.BytesIO(template.content))
    assert [c.value for c in book.active[1]][:2] == ["姓名", "身份证号"]
    book.active.append(["李秀英", MOTHER_ID, "参保缴费正常", "620602", "城乡居民医保", "否", "否", "否", "0"])
    buffer = io.BytesIO()
    book.save(buffer)
    assert upload(admin_client, "roster.xlsx", buffer.getvalue()).status_code == 302
    assert RosterEntry.objects.count() == 2


def test_a_reimport_updates_instead_of_duplicating(admin_client):
    upload(admin_client, "roster.csv", csv_bytes())
    changed = [ROWS[0].replace("参保缴费正常", "未参保")]
    upload(admin_client, "roster.csv", csv_bytes(changed))
    assert RosterEntry.objects.count() == 2
    assert RosterEntry.objects.get(name="张桂兰").status == "not_insured"


def test_a_bad_check_digit_on_row_3_refuses_the_whole_file(admin_client):
    bad = ROWS[1].replace(MOTHER_ID, MOTHER_ID[:-1] + ("1" if MOTHER_ID[-1] != "1" else "2"))
    response = upload(admin_client, "roster.csv", csv_bytes([ROWS[0], bad]))
    page = response.content.decode()
    assert response.status_code == 422 and "第3行“身份证号”" in page and "校验位" in page
    assert not RosterEntry.objects.exists()


def test_ids_turned_into_numbers_by_a_spreadsheet_are_refused_without_guessing(admin_client):
    book = Workbook()
    book.active.append(HEADER.split(","))
    book.active.append(["张桂兰", 6.20602197505201e17, "参保缴费正常", "620602", "城乡居民医保", "否", "否", "否", 0])
    buffer = io.BytesIO()
    book.save(buffer)
    response = upload(admin_client, "roster.xlsx", buffer.getvalue())
    assert response.status_code == 422 and "被表格软件转成了数字" in response.content.decode()
    assert not RosterEntry.objects.exists()


def test_an_unreadable_encoding_is_explained(admin_client):
    response = upload(admin_client, "roster.csv", "姓名,身份证号".encode("utf-16"))
    assert response.status_code == 422 and "编码无法识别" in response.content.decode()


def test_a_missing_column_is_named(admin_client):
    response = upload(admin_client, "roster.csv", f"姓名,身份证号\n张桂兰,{SELF_ID}".encode())
    assert response.status_code == 422 and "缺少必需的列：参保状态、参保地区码、险种" in response.content.decode()


def test_the_roster_is_searched_by_a_full_id_through_the_blind_index(admin_client):
    upload(admin_client, "roster.csv", csv_bytes())
    # The search box posts the term; the changelist is opened with a token, never the number.
    found = admin_client.post("/admin/search/", {"q": MOTHER_ID,
                                                 "changelist": reverse("admin:simulators_rosterentry_changelist")})
    assert found.status_code == 302 and MOTHER_ID not in found["Location"]
    page = admin_client.get(found["Location"]).content.decode()
    assert "李秀英" in page and "张桂兰" not in page
    assert MOTHER_ID[:6] + "********" + MOTHER_ID[-4:] in page  # the row shows the masked form


def test_join_date_hardship_and_family_binding_are_imported_and_checked(admin_client):
    from datetime import date

    from portal import crypto

    header = HEADER + ",参保日期,困难身份,家庭共济绑定"
    rows = [f"张桂兰,{SELF_ID},参保缴费正常,620602,城乡居民医保,否,否,否,0.00,2025-03-01,低保对象、防返贫监测,",
            f"李秀英,{MOTHER_ID},参保缴费正常,620602,职工医保,否,否,否,12.50,,,{SELF_ID}"]
    assert upload(admin_client, "roster.csv", "\n".join([header, *rows]).encode()).status_code == 302
    self_entry, mother = RosterEntry.objects.get(name="张桂兰"), RosterEntry.objects.get(name="李秀英")
    assert (self_entry.joined_on, self_entry.hardship) == (date(2025, 3, 1), ["dibao", "monitored"])
    assert mother.family_hashes == [crypto.blind_index(SELF_ID)] and mother.joined_on is None
    bad = [f"张桂兰,{SELF_ID},参保缴费正常,620602,城乡居民医保,否,否,否,0.00,2025-13-01,富裕,{SELF_ID[:-1]}0"]
    response = upload(admin_client, "roster.csv", "\n".join([header, *bad]).encode())
    page = response.content.decode()
    assert response.status_code == 422
    assert "“参保日期”" in page and "“困难身份”" in page and "“家庭共济绑定”" in page
