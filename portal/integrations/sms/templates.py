"""Every text message the portal sends: one approved template each, listed here and nowhere else.

Tencent Cloud SMS sends only templates its reviewers approved (模板): the portal names a template by
its id and fills its numbered variables ``{1}``, ``{2}``… with ``TemplateParamSet``; it never sends
free text. ``TEMPLATES`` maps the portal's name for a message to the approved text and the order of
its parameters. The ids below are the ones registered with the SMS simulator; a real account gets
its own ids on approval and names them in ``SMS_TEMPLATE_IDS`` (``name:id,name:id``), see ``conf.py``.

A sign-in code is at most 6 digits (Tencent's rule for verification-code variables).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    name: str
    template_id: str
    text: str  # the approved text, variables {1}, {2}, …
    params: tuple[str, ...]  # the keyword arguments of send(), in variable order


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template("login_code", "2301001", "您的登录验证码为{1}，5分钟内有效，请勿泄露。", ("code",)),
        Template("policy_issued", "2301002", "{1}的{2}保单已出单，保单号{3}，保障起止日期以电子保单为准，可在“我的保单”查看。",
                 ("name", "product", "policy")),
        Template("policy_gifted", "2301003", "{1}为{2}投保的{3}已出单，保单号{4}，保障起止日期以电子保单为准。登录后可在“我的保单”查看。",
                 ("payer", "name", "product", "policy")),
        Template("payment_received", "2301004", "您的订单{1}已支付{2}元（{3}），保单生效后另行通知。",
                 ("order", "amount", "channel")),
        Template("payout_approved", "2301005", "您的理赔已审核通过，赔付{1}元，将支付至您的账户。", ("amount",)),
        Template("ticket_replied", "2301006", "您的工单{1}有新的客服回复，请登录后在“客服与投诉”查看。", ("number",)),
        Template("renewal_notice", "2301007", "{1}的{2}将自动续保，保费{3}元将于{4}扣款，如需取消请登录“我的保单”。",
                 ("name", "product", "amount", "date")),
        Template("renewal_refused", "2301008", "{1}的{2}未能自动续保：{3}。详情请登录“我的保单”查看。",
                 ("name", "product", "reason")),
        # Identity and privacy (issue 12)
        Template("identity_released", "2301101", "您账户绑定的实名信息（{1}）已由本人通过实名核验找回，您的账户已解除实名绑定，"
                 "不再能查看其保单和理赔。如有疑问请联系客服。", ("name",)),
        Template("identity_appeal_approved", "2301102", "您的实名申诉{1}已审核通过，账户已完成实名绑定。", ("number",)),
        Template("identity_appeal_rejected", "2301103", "您的实名申诉{1}未通过审核，请登录后在“实名认证”页面查看原因。",
                 ("number",)),
        Template("identity_recheck_failed", "2301104", "您账户的实名信息复核未通过，已解除实名绑定，请登录后重新进行实名认证。", ()),
        Template("phone_changed", "2301106", "您的账户手机号已更换为{1}，如非本人操作请立即联系客服。", ("number",)),
        Template("account_closed", "2301107", "您的账户已注销，登录信息已删除；保单和理赔记录依法保存。如非本人操作请立即联系客服。", ()),
        Template("org_invitation", "2301105", "{1}邀请您成为单位经办人，请用本手机号登录平台，在“单位投保”页面接受邀请，7天内有效。",
                 ("organization",)),
        # Payees and claim progress (issue 15)
        Template("payee_verified", "2301501", "{1}的理赔收款账户已登记为尾号{2}的银行卡，经银行核验一致，赔款将支付至该账户。"
                 "如非本人操作请立即联系客服。", ("name", "last4")),
        Template("payout_payee_needed", "2301502", "{1}的理赔已审核通过，赔付{2}元。尚未登记收款银行卡，请登录“我的理赔”"
                 "登记并核验后支付。", ("name", "amount")),
        Template("claim_in_review", "2301503", "{1}在{2}的理赔（结算单号{3}）已转人工审核，进度可在“我的理赔”查看。",
                 ("name", "hospital", "settlement")),
        Template("claim_documents_requested", "2301504", "{1}的理赔（结算单号{2}）需补充材料：{3}。请登录“我的理赔”上传。",
                 ("name", "settlement", "reason")),
        Template("claim_rejected", "2301505", "{1}的理赔（结算单号{2}）经审核不予赔付：{3}。详情请登录“我的理赔”查看。",
                 ("name", "settlement", "reason")),
        Template("claim_paid", "2301506", "{1}的理赔款{2}元已支付至尾号{3}的账户，请注意查收。",
                 ("name", "amount", "last4")),
        Template("claim_cleared", "2301507", "{1}在{2}直接结算的理赔（结算单号{3}），本保险赔付{4}元已由保险公司与医院清算完毕，"
                 "无需另行办理。", ("name", "hospital", "settlement", "amount")),
    )
}


def render(template: Template, values: list[str]) -> str:
    text = template.text
    for number, value in enumerate(values, start=1):
        text = text.replace(f"{{{number}}}", value)
    return text
