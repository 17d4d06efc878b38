"""四心 targeting: who may run each kind of campaign, and for whom.

The Wuwei notice names the organizers and the people of each campaign kind:

- 敬孝心 — 民政部门, for the elderly (为老人购买);
- 献爱心 — 民政、慈善组织及爱心人士, for people in hardship (困难弱势群体);
- 筑同心 — 工会、共青团、妇联、残联, for the people each serves (各自所联系服务对象);
- 暖人心 — 帮扶单位、用工企业及集体经济组织, for the low-income people of the villages they assist,
  their employees and members (帮扶村的低收入人口、职工及成员).

A campaign carries one target rule, checked when it is made and applied to every list row:

- ``elderly``: at least ``min_age`` (60 or more) on the cover start date, from the ID number;
- ``hardship``: the registry names the person with one of ``hardship_statuses`` (医疗救助, 低保,
  特困, 防返贫监测);
- ``members``: the organizer declares, when uploading, that the people listed are its employees,
  members or the people it serves (recorded on the list; nothing a registry could check).

A row that fails the rule says only 不属于本活动资助对象: never which status, nor the age.
``None`` among the organizer kinds stands for an individual donor (爱心人士) taking part in a
campaign the agency runs with no organizer.
"""

from __future__ import annotations

from enrollment.models import CampaignKind, HardshipStatus, TargetRule

INDIVIDUAL = None
ORGANIZER_KINDS: dict[str, set[str | None]] = {
    CampaignKind.JINGXIAO: {"civil_affairs"},
    CampaignKind.XIANAI: {"civil_affairs", "charity", INDIVIDUAL},
    CampaignKind.TONGXIN: {"trade_union", "youth_league", "women_federation", "disabled_federation"},
    CampaignKind.NUANREN: {"assistance_unit", "employer", "collective"},
}
TARGET_RULES: dict[str, set[str]] = {
    CampaignKind.JINGXIAO: {TargetRule.ELDERLY},
    CampaignKind.XIANAI: {TargetRule.HARDSHIP},
    CampaignKind.TONGXIN: {TargetRule.MEMBERS, TargetRule.HARDSHIP},
    CampaignKind.NUANREN: {TargetRule.HARDSHIP, TargetRule.MEMBERS},
}
ELDERLY_AGE = 60  # 老年人权益保障法：六十周岁以上
NOT_TARGET = ("not_target_group", "不属于本活动资助对象")

KIND_LABELS = dict(CampaignKind.choices)
ORGANIZER_LABELS = {"civil_affairs": "民政部门", "charity": "慈善组织", INDIVIDUAL: "爱心人士（参与经办机构发起的活动）",
                    "trade_union": "工会", "youth_league": "共青团", "women_federation": "妇联",
                    "disabled_federation": "残联", "assistance_unit": "帮扶单位", "employer": "用工企业/单位",
                    "collective": "集体经济组织"}


def rule_errors(*, kind: str, organizer_kind: str | None, target_rule: str, min_age: int | None,
                statuses) -> list[tuple[str, str, str]]:
    """Every problem of a campaign's organizer and target rule: (field, code, Chinese message)."""
    errors = []
    if kind not in ORGANIZER_KINDS:
        return [("kind", "kind_invalid", "请选择“四心”活动类型。")]
    allowed = ORGANIZER_KINDS[kind]
    if organizer_kind not in allowed:
        who = "、".join(ORGANIZER_LABELS[k] for k in sorted(allowed, key=lambda k: k or ""))
        errors.append(("kind", "organizer_not_allowed", f"“{KIND_LABELS[kind]}”活动由{who}发起。"))
    rules = TARGET_RULES[kind]
    if target_rule not in rules:
        names = "、".join(TargetRule(r).label for r in sorted(rules))
        errors.append(("target_rule", "target_rule_not_allowed", f"“{KIND_LABELS[kind]}”活动的资助对象应为：{names}。"))
    if target_rule == TargetRule.ELDERLY and (min_age is None or not ELDERLY_AGE <= min_age <= 120):
        errors.append(("min_age", "min_age_invalid", f"请填写最低年龄（{ELDERLY_AGE}至120周岁）。"))
    statuses = set(statuses or ())
    if target_rule == TargetRule.HARDSHIP and (not statuses or not statuses <= set(HardshipStatus.values)):
        errors.append(("hardship_statuses", "statuses_required", "请选择至少一类困难身份（以医保登记为准）。"))
    return errors


def hardship_of(answer) -> set[str]:
    """The hardship statuses the registry's answer names for a person."""
    found = set(getattr(answer, "hardship", ()) or ())  # the registry adapter's codes, as HardshipStatus
    if getattr(answer, "medical_assistance", False):
        found.add(HardshipStatus.MEDICAL_ASSISTANCE)
    return found


def qualifies(campaign, *, age: int | None, answer) -> bool:
    """Whether a person of ``age`` (on the cover start date) whom the registry answered with
    ``answer`` is among ``campaign``'s target group. A members campaign relies on the organizer's
    declaration, made for the whole list."""
    rule = campaign.target_rule
    if rule == TargetRule.ELDERLY:
        return age is not None and age >= (campaign.min_age or ELDERLY_AGE)
    if rule == TargetRule.HARDSHIP:
        return bool(hardship_of(answer) & set(campaign.hardship_statuses))
    return True

