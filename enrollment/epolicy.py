"""The e-policy PDF: one A4 page, Chinese text in the built-in STSong-Light CID font (no font
files to ship), ID number masked."""

from __future__ import annotations

from io import BytesIO

from django.conf import settings
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def render_pdf(policy) -> bytes:
    version, plan, person = policy.version, policy.plan, policy.person
    buffer = BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(f"电子保单 {policy.number}")
    width, height = A4
    y = height - 30 * mm
    pdf.setFont(FONT, 20)
    pdf.drawCentredString(width / 2, y, f"{version.program.city}·{version.program.name} 电子保单")
    y -= 10 * mm
    pdf.setFont(FONT, 11)
    pdf.drawCentredString(width / 2, y, version.name)
    rows = [
        ("保单号", policy.number),
        ("被保险人", person.name),
        ("身份证号", person.id_masked),
        ("保障方案", plan.name + (f"（{settings.SAMPLE_PLAN_LABEL}）" if plan.is_sample else "")),
        ("保费", f"{policy.premium} 元"),
        ("保障期间", f"{policy.coverage_start:%Y年%m月%d日}零时至{policy.coverage_end:%Y年%m月%d日}二十四时"),
        ("投保渠道", policy.get_channel_display()),
        ("保单状态", policy.state_label),
        ("条款版本", version.terms_version),
    ]
    y -= 15 * mm
    pdf.setFont(FONT, 12)
    for label, value in rows:
        pdf.drawString(25 * mm, y, f"{label}：")
        pdf.drawString(55 * mm, y, str(value))
        y -= 9 * mm
    y -= 5 * mm
    pdf.setFont(FONT, 12)
    pdf.drawString(25 * mm, y, "保险责任")
    y -= 8 * mm
    pdf.setFont(FONT, 10)
    for responsibility in plan.responsibilities.all():
        pdf.drawString(30 * mm, y, f"{responsibility.name}：年度限额 {responsibility.annual_limit} 元")
        y -= 7 * mm
    pdf.setFont(FONT, 9)
    pdf.drawString(25 * mm, 20 * mm, "本电子保单与纸质保单具有同等效力。出险后医保定点医院“一站式”结算，无需另行报案。")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def render_receipt(order) -> bytes:
    """The donation receipt of a paid organization or donor order: who gave, for which campaign,
    how many people, how much, and the invoice details."""
    buffer = BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(f"捐赠回执 {order.number}")
    width, height = A4
    y = height - 30 * mm
    pdf.setFont(FONT, 20)
    program = order.version.program
    pdf.drawCentredString(width / 2, y, f"{program.city}·{program.name} 捐赠投保回执")
    organization = order.organization
    people = order.policies.filter(status="active").count()
    rows = [
        ("订单号", order.number),
        ("捐赠方", organization.name if organization else "爱心人士"),
        ("统一社会信用代码", organization.credit_code if organization else "—"),
        ("发票抬头", (organization.invoice_title or organization.name) if organization else "个人"),
        ("活动", str(order.campaign) if order.campaign_id else order.get_channel_display()),
        ("产品", order.version.name),
        ("参保人数", f"{people} 人"),
        ("金额", f"{order.amount} 元"),
        ("支付时间", f"{order.paid_at:%Y年%m月%d日}" if order.paid_at else "—"),
    ]
    y -= 20 * mm
    pdf.setFont(FONT, 12)
    for label, value in rows:
        pdf.drawString(25 * mm, y, f"{label}：")
        pdf.drawString(65 * mm, y, str(value))
        y -= 9 * mm
    pdf.setFont(FONT, 9)
    pdf.drawString(25 * mm, 20 * mm, "感谢您对补充医疗保险的支持。本回执不作为税前扣除凭证，发票由承保公司另行开具。")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
