"""`manage.py adjudicate`: the what-if calculator over the shipped configuration, writing nothing."""

import copy
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from tests.unit.test_settlement_records import GOOD as SPEC_RECORD

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
ID = "620602197505201231"

STAY = {**copy.deepcopy(SPEC_RECORD), "settlement_id": "S1",
        "amounts": {"total": "63000.00", "in_catalog_self_pay": "30000.00"}}


def settlement(**changes):
    record = copy.deepcopy(STAY)
    amounts = changes.pop("amounts", None)
    record.update(changes)
    if amounts is not None:
        record["amounts"] = {"total": "100000.00", **amounts}
    return record


def scenario(*settlements, product="wuwei-2025", plan="basic", **policy):
    return {
        "product": product,
        "plan": plan,
        "policy": {"id_number": ID, "coverage_start": "2025-07-01", "coverage_end": "2026-06-30", **policy},
        "settlements": list(settlements),
    }


def adjudicate(data, tmp_path) -> dict:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    out = io.StringIO()
    call_command("adjudicate", str(path), stdout=out)
    return json.loads(out.getvalue())


def test_worked_examples_one_and_two(products, tmp_path):
    second = settlement(
        settlement_id="S2",
        admission_date="2025-10-01",
        discharge_date="2025-10-10",
        settled_at="2025-10-10T09:00:00+08:00",
        amounts={"out_of_catalog": "40000.00"},
    )
    result = adjudicate(scenario(second, settlement()), tmp_path)  # file order does not matter
    assert [r["settlement_id"] for r in result["results"]] == ["S1", "S2"]
    assert [r["payout"] for r in result["results"]] == ["5400.00", "16600.00"]
    assert result["total_payout"] == "22000.00"
    assert result["deductible_used"] == "12000.00"
    first_line = result["results"][0]["lines"][0]
    assert first_line["responsibility"] == "in_catalog"
    assert first_line["covered"] == "30000.00" and first_line["deductible"] == "12000.00"
    assert first_line["explanation"]  # a sentence a resident can read


def test_worked_example_three_heavy_ion_has_no_deductible(products, tmp_path):
    result = adjudicate(
        scenario(settlement(visit_type="outpatient", discharge_date=None, diagnoses=["C50.9"],
                            amounts={"heavy_ion": "10000.00"})),
        tmp_path,
    )
    assert result["results"][0]["payout"] == "3000.00"
    assert result["deductible_used"] == "0.00"


def test_worked_example_four_pre_existing_pays_twenty_percent(products, tmp_path):
    result = adjudicate(scenario(settlement(pre_existing=True, amounts={"in_catalog_self_pay": "22000.00"})), tmp_path)
    assert result["results"][0]["payout"] == "2000.00"


def test_rejections_are_reported_with_their_reason(products, tmp_path):
    outside = settlement(settlement_id="S2", admission_date="2026-07-01", discharge_date="2026-07-05")
    result = adjudicate(scenario(settlement(), outside, settlement()), tmp_path)
    reasons = {(r["settlement_id"], r["status"], r["reason"], r["payout"]) for r in result["results"]}
    assert ("S2", "rejected", "outside_coverage", "0.00") in reasons
    assert ("S1", "rejected", "duplicate", "0.00") in reasons
    assert result["total_payout"] == "5400.00"


def test_the_upgrade_sample_plan_is_available(products, tmp_path):
    result = adjudicate(scenario(settlement(), plan="upgrade"), tmp_path)
    assert result["results"][0]["status"] == "accepted"


def test_weihai_facts_are_read_from_the_policy(products, tmp_path):
    weihai = {"product": "weihai-2025", "plan": "standard", "coverage_start": "2025-01-01",
              "coverage_end": "2025-12-31"}
    stay = settlement(amounts={"in_catalog_self_pay": "30000.00"})
    plain = adjudicate(scenario(stay, **weihai), tmp_path)
    favoured = adjudicate(scenario(stay, consecutive_years=3, medical_assistance=True, **weihai), tmp_path)
    # Sample plan: deductible 15,000 (7,500 for medical-assistance recipients), 60% up to 100,000;
    # +2 points a consecutive year (3 years: +6) and +5 points for medical assistance.
    assert plain["total_payout"] == "9000.00"  # 15,000 x 60%
    assert favoured["total_payout"] == "15975.00"  # 22,500 x 71%


def test_the_command_writes_nothing(products, tmp_path):
    def row_counts():
        with connection.cursor() as cursor:
            cursor.execute("SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) FROM pg_stat_xact_user_tables")
            return cursor.fetchone()[0]

    before = row_counts()
    adjudicate(scenario(settlement()), tmp_path)
    assert row_counts() == before


def run_cli(*args, stdin=None):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "manage.py", "adjudicate", *args],
        cwd=ROOT, input=stdin, capture_output=True, text=True, env=env, timeout=120,
    )


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [
        ("{not json", "不是有效的 JSON"),
        (json.dumps({**scenario(), "product": "nosuch-2025"}), "unknown_product"),
        (json.dumps({**scenario(), "plan": "gold"}), "unknown_plan"),
        (json.dumps(scenario(settlement(amounts={"in_catalog_self_pay": "1.005"}))), "amounts.in_catalog_self_pay"),
        (json.dumps(scenario(settlement(id_number="620602197505201232"))), "id_number"),
        (json.dumps({**scenario(), "policy": {"id_number": ID}}), "policy.coverage_start"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line_and_no_traceback(stdin, expected):
    # The subprocess reads the development database, where `make install` loaded the products.
    result = run_cli("-", stdin=stdin)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_missing_file_is_one_line_too():
    result = run_cli("/nonexistent/scenario.json")
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
