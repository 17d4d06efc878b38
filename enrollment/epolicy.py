"""The documents a policy or an order gets: the e-policy and the receipts, as PDF.

The e-policy carries what its holder and an auditor need without the portal: the policy's own cover
period, plan and premium, every responsibility of the plan with its deductible, payout ratios and
limit, the plan's own ratios (pre-existing conditions, continuity, medical assistance) and what of
them applies to this insured person, the insurers of the co-insurance pool with the lead marked, the
service number, the terms version and the verification code. The font is embedded
(``portal.documents``) and the file is signed by the insurer's certificate (PAdES,
``portal.integrations.signing``). Anyone can check a printed copy at ``/verify/`` by the policy number
and its verification code, which is a keyed hash of the number (``EPOLICY_CODE_KEY``): it cannot be
guessed from the number, and needs no column.

Receipts by channel: an employer or a collective paying for its own people gets a premium receipt
(团体投保保费凭证); every other payer gets the donation receipt (捐赠回执).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from decimal import Decimal
from io import BytesIO

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from portal import documents
from portal.documents import FONT, markup, style
from portal.integrations import signing

__all__ = ["FONT", "render_pdf", "render_receipt", "receipt_content", "verification_code", "policy_for_code"]

CODE_LENGTH = 8


# --- Verification codes --------------------------------------------------------------------------


def verification_code(number: str) -> str:
    """The policy's verification code, ``ABCD-EFGH`` (base32 of a keyed hash of the number)."""
    from portal.integrations.signing import conf

    digest = hmac.new(conf.code_key(), f"epolicy:{number}".encode(), hashlib.sha256).digest()
    code = base64.b32encode(digest).decode()[:CODE_LENGTH]
    return f"{code[:4]}-{code[4:]}"


def _normal_code(code: str) -> str:
    return "".join(c for c in (code or "").upper() if c.isalnum())


def policy_for_code(number: str, code: str):
    """The policy with this number if the code is its own, else None (the same answer for an unknown
    number and a wrong code)."""
    from enrollment.models import Policy

    number = (number or "").strip().upper()
    expected = _normal_code(verification_code(number))
    if not number or not hmac.compare_digest(expected, _normal_code(code)):
        return None
    return Policy.objects.select_related("person", "plan", "version__program").filter(number=number).first()


# --- Wording ---------------------------------------------------------------------------------------


def yuan(amount: Decimal | None) -> str:
    """500000.00 → 50万元, 12000.00 → 12,000元, 69.00 → 69元, 69.50 → 69.50元."""
    if amount is None:
        return "—"
    amount = Decimal(amount)
    if amount >= 10000 and amount % 10000 == 0:
        return f"{amount / 10000:,.0f}万元"
    if amount == amount.to_integral_value():
        return f"{amount:,.0f}元"
    return f"{amount:,.2f}元"


def percent(ratio: Decimal | None) -> str:
    if ratio is None:
        return "—"
    value = (Decimal(ratio) * 100).normalize()
    return f"{value:f}%"


def _bands_text(bands) -> str:
    parts, lower = [], None
    for band in bands:
        if band.upper is None:
            parts.append(f"{yuan(lower)}以上部分{percent(band.ratio)}" if lower else f"{percent(band.ratio)}")
        elif lower is None:
            parts.append(f"{yuan(band.upper)}（含）以内部分{percent(band.ratio)}")
        else:
            parts.append(f"{yuan(lower)}至{yuan(band.upper)}（含）部分{percent(band.ratio)}")
        lower = band.upper
    return "按扣除免赔额后的年度累计个人负担分段赔付：" + "，".join(parts)


def _conditions(r) -> str:
    out = []
    if r.visit_types:
        out.append("、".join(dict(r._meta.get_field("visit_types").base_field.choices)[v] for v in r.visit_types))
    if r.min_hospital_level:
        out.append(f"{'一二三'[r.min_hospital_level - 1]}级及以上医院")
    if r.require_designated:
        out.append("医保定点机构")
    if r.require_in_region:
        out.append("市域内")
    if r.diagnosis_ranges:
        out.append(f"诊断 {r.diagnosis_ranges}")
    return "；".join(out) or "不限"


def _deductible_text(r, groups, policy) -> str:
    group = groups.get(r.deductible_group) if r.deductible_group else None
    if group is None:
        return "无免赔额"
    text = f"{group.name} {yuan(group.amount)}（同组责任共用，每年度）"
    if group.assistance_amount is not None:
        applies = "，本保单适用" if policy.medical_assistance else ""
        text += f"；医疗救助对象 {yuan(group.assistance_amount)}{applies}"
    return text


def policy_content(policy) -> dict:
    """Everything the e-policy prints, as text: ``rows`` (label, value), ``responsibilities`` (name,
    limit, deductible, ratios, conditions), ``plan_notes``, ``insurers`` (name, share, lead) and the
    service number, verification code and address."""
    version, plan, person = policy.version, policy.plan, policy.person
    program = version.program
    insurers = list(program.coinsurers.order_by("-is_lead", "-share", "name"))
    lead = next((i for i in insurers if i.is_lead), None)
    rows = [
        ("保单号", policy.number),
        ("验证码", verification_code(policy.number)),
        ("被保险人", person.name),
        ("身份证号", person.id_masked),
        ("保障方案", plan.name + (f"（{settings.SAMPLE_PLAN_LABEL}）" if plan.is_sample else "")),
        ("保费", yuan(policy.premium)),
        ("保障期间", f"{policy.coverage_start:%Y年%m月%d日}零时至{policy.coverage_end:%Y年%m月%d日}二十四时"),
        ("投保渠道", policy.get_channel_display()),
        ("保单状态", policy.state_label),
        ("主承保公司", lead.name if lead else "—"),
        ("条款版本", version.terms_version),
        ("服务热线", program.service_phone or "请联系承保公司"),
    ]
    groups = {g.code: g for g in plan.deductible_groups.all()}
    bands = list(plan.ratio_bands.all())
    responsibilities = []
    for r in plan.responsibilities.all():
        ratios = percent(r.flat_ratio) if r.schedule == r.FLAT else _bands_text(bands)
        responsibilities.append((r.name, yuan(r.annual_limit), _deductible_text(r, groups, policy), ratios,
                                 _conditions(r)))
    notes = [f"既往症赔付比例 {percent(plan.pre_existing_ratio)}。"]
    bonus = Decimal(0)
    if plan.uplift_per_year:
        notes.append(f"连续参保每年赔付比例提高{percent(plan.uplift_per_year)}，最多提高{percent(plan.uplift_cap)}。")
        if policy.consecutive_years and plan.uplift_cap is not None:
            bonus += min(plan.uplift_per_year * policy.consecutive_years, plan.uplift_cap)
    if plan.assistance_ratio_bonus:
        notes.append(f"医疗救助对象各档赔付比例提高{percent(plan.assistance_ratio_bonus)}。")
        if policy.medical_assistance:
            bonus += plan.assistance_ratio_bonus
    own = []
    if policy.consecutive_years:
        own.append(f"此前连续参保{policy.consecutive_years}年")
    if policy.medical_assistance:
        own.append("医疗救助对象")
    if own or bonus:
        notes.append(f"本保单被保险人：{'、'.join(own) or '—'}，各档赔付比例提高{percent(bonus)}。")
    return {
        "title": f"{program.city}·{program.name} 电子保单",
        "subtitle": version.name,
        "rows": rows,
        "responsibilities": responsibilities,
        "plan_notes": notes,
        "insurers": [(i.name, percent(i.share), i.is_lead) for i in insurers],
        "service_phone": program.service_phone,
        "code": verification_code(policy.number),
        "verify_url": settings.PUBLIC_BASE_URL.rstrip("/") + reverse("enrollment:policy_verify"),
    }


# --- Rendering -------------------------------------------------------------------------------------

GRID = [("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#888888")), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONTNAME", (0, 0), (-1, -1), FONT), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f7"))]


def _build(title: str, story) -> bytes:
    buffer = BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title=title, author=settings.PORTAL_NAME, leftMargin=18 * mm,
                      rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=16 * mm).build(story, canvasmaker=documents.canvasmaker)
    return buffer.getvalue()


def render_pdf(policy) -> bytes:
    """The signed e-policy of ``policy``."""
    c = policy_content(policy)
    body, small = style("body", 10), style("small", 8.5)
    head = style("head", 12, spaceBefore=8, spaceAfter=4)
    P = lambda text, s=body: Paragraph(markup(text), s)  # noqa: E731
    story = [Paragraph(markup(c["title"]), style("title", 18, alignment=1, spaceAfter=2)),
             Paragraph(markup(c["subtitle"]), style("subtitle", 11, alignment=1, spaceAfter=8))]
    info = Table([[P(label), P(value)] for label, value in c["rows"]], colWidths=[32 * mm, 142 * mm])
    info.setStyle(TableStyle(GRID[:3]))
    story += [info, Paragraph("保险责任", head)]
    header = [P(t, small) for t in ("责任", "年度限额", "免赔额", "赔付比例", "适用条件")]
    rows = [[P(v, small) for v in r] for r in c["responsibilities"]]
    table = Table([header, *rows], colWidths=[30 * mm, 20 * mm, 38 * mm, 52 * mm, 34 * mm], repeatRows=1)
    table.setStyle(TableStyle(GRID))
    story += [table, Spacer(1, 2 * mm), *[P(n, small) for n in c["plan_notes"]]]
    story.append(Paragraph("承保机构（共保体）", head))
    insurers = [[P(t, small) for t in ("保险公司", "共保份额", "")]]
    insurers += [[P(name, small), P(share, small), P("主承保" if lead else "共保", small)]
                 for name, share, lead in c["insurers"]]
    table = Table(insurers, colWidths=[100 * mm, 30 * mm, 44 * mm])
    table.setStyle(TableStyle(GRID))
    story += [table, Spacer(1, 4 * mm)]
    signer = signing.signer_name()
    story += [
        P(f"服务热线：{c['service_phone'] or '请联系承保公司'}。出险后医保定点医院“一站式”结算，无需另行报案。", small),
        P(f"保单真伪查验：{c['verify_url']}，输入保单号与验证码 {c['code']}。", small),
        P(f"本电子保单经承保公司数字签名（签名证书：{signer}），与纸质保单具有同等效力；"
          "文件被改动后签名即失效。", small),
    ]
    data = _build(f"电子保单 {policy.number}", story)
    program = policy.version.program
    return signing.sign_pdf(data, reason=f"{program}电子保单 {policy.number}", location=program.city)


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
    return f"{program.city}·{program.name} 捐赠回执", rows, footer


def render_receipt(order) -> bytes:
    """The signed receipt of a paid order, titled by channel (``receipt_content``)."""
    title, rows, footer = receipt_content(order)
    body = style("body", 10.5)
    P = lambda text, s=body: Paragraph(markup(text), s)  # noqa: E731
    table = Table([[P(label), P(value)] for label, value in rows], colWidths=[62 * mm, 112 * mm])
    table.setStyle(TableStyle(GRID[:3]))
    story = [Paragraph(markup(title), style("title", 17, alignment=1, spaceAfter=10)), table, Spacer(1, 6 * mm),
             P(footer, style("small", 8.5))]
    data = _build(f"{title.split(' ')[-1]} {order.number}", story)
    program = order.version.program
    return signing.sign_pdf(data, reason=f"{title} {order.number}", location=program.city)
