"""import.rows_per_s and import.upload_ms, on PostgreSQL.

- import.upload_ms: the upload request itself (a 50,000-row CSV through the organization's page:
  the file read and checked whole, stored, the validation task enqueued on commit).
- import.rows_per_s: the same list validated and stored by the worker's task body (ID check
  digits, names, duplicates, already covered, registry look-ups batched in the 医疗保障信息平台's
  signed envelope, rows written by COPY), divided into rows per second. The registry's counterpart
  is its simulator under a gunicorn of its own (another server, as the real platform is), on the
  same database.

Runs in a throwaway database on the configured server (like the test suite) and its own Redis
database (14); prints one JSON line per figure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("PORTAL_REDIS_DB", "14")
os.environ.setdefault("PRIVATE_MEDIA_ROOT", tempfile.mkdtemp(prefix="bench-private-"))

import django  # noqa: E402

django.setup()

import servers  # noqa: E402  (bench/servers.py)
from django.db import connection  # noqa: E402

ROWS = int(os.environ.get("BENCH_LIST_ROWS", "50000"))


def build():
    from datetime import date, timedelta

    from django.utils import timezone
    from stdnum.cn import uscc

    from enrollment import organizations, services
    from enrollment.models import ProductVersion
    from portal import crypto
    from portal.simulators.models import RosterEntry as Roster
    from tests.factories import make_id, make_resident

    today = timezone.localdate()
    version = services.version_copy(version=ProductVersion.objects.get(slug="wuwei-2025"), slug="wuwei-bench",
                                    year=today.year + 1)
    version.sales_start, version.sales_end = today - timedelta(days=1), today + timedelta(days=30)
    version.coverage_start, version.coverage_end = date(today.year + 1, 1, 1), date(today.year + 1, 12, 31)
    version.save()
    services.version_publish(version=version)
    ids = [make_id(f"620602{1930 + n // 1008}{(n // 28) % 12 + 1:02d}{n % 28 + 1:02d}{300 + (n // 336) % 3}")
           for n in range(ROWS)]  # distinct for up to 50,400 rows
    Roster.objects.bulk_create([
        Roster(id_hash=crypto.blind_index(i), id_masked=i[:6] + "********" + i[-4:], name=f"职工{n}号"[:2] + "某",
               status="in_force", insured_region="620602", category="resident")
        for n, i in enumerate(dict.fromkeys(ids))], ignore_conflicts=True, batch_size=2000)
    manager = make_resident()
    code = "91620600MA71X0AB3"
    organization = organizations.organization_register(
        resident=manager, name="示例单位", credit_code=code + uscc.calc_check_digit(code), kind="employer",
        contact_name="马", contact_phone="1")
    organization.approve()
    organization.save()
    body = "姓名,身份证号,手机号\n" + "".join(f"职工某,{i},\n" for i in ids)
    return version, manager, organization, body.encode()


def counterpart(database: str) -> subprocess.Popen:
    """The simulators under their own gunicorn (the registry's counterpart); SIMULATOR_BASE_URL
    points the adapters at it."""
    from django.conf import settings

    port = servers.free_port()
    servers.LOG_DIR.mkdir(parents=True, exist_ok=True)
    with (servers.LOG_DIR / "imports-counterpart.log").open("wb") as log:
        process = servers.gunicorn(port, 2, servers.environment(database), log)
    try:
        servers.wait_live(f"http://127.0.0.1:{port}", process)
    except SystemExit:
        process.kill()
        raise
    settings.SIMULATOR_BASE_URL = f"http://127.0.0.1:{port}/sim"
    return process


def main() -> None:
    from django.core.cache import cache
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from enrollment import lists
    from enrollment import services as enrollment_services
    from enrollment.models import BeneficiaryList

    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    server = None
    try:
        cache.clear()
        enrollment_services.products_load()
        version, manager, organization, data = build()
        server = counterpart(name)
        client = Client()
        client.force_login(manager.user)
        plan = version.plans.get(code="basic")
        started = time.perf_counter()
        response = client.post(f"/lists/new/?org={organization.pk}", {
            "plan": plan.pk, "file": SimpleUploadedFile("名单.csv", data, content_type="text/csv")})
        upload_ms = (time.perf_counter() - started) * 1000
        assert response.status_code == 302, response.status_code
        print(json.dumps({"name": "import.upload_ms", "value": round(upload_ms), "unit": "ms", "rows": ROWS}))
        beneficiaries = BeneficiaryList.objects.get()
        started = time.perf_counter()
        lists.list_validate(list_id=beneficiaries.pk)
        rate = ROWS / (time.perf_counter() - started)
        beneficiaries.refresh_from_db()
        valid = beneficiaries.rows.filter(status="valid").count()
        assert beneficiaries.status == BeneficiaryList.VALIDATED and valid > ROWS * 0.9, (beneficiaries.status, valid)
        print(json.dumps({"name": "import.rows_per_s", "value": round(rate), "unit": "rows/s", "rows": ROWS}))
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        cache.clear()
        connection.creation.destroy_test_db(name, verbosity=0)


if __name__ == "__main__":
    main()
