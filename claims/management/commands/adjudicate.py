"""``manage.py adjudicate SCENARIO.json|-``: what would this policy year pay? Writes nothing.

See ``../shared/spec/adjudicate-command.md``. The product configuration is read from the database
and converted by ``enrollment.selectors.benefit_config``; the computation is ``claims.rules`` —
the same module the Celery claim task and the portal's estimator call.
"""

from __future__ import annotations

import json
import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction

from claims.rules.engine import adjudicate_year
from claims.rules.model import PolicyFacts
from claims.rules.records import RecordInvalid, parse_settlement
from claims.rules.report import year_result_to_dict
from enrollment import idnumber, selectors
from enrollment.models import Plan


def _date(value, field: str) -> date:
    if not isinstance(value, str):
        raise CommandError(f"policy.{field}：须为日期字符串（YYYY-MM-DD） (invalid_type)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"policy.{field}：日期“{value}”无效，应为 YYYY-MM-DD (invalid_date)") from None


def policy_facts(data) -> PolicyFacts:
    if not isinstance(data, dict):
        raise CommandError("policy：缺少保单信息对象 (required)")
    unknown = set(data) - {"id_number", "coverage_start", "coverage_end", "consecutive_years", "medical_assistance"}
    if unknown:
        raise CommandError(f"policy.{sorted(unknown)[0]}：未知字段 (unknown_field)")
    try:
        number = idnumber.normalize(data.get("id_number"))
    except idnumber.IdNumberError as exc:
        raise CommandError(f"policy.id_number：{exc.message} ({exc.code})") from None
    start = _date(data.get("coverage_start"), "coverage_start")
    end = _date(data.get("coverage_end"), "coverage_end")
    if end < start:
        raise CommandError("policy.coverage_end：保障结束日期早于开始日期 (invalid_range)")
    years = data.get("consecutive_years", 0)
    if isinstance(years, bool) or not isinstance(years, int) or years < 0:
        raise CommandError("policy.consecutive_years：须为不小于0的整数 (invalid_type)")
    assistance = data.get("medical_assistance", False)
    if not isinstance(assistance, bool):
        raise CommandError("policy.medical_assistance：须为 true 或 false (invalid_type)")
    return PolicyFacts(
        id_number=number,
        coverage_start=start,
        coverage_end=end,
        consecutive_years=years,
        medical_assistance=assistance,
    )


def scenario_result(scenario) -> dict:
    """Validate a scenario, read its plan, run the engine; raises CommandError on bad input."""
    if not isinstance(scenario, dict):
        raise CommandError("场景文件应为 JSON 对象 (invalid_type)")
    product, plan_code = scenario.get("product"), scenario.get("plan")
    if not isinstance(product, str) or not product:
        raise CommandError("product：缺少产品版本代码，例如 wuwei-2025 (required)")
    if not isinstance(plan_code, str) or not plan_code:
        raise CommandError("plan：缺少方案代码，例如 basic (required)")
    try:
        plan = selectors.plan_with_config(product=product, plan=plan_code)
    except Plan.DoesNotExist:
        if not selectors.version_exists(product):
            raise CommandError(f"product：产品版本“{product}”不存在 (unknown_product)") from None
        raise CommandError(f"plan：产品版本“{product}”中没有方案“{plan_code}” (unknown_plan)") from None
    policy = policy_facts(scenario.get("policy"))
    records = scenario.get("settlements")
    if not isinstance(records, list):
        raise CommandError("settlements：应为结算单数组 (invalid_type)")
    settlements = []
    for index, record in enumerate(records):
        try:
            settlements.append(parse_settlement(record))
        except RecordInvalid as exc:
            ident = record.get("settlement_id") if isinstance(record, dict) else None
            where = f"settlements[{index}]" + (f"（{ident}）" if isinstance(ident, str) else "")
            first = exc.errors[0]
            more = f"，另有{len(exc.errors) - 1}处错误" if len(exc.errors) > 1 else ""
            raise CommandError(f"{where}.{first.field}：{first.message} ({first.code}){more}") from None
    return year_result_to_dict(adjudicate_year(selectors.benefit_config(plan), policy, settlements))


class Command(BaseCommand):
    help = "What-if calculator: adjudicate a scenario's settlements with a product's rules; writes nothing."

    def add_arguments(self, parser):
        parser.add_argument("scenario", help="path to a scenario JSON file, or - for standard input")

    def execute(self, *args, **options):
        # One line on stderr and a non-zero exit for every failure; never a traceback.
        try:
            return super().execute(*args, **options)
        except CommandError as exc:
            self.stderr.write(f"adjudicate: {exc}")
            sys.exit(1)
        except DatabaseError as exc:
            self.stderr.write(f"adjudicate: 数据库不可用：{str(exc).strip().splitlines()[0]}")
            sys.exit(1)

    def handle(self, *args, **options):
        path = options["scenario"]
        try:
            text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
        except OSError as exc:
            raise CommandError(f"无法读取场景文件 {path}：{exc.strerror}") from None
        except UnicodeDecodeError:
            raise CommandError(f"场景文件 {path} 不是 UTF-8 编码") from None
        try:
            scenario = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(f"场景文件不是有效的 JSON：第{exc.lineno}行第{exc.colno}列，{exc.msg}") from None
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION READ ONLY")
            result = scenario_result(scenario)
        self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
