"""Everything held about a resident's account, himself and the people he bought for, as one
document (PIPL art. 45: to see and to copy): JSON for machines, PDF for people.

Read only, from the same rules the pages use (``selectors.visible_to``, ``guarded_policies``,
``claims.selectors.resident_claims``). ID numbers and other people's mobiles stay masked here too: the
owner knows them, and a downloaded file travels.
"""

from __future__ import annotations

from io import BytesIO

from django.utils import timezone

from enrollment import selectors
from enrollment.models import (
    BeneficiaryList,
    Consent,
    FamilyMember,
    IdentityAppeal,
    Order,
    OrganizationMember,
    RenewalAuthorization,
    Resident,
    VerificationAttempt,
)

TITLES = {
    "account": "账户", "identity": "实名信息", "family": "家庭成员", "policies": "保单", "orders": "订单与支付",
    "claims": "理赔", "claim_submissions": "异地就医理赔申请", "consents": "授权记录", "renewals": "自动续保授权",
    "tickets": "客服工单", "verifications": "实名核验记录", "appeals": "实名申诉", "organizations": "单位经办",
    "lists": "上传的参保名单",
}
FIELDS = {
    "phone": "手机号", "registered_at": "注册时间", "bound_at": "实名时间", "name": "姓名", "id_number": "身份证号",
    "birth_date": "出生日期", "sex": "性别", "region_code": "户籍地区码", "name_verified_at": "姓名核验时间",
    "relation": "关系", "added_at": "加入时间", "number": "编号", "insured": "被保险人", "product": "产品",
    "plan": "方案", "premium": "保费（元）", "status": "状态", "coverage": "保障期间", "channel": "渠道",
    "paid_by_me": "本人出资", "amount": "金额（元）", "created_at": "时间", "paid_at": "支付时间", "payments": "支付",
    "policy": "保单号", "settlement": "结算单号", "hospital": "医院", "admitted": "入院日期", "settled_at": "结算时间",
    "payout": "赔付（元）", "state": "状态", "documents": "材料数", "person": "本人或被监护人", "text": "文本",
    "given_at": "同意时间", "given_by": "同意人", "as_guardian": "监护人代为同意", "withdrawn_at": "撤回时间",
    "program": "项目", "authorized_at": "授权时间", "revoked_at": "撤销时间", "kind": "类型", "subject": "标题",
    "messages": "往来消息", "at": "时间", "purpose": "用途", "method": "方式", "outcome": "结果",
    "decision_note": "审核意见", "organization": "单位", "role": "角色", "file": "文件", "rows": "行数",
    "uploaded_at": "上传时间",
}


def _t(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "astimezone"):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def collect(resident: Resident) -> dict:
    """The whole document: one section per kind of record, each a list of plain string fields."""
    from claims.models import ClaimSubmission
    from claims.selectors import resident_claims
    from supervision.models import Ticket

    person = resident.person
    data: dict = {
        "generated_at": _t(timezone.now()),
        "account": {"phone": _phone(resident), "registered_at": _t(resident.created_at),
                    "bound_at": _t(resident.bound_at)},
        "identity": None if person is None else {
            "name": person.name, "id_number": person.id_masked, "birth_date": _t(person.birth_date),
            "sex": person.get_sex_display(), "region_code": person.region_code,
            "name_verified_at": _t(person.name_verified_at)},
    }
    data["family"] = [{"name": m.person.name, "id_number": m.person.id_masked, "relation": m.get_relation_display(),
                       "added_at": _t(m.added_at)}
                      for m in FamilyMember.objects.filter(resident=resident).select_related("person")]
    data["policies"] = [{
        "number": p.number, "insured": p.person.name, "id_number": p.person.id_masked,
        "product": p.version.name, "plan": p.plan.name, "premium": _t(p.premium), "status": p.get_status_display(),
        "coverage": f"{p.coverage_start:%Y-%m-%d} — {p.coverage_end:%Y-%m-%d}", "channel": p.get_channel_display(),
        "relation": p.get_relation_display(), "paid_by_me": p.order.resident_id == resident.pk,
    } for p in selectors.resident_policies(resident).select_related("order")]
    data["orders"] = [{
        "number": o.number, "amount": _t(o.amount), "status": o.get_status_display(), "created_at": _t(o.created_at),
        "paid_at": _t(o.paid_at),
        "payments": [{"method": pay.get_method_display(), "amount": _t(pay.amount), "status": pay.status,
                      "refunds": [{"amount": _t(r.amount), "status": r.status, "reason": r.reason}
                                  for r in pay.refunds.all()]} for pay in o.payments.all()],
    } for o in Order.objects.filter(resident=resident, organization__isnull=True, campaign__isnull=True)
        .prefetch_related("payments__refunds")]
    data["claims"] = [{
        "insured": c.policy.person.name, "policy": c.policy.number, "settlement": c.settlement.settlement_id,
        "hospital": c.settlement.hospital_name, "admitted": _t(c.settlement.admission_date),
        "settled_at": _t(c.settlement.settled_at), "payout": _t(c.payout), "state": c.get_state_display(),
    } for c in resident_claims(resident)]
    data["claim_submissions"] = [{
        "number": s.number, "policy": s.policy.number, "hospital": s.hospital_name, "admitted": _t(s.admission_date),
        "status": s.get_status_display(), "documents": s.documents.count(),
    } for s in ClaimSubmission.objects.filter(resident=resident).select_related("policy")]
    managed = [p.pk for p in _persons(resident)]
    data["consents"] = [{
        "person": c.person.name, "text": f"{c.text.title}（{c.text.version}）", "given_at": _t(c.given_at),
        "given_by": "本人" if c.given_by_id == resident.pk else "他人代为同意", "as_guardian": c.as_guardian,
        "withdrawn_at": _t(c.withdrawn_at),
    } for c in Consent.objects.filter(person_id__in=managed).select_related("person", "text").order_by("given_at")]
    data["renewals"] = [{"person": a.person.name, "program": str(a.program), "plan": a.plan_code,
                         "authorized_at": _t(a.created_at), "revoked_at": _t(a.revoked_at)}
                        for a in RenewalAuthorization.objects.filter(resident=resident).select_related("person",
                                                                                                      "program")]
    data["tickets"] = [{
        "number": t.number, "kind": t.get_kind_display(), "subject": t.subject, "status": t.get_status_display(),
        "created_at": _t(t.created_at),
        "messages": [{"from": "客服" if m.from_staff_id else "我", "at": _t(m.created_at), "text": m.body,
                      "attachment": m.attachment_name} for m in t.messages.all()],
    } for t in Ticket.objects.filter(resident=resident).prefetch_related("messages")]
    data["verifications"] = [{
        "at": _t(v.created_at), "purpose": v.get_purpose_display(), "method": v.get_method_display(),
        "name": v.name_masked, "id_number": v.id_masked, "phone": v.phone_masked, "outcome": v.get_outcome_display(),
    } for v in VerificationAttempt.objects.filter(resident=resident)]
    data["appeals"] = [{"number": a.number, "id_number": a.id_masked, "status": a.get_status_display(),
                        "created_at": _t(a.created_at), "decision_note": a.decision_note}
                       for a in IdentityAppeal.objects.filter(resident=resident)]
    data["organizations"] = [{"organization": m.organization.name, "role": m.get_role_display(),
                              "added_at": _t(m.added_at)}
                             for m in OrganizationMember.objects.filter(resident=resident).select_related("organization")]
    data["lists"] = [{"number": b.number, "organization": b.organization.name if b.organization_id else "个人爱心",
                      "file": b.file_name, "rows": b.total_rows, "status": b.get_status_display(),
                      "uploaded_at": _t(b.created_at)}
                     for b in BeneficiaryList.objects.filter(uploaded_by=resident).select_related("organization")]
    return data


def _phone(resident: Resident) -> str:
    from portal import sms

    return sms.masked_phone(resident.phone) if resident.phone else ""


def _persons(resident: Resident):
    from enrollment import privacy

    return privacy.managed_persons(resident)


def render_pdf(data: dict) -> bytes:
    """The same document, section by section, in the documents' embedded font (``portal.documents``)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from portal.documents import FONT, canvasmaker, markup

    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12, wordWrap="CJK")
    heading = ParagraphStyle("heading", fontName=FONT, fontSize=13, leading=18, spaceBefore=8, spaceAfter=4)
    title = ParagraphStyle("title", fontName=FONT, fontSize=18, leading=24, spaceAfter=6)

    def cell(value) -> Paragraph:
        if isinstance(value, bool):
            value = "是" if value else "否"
        if isinstance(value, list):
            value = "；".join(" ".join(f"{v}" for v in item.values() if not isinstance(v, list)) for item in value)
        return Paragraph(markup(value or "—"), body)

    story = [Paragraph("我的个人信息", title),
             Paragraph(markup(f"生成时间：{data['generated_at']}。身份证号、手机号均已遮蔽显示。"), body)]
    for key, label in TITLES.items():
        section = data.get(key)
        story.append(Paragraph(label, heading))
        rows = [section] if isinstance(section, dict) else section or []
        if not rows:
            story.append(Paragraph("无", body))
            continue
        for row in rows:
            table = Table([[cell(FIELDS.get(k, k)), cell(v)] for k, v in row.items()], colWidths=[35 * mm, 135 * mm])
            table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("FONTNAME", (0, 0), (-1, -1), FONT),
                                       ("VALIGN", (0, 0), (-1, -1), "TOP")]))
            story += [table, Spacer(1, 3 * mm)]
    buffer = BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title="我的个人信息", leftMargin=20 * mm, rightMargin=20 * mm,
                      topMargin=18 * mm, bottomMargin=18 * mm).build(story, canvasmaker=canvasmaker)
    return buffer.getvalue()
