"""Consistency rules of the product configuration, in Chinese for the staff who edit it.

Each function takes plain values so that the admin's forms (before anything is saved) and
``services.version_publish`` (over the saved rows) apply the very same rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

ONE = Decimal("1")


def ratio_errors(label: str, ratio: Decimal | None) -> list[str]:
    if ratio is not None and not (0 <= ratio <= ONE):
        return [f"{label}应在0%到100%之间（填写0到1之间的小数，例如0.3表示30%），当前为{ratio}。"]
    return []


def ratio_band_errors(bands: Iterable[tuple[Decimal | None, Decimal]]) -> list[str]:
    """Bands (upper, ratio) in entered order: uppers strictly ascending, only the last open-ended."""
    bands = list(bands)
    errors: list[str] = []
    if not bands:
        return errors
    for index, (upper, ratio) in enumerate(bands, start=1):
        errors += ratio_errors(f"第{index}档赔付比例", ratio)
        if upper is None and index != len(bands):
            errors.append(f"第{index}档未填写累计金额上限：只有最后一档可以不设上限。")
        if upper is not None and upper <= 0:
            errors.append(f"第{index}档累计金额上限应大于0。")
    uppers = [upper for upper, _ in bands if upper is not None]
    if any(b <= a for a, b in zip(uppers, uppers[1:], strict=False)):
        errors.append("分段赔付比例的累计金额上限必须从低到高递增，请按金额从小到大填写各档。")
    if bands[-1][0] is not None:
        errors.append("最后一档应不设上限（累计金额上限留空），否则超过最高档的费用将无比例可用。")
    return errors


def premium_cap(*, cap_ratio: Decimal | None, resident_contribution: Decimal | None) -> Decimal | None:
    if cap_ratio is None or resident_contribution is None:
        return None
    return (cap_ratio * resident_contribution).quantize(Decimal("0.01"))


def price_errors(price: Decimal | None, cap: Decimal | None, label: str = "保费") -> list[str]:
    if price is None:
        return []
    if price <= 0:
        return [f"{label}应大于0元。"]
    if cap is not None and price > cap:
        return [f"{label}{price}元超过上限{cap}元（不高于当年城乡居民医保个人缴费标准的规定比例）。"]
    return []


def price_band_errors(bands: Iterable[tuple[int, int | None, Decimal]], cap: Decimal | None) -> list[str]:
    """Age bands (min, max, price): ascending, no gap, no overlap, starting at 0, last open."""
    bands = sorted(bands, key=lambda b: b[0])
    errors: list[str] = []
    if not bands:
        return ["按年龄段定价时至少需要一个年龄段。"]
    if bands[0][0] != 0:
        errors.append("年龄段应从0岁开始，否则部分年龄无法定价。")
    for (low, high, price), nxt in zip(bands, [*bands[1:], None], strict=False):
        label = f"{low}岁起的年龄段"
        errors += price_errors(price, cap, f"{label}保费")
        if high is not None and high < low:
            errors.append(f"{label}截止年龄小于起始年龄。")
        if nxt is not None:
            if high is None:
                errors.append(f"{label}未设截止年龄，但后面还有年龄段。")
            elif nxt[0] != high + 1:
                errors.append(f"年龄段{low}–{high}岁与下一段（{nxt[0]}岁起）之间有重叠或空档。")
    if bands[-1][1] is not None:
        errors.append("最后一个年龄段应不设截止年龄，否则高龄人员无法定价。")
    return errors


def coinsurer_errors(members: Iterable[tuple[str, Decimal, bool]]) -> list[str]:
    members = list(members)
    if not members:
        return ["至少需要一家承保公司。"]
    errors: list[str] = []
    total = sum((share for _, share, _ in members), Decimal("0"))
    if total != ONE:
        errors.append(f"共保公司份额合计应恰好为100%，当前为{(total * 100).normalize():f}%。")
    leads = sum(1 for _, _, lead in members if lead)
    if leads != 1:
        errors.append(f"共保体应有且仅有一家主承保公司，当前为{leads}家。")
    return errors


def responsibility_errors(
    *,
    label: str,
    schedule: str,
    flat_ratio: Decimal | None,
    covered_field: str,
    drug_list: str,
    deductible_group: str,
    group_codes: set[str],
    has_bands: bool,
    annual_limit: Decimal | None,
) -> list[str]:
    errors: list[str] = []
    if schedule == "flat" and flat_ratio is None:
        errors.append(f"{label}：选择固定比例时须填写固定赔付比例。")
    if schedule == "bands" and not has_bands:
        errors.append(f"{label}：按分段比例赔付，但方案尚未设置分段赔付比例。")
    errors += ratio_errors(f"{label}的固定赔付比例", flat_ratio)
    if covered_field == "drugs" and not drug_list.strip():
        errors.append(f"{label}：特定药品责任须填写药品清单。")
    if deductible_group and deductible_group not in group_codes:
        errors.append(f"{label}：免赔额组“{deductible_group}”不存在，请先在本方案中添加该免赔额。")
    if annual_limit is not None and annual_limit <= 0:
        errors.append(f"{label}：年度赔付限额应大于0元。")
    return errors


def plan_errors(plan) -> list[str]:
    """Every rule over a saved plan (used before publishing)."""
    version = plan.version
    cap = premium_cap(cap_ratio=version.program.premium_cap_ratio, resident_contribution=version.resident_contribution)
    prefix = f"方案“{plan.name}”"
    errors: list[str] = []
    if version.program.premium_cap_ratio is not None and version.resident_contribution is None:
        errors.append("本项目设有保费上限规则，请填写当年居民医保个人缴费标准。")
    if plan.pricing == "flat":
        if plan.price is None:
            errors.append(f"{prefix}：统一保费方案须填写保费。")
        errors += [f"{prefix}：{e}" for e in price_errors(plan.price, cap)]
    else:
        bands = [(b.min_age, b.max_age, b.price) for b in plan.price_bands.all()]
        errors += [f"{prefix}：{e}" for e in price_band_errors(bands, cap)]
    errors += ratio_errors(f"{prefix}既往症赔付比例", plan.pre_existing_ratio)
    if (plan.uplift_per_year is None) != (plan.uplift_cap is None):
        errors.append(f"{prefix}：连续参保提高比例与上限须同时填写或同时留空。")
    ratio_bands = [(b.upper, b.ratio) for b in plan.ratio_bands.all()]
    errors += [f"{prefix}：{e}" for e in ratio_band_errors(ratio_bands)]
    responsibilities = list(plan.responsibilities.all())
    if not responsibilities:
        errors.append(f"{prefix}：至少需要一项保险责任。")
    codes = {g.code for g in plan.deductible_groups.all()}
    for r in responsibilities:
        errors += responsibility_errors(
            label=f"{prefix}的“{r.name}”",
            schedule=r.schedule,
            flat_ratio=r.flat_ratio,
            covered_field=r.covered_field,
            drug_list=r.drug_list,
            deductible_group=r.deductible_group,
            group_codes=codes,
            has_bands=bool(ratio_bands),
            annual_limit=r.annual_limit,
        )
    return errors


def window_errors(*, sales_start, sales_end, coverage_start, coverage_end, delay_days: int = 1) -> list[str]:
    """The sales window and the coverage period fit together: a policy is covered from the later of
    the coverage start and ``delay_days`` after payment (``enrollment.cover``), so whoever buys on
    the last sales day must still get cover; cover never starts before sales open; one year at most."""
    from datetime import timedelta

    errors: list[str] = []
    if sales_end < sales_start:
        errors.append("销售截止日期早于销售开始日期。")
    if coverage_end < coverage_start:
        errors.append("保障结束日期早于保障开始日期。")
        return errors
    if coverage_start < sales_start:
        errors.append(f"保障开始日期（{coverage_start:%Y-%m-%d}）早于销售开始日期（{sales_start:%Y-%m-%d}）："
                      "保单不能在缴费前起保，请调整。")
    if sales_end + timedelta(days=delay_days) > coverage_end:
        errors.append(f"销售截止日期（{sales_end:%Y-%m-%d}）缴费的保单自{delay_days}天后起保，已晚于保障结束日期"
                      f"（{coverage_end:%Y-%m-%d}）：销售截止应早于保障结束。")
    try:
        year_later = coverage_start.replace(year=coverage_start.year + 1)
    except ValueError:  # 29 February
        year_later = coverage_start.replace(year=coverage_start.year + 1, day=28) + timedelta(days=1)
    if coverage_end >= year_later:
        errors.append("保障期间不能超过1年（保险期限1年）。")
    return errors


def version_errors(version) -> list[str]:
    errors = window_errors(sales_start=version.sales_start, sales_end=version.sales_end,
                           coverage_start=version.coverage_start, coverage_end=version.coverage_end,
                           delay_days=version.program.cover_start_delay_days)
    members = [(c.name, c.share, c.is_lead) for c in version.program.coinsurers.all()]
    errors += coinsurer_errors(members)
    plans = list(version.plans.all())
    if not plans:
        errors.append("产品版本至少需要一个保障方案。")
    for plan in plans:
        errors += plan_errors(plan)
    return errors
