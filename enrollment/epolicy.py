"""The e-policy PDF: one A4 page, Chinese text in the built-in STSong-Light CID font (no font
files to ship), ID number masked."""

from __future__ import annotations

from io import BytesIO

from django.conf import settings
from django.utils import timezone
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


def receipt_content(order) -> tuple[str, list[tuple[str, str]], str]:
    """The receipt of a paid organization or donor order, by channel: an employer or a collective
    paying for its own people gets a premium receipt (团体投保保费凭证) with the tax year's payroll
    and cumulative figures, usable for the 5%-of-payroll deduction; every other payer (a 四心
    organizer, a charity, an individual donor) gets the donation receipt. Returns the title, the
    rows and the footnote."""
    from enrollment import selectors

    program = order.version.program
    organization = order.organization
    people = order.policies.filter(status="active").count()
    paid = f"{timezone.localtime(order.paid_at):%Y年%m月%d日}" if order.paid_at else "—"
    if order.channel in order.GROUP_PREMIUM_CHANNELS and organization is not None:
        f = selectors.group_receipt_figures(order)
        undeclared = "未申报（请在单位页面申报本年度职工工资总额）"
        rows = [
            ("凭证号", order.number),
            ("投保单位", organization.name),
            ("统一社会信用代码", organization.credit_code),
            ("单位类型", organization.get_kind_display()),
            ("发票抬头", organization.invoice_title or organization.name),
            ("产品", order.version.name),
            ("参保职工/成员人数", f"{people} 人"),
            ("本单保费", f"{order.amount} 元"),
            ("支付时间", paid),
            ("纳税年度", f"{f['year']}年"),
            ("本年度职工工资总额", f"{f['payroll']} 元" if f["payroll"] is not None else undeclared),
            ("税前扣除限额（工资总额5%）", f"{f['cap']} 元" if f["cap"] is not None else "—"),
            ("本年度累计团体保费（含本单）", f"{f['cumulative']} 元"),
            ("累计占工资总额比例", f"{f['share']}%" if f["share"] is not None else "—"),
            ("超出限额部分", f"{f['over']} 元" if f["over"] is not None else "—"),
        ]
        footer = ("企业为全体职工支付的补充医疗保险费，不超过职工工资总额5%标准内的部分准予在企业所得税税前扣除；"
                  "以税务机关认定为准。本凭证为保费支付凭证，发票由承保公司另行开具。")
        return f"{program.city}·{program.name} 团体投保保费凭证", rows, footer
    rows = [
        ("订单号", order.number),
        ("捐赠方", organization.name if organization else "爱心人士"),
        ("统一社会信用代码", organization.credit_code if organization else "—"),
        ("发票抬头", (organization.invoice_title or organization.name) if organization else "个人"),
        ("活动", str(order.campaign) if order.campaign_id else order.get_channel_display()),
        ("产品", order.version.name),
        ("参保人数", f"{people} 人"),
        ("金额", f"{order.amount} 元"),
        ("支付时间", paid),
    ]
    footer = "感谢您对补充医疗保险的支持。本回执不作为税前扣除凭证，发票由承保公司另行开具。"
    return f"{program.city}·{program.name} 捐赠投保回执", rows, footer


def render_receipt(order) -> bytes:
    title, rows, footer = receipt_content(order)
    buffer = BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(f"{title.split(' ')[-1]} {order.number}")
    width, height = A4
    y = height - 30 * mm
    pdf.setFont(FONT, 18)
    pdf.drawCentredString(width / 2, y, title)
    y -= 20 * mm
    pdf.setFont(FONT, 11)
    for label, value in rows:
        pdf.drawString(22 * mm, y, f"{label}：")
        pdf.drawString(80 * mm, y, str(value))
        y -= 8 * mm
    pdf.setFont(FONT, 8)
    pdf.drawString(22 * mm, 24 * mm, footer[:60])
    pdf.drawString(22 * mm, 20 * mm, footer[60:])
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
