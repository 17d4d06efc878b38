"""Who sees which dashboard, the htmx filter, exports, the resident's tickets, the service admin."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from enrollment.models import CoInsurer, ProductVersion
from supervision.models import DistrictPopulation, FollowUpVisit, InsurerStaff, Ticket
from tests.documents import PDF, PNG
from tests.factories import login_as, make_id, make_resident, sold_policy, staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def figures(products):
    """Two Wuwei policies (in 凉州区, one named so it would show if a page leaked a person) and a Weihai one."""
    for n, (slug, region, name) in enumerate((("wuwei-2025", "620602", "柳如烟"), ("wuwei-2025", "620602", "顾北辰"),
                                              ("weihai-2025", "371002", "王建国")), start=1):
        sold_policy(slug, name, make_id(f"{region}19800101{n:02d}1"), number=str(n))
    wuwei = ProductVersion.objects.get(slug="wuwei-2025")
    DistrictPopulation.objects.create(program=wuwei.program, year=2025, region_code="620602", name="=凉州区", eligible=20)
    return wuwei


def test_anonymous_viewers_are_sent_to_sign_in_and_residents_are_refused(client, figures):
    response = client.get(reverse("supervision:dashboard"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    login_as(client, make_resident().user)
    assert client.get(reverse("supervision:dashboard")).status_code == 403
    login_as(client, staff_user("service", "客服"))
    assert client.get(reverse("supervision:dashboard")).status_code == 403


def test_the_bureau_sees_every_program_in_aggregate_only(client, figures):
    login_as(client, staff_user("bureau", "医保局监管"))
    page = client.get(reverse("supervision:dashboard"), {"version": figures.pk}).content.decode()
    assert "天马·医惠保" in page and "威你保" in page  # both programs in the filter
    # 2 of 20 in 凉州区: suppressed on the screen as in the exports
    assert 'data-figure="total">&lt;5<' in page and "10.00%" not in page
    assert "柳如烟" not in page and "顾北辰" not in page and "620602********" not in page
    assert client.get(reverse("admin:supervision_ticket_changelist")).status_code in (302, 403)


def test_an_insurers_staff_see_only_their_program(client, figures):
    user = staff_user("insurer", "保险公司")
    InsurerStaff.objects.create(user=user, coinsurer=CoInsurer.objects.filter(program__code="weihai").first())
    login_as(client, user)
    page = client.get(reverse("supervision:dashboard"), {"version": figures.pk}).content.decode()
    assert "威你保" in page and "天马·医惠保" not in page  # asking for Wuwei shows their own program
    export = client.get(reverse("supervision:export", args=["channels", "csv"]), {"version": figures.pk})
    assert "weihai" in export["Content-Disposition"]


def test_the_filter_swaps_only_the_figures(client, figures):
    login_as(client, staff_user("bureau", "医保局监管"))
    weihai = ProductVersion.objects.get(slug="weihai-2025")
    partial = client.get(reverse("supervision:dashboard"), {"version": weihai.pk}, HTTP_HX_REQUEST="true")
    text = partial.content.decode()
    assert text.lstrip().startswith('<div id="figures">') and "<html" not in text
    assert "威你保" in text and 'data-figure="total">&lt;5<' in text


def test_the_screen_states_when_its_figures_were_computed_and_the_exports_are_current(client, figures):
    login_as(client, staff_user("bureau", "医保局监管"))
    page = client.get(reverse("supervision:dashboard"), {"version": figures.pk}).content.decode()
    assert "数据更新于" in page and 'data-figure="total">&lt;5<' in page
    for n in range(3, 7):
        sold_policy("wuwei-2025", f"参保人{n}", make_id(f"62060219800101{n:02d}1"), number=f"W{n}")
    # Within the minute the screen shows the figures it stated the time of; the export is computed now.
    page = client.get(reverse("supervision:dashboard"), {"version": figures.pk}).content.decode()
    assert 'data-figure="total">&lt;5<' in page
    csv = client.get(reverse("supervision:export", args=["districts", "csv"]), {"version": figures.pk})
    assert csv.content.decode("utf-8-sig").splitlines()[1] == "'=凉州区,6,20,30.00%"


def test_exports_suppress_small_cells_and_escape_formulas(client, figures):
    login_as(client, staff_user("bureau", "医保局监管"))
    csv = client.get(reverse("supervision:export", args=["districts", "csv"]), {"version": figures.pk})
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "区县,参保人数,基本医保参保人数,参保率"
    assert lines[1] == "'=凉州区,<5,20,<5"
    xlsx = client.get(reverse("supervision:export", args=["money", "xlsx"]), {"version": figures.pk})
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[1]][:3] == ["期间", "参保人数", "保费收入"]
    assert client.get(reverse("supervision:export", args=["nothing", "csv"])).status_code == 404


def test_a_resident_opens_a_ticket_with_an_attachment_and_reads_the_reply(client, products, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    resident = make_resident()
    login_as(client, resident.user)
    bad = client.post(reverse("supervision:tickets"), {
        "kind": "complaint", "subject": "理赔太慢", "body": "等了很久",
        "attachment": SimpleUploadedFile("a.pdf", b"not a pdf")})
    assert bad.status_code == 422 and "不是 JPG、PNG 或 PDF" in bad.content.decode() and not Ticket.objects.exists()
    client.post(reverse("supervision:tickets"), {"kind": "complaint", "subject": "理赔太慢", "body": "等了很久",
                                                 "attachment": SimpleUploadedFile("单据.pdf", PDF)})
    ticket = Ticket.objects.get()
    assert abs(ticket.respond_by - ticket.created_at - timezone.timedelta(hours=24)) < timezone.timedelta(seconds=5)
    assert client.get(reverse("supervision:attachment", args=[ticket.number, ticket.messages.get().pk])).status_code == 200

    agent = staff_user("agent", "客服")
    login_as(client, agent)
    assert client.get(reverse("admin:supervision_ticket_changelist"), {"sla": "overdue"}).status_code == 200
    download = reverse("admin:supervision_ticket_attachment", args=[ticket.pk, ticket.messages.get().pk])
    assert download in client.get(reverse("admin:supervision_ticket_change", args=[ticket.pk])).content.decode()
    assert client.get(download).content == PDF
    client.post(reverse("admin:supervision_ticket_reply", args=[ticket.pk]), {"body": "已加急处理", "status": "waiting"})
    ticket.refresh_from_db()
    assert ticket.first_response_at and ticket.assignee == agent and ticket.status == Ticket.WAITING

    login_as(client, resident.user)
    page = client.get(reverse("supervision:ticket", args=[ticket.number])).content.decode()
    assert "已加急处理" in page and "待居民补充" in page
    client.post(reverse("supervision:ticket", args=[ticket.number]), {"body": "补充材料"})
    ticket.refresh_from_db()
    assert ticket.status == Ticket.IN_PROGRESS

    login_as(client, make_resident(phone="13700000009", name=None, id_number=None).user)
    assert client.get(reverse("supervision:ticket", args=[ticket.number])).status_code in (302, 404)


def test_an_attachment_is_checked_by_content_kept_sealed_and_served_only_as_a_download(
        client, products, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    client.force_login(make_resident().user)

    def open_ticket(name, data):
        return client.post(reverse("supervision:tickets"), {"kind": "enquiry", "subject": "咨询", "body": "见附件",
                                                            "attachment": SimpleUploadedFile(name, data)})

    page = b"%PDF-1.4\n<html><script>alert(document.cookie)</script></html>"
    for name, data in (("x.html", page), ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>'), ("x.pdf", page),
                       ("x.png", b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script>")):
        refused = open_ticket(name, data)
        assert refused.status_code == 422 and "附件：" in refused.content.decode(), name
    assert not Ticket.objects.exists()

    # A real photo with a page appended: kept re-encoded (nothing after the pixels), encrypted on disk.
    assert open_ticket("photo.html.png", PNG + b"<html><script>alert(1)</script></html>").status_code == 302
    message = Ticket.objects.get().messages.get()
    on_disk = (tmp_path / message.attachment.name).read_bytes()
    assert b"PNG" not in on_disk and b"<html>" not in on_disk
    response = client.get(reverse("supervision:attachment", args=[message.ticket.number, message.pk]))
    assert response["Content-Type"] == "image/png" and response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;") and "photo.html.png" in response[
        "Content-Disposition"]
    assert response.content.startswith(b"\x89PNG") and b"<html>" not in response.content
    assert Image.open(io.BytesIO(response.content)).size == (8, 8)


def test_customer_service_draws_and_records_visits(client, figures):
    login_as(client, staff_user("agent", "客服"))
    client.post(reverse("admin:supervision_followupvisit_draw"), {
        "program": figures.program.pk, "purpose": "buyer", "start": "2025-06-01", "end": "2025-06-30", "count": "5"})
    visits = list(FollowUpVisit.objects.all())
    assert len(visits) == 2
    change = reverse("admin:supervision_followupvisit_change", args=[visits[0].pk])
    missing = client.post(change, {"outcome": "reached", "satisfaction": "", "notes": ""})
    assert missing.status_code == 200 and "满意度" in missing.content.decode()
    client.post(change, {"outcome": "reached", "satisfaction": "4", "notes": "很满意"})
    visits[0].refresh_from_db()
    assert visits[0].satisfaction == 4 and visits[0].called_by.username == "agent"


def test_staff_import_district_populations(client, figures):
    login_as(client, staff_user("admin", superuser=True))
    assert "基本医保参保人数 20 " in client.get(reverse("supervision:dashboard"), {"version": figures.pk}).content.decode()
    data = "行政区划码,区县,基本医保参保人数\n620602,凉州区,1000\n620621,民勤县,200\n".encode("gbk")
    client.post(reverse("admin:supervision_districtpopulation_import"), {
        "program": figures.program.pk, "year": "2025", "file": SimpleUploadedFile("人口.csv", data)})
    assert sorted(DistrictPopulation.objects.values_list("name", "eligible")) == [("凉州区", 1000), ("民勤县", 200)]
    # The dashboard counts against the imported populations at once, not a minute later.
    assert "基本医保参保人数 1200 " in client.get(reverse("supervision:dashboard"), {"version": figures.pk}).content.decode()
