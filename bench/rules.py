"""rules.settlements_per_s: the pure engine over 100,000 generated settlements across 10,000 policies.

Run by `make bench`; prints one JSON line. Only the engine is timed (generation is not).
"""

from __future__ import annotations

import json
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from claims.rules.engine import adjudicate_year  # noqa: E402
from tests.unit.wuwei import policy, stay, wuwei_basic  # noqa: E402

POLICIES = 10_000
SETTLEMENTS = 100_000


def generate(rng: random.Random):
    years = []
    for p in range(POLICIES):
        items = []
        for i in range(SETTLEMENTS // POLICIES):
            amounts = {
                "in_catalog_self_pay": Decimal(rng.randrange(0, 6_000_000)) / 100,
                "out_of_catalog": Decimal(rng.randrange(0, 2_000_000)) / 100,
            }
            if rng.random() < 0.05:
                amounts["heavy_ion"] = Decimal(rng.randrange(0, 5_000_000)) / 100
            items.append(
                stay(sid=f"P{p}-S{i}", day=rng.randrange(0, 330), pre_existing=rng.random() < 0.1,
                     diagnoses=("C34.1",) if "heavy_ion" in amounts else ("I63.9",), **amounts)
            )
        years.append(items)
    return years


def main() -> None:
    config, facts = wuwei_basic(), policy()
    years = generate(random.Random(20251124))
    started = time.perf_counter()
    for items in years:
        adjudicate_year(config, facts, items)
    elapsed = time.perf_counter() - started
    print(json.dumps({"name": "rules.settlements_per_s", "value": round(SETTLEMENTS / elapsed), "unit": "settlements/s"}))


if __name__ == "__main__":
    main()
