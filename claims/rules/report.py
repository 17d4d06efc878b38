"""The adjudication result as ``manage.py adjudicate`` prints it (``adjudicate-command.md``)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from claims.rules.model import YearResult

CENT = Decimal("0.01")


def money(value: Decimal) -> str:
    """Money as a string with exactly two decimals; never a float."""
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def year_result_to_dict(result: YearResult) -> dict:
    return {
        "results": [
            {
                "settlement_id": r.settlement_id,
                "status": r.status,
                "reason": r.reason,
                "payout": money(r.payout),
                "lines": [
                    {
                        "responsibility": line.responsibility,
                        "covered": money(line.covered),
                        "deductible": money(line.deductible),
                        "payout": money(line.payout),
                        "explanation": line.explanation,
                    }
                    for line in r.lines
                ],
            }
            for r in result.results
        ],
        "total_payout": money(result.total_payout),
        "deductible_used": money(result.deductible_used),
    }
