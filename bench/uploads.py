"""upload.bomb_refusal_ms and upload.bomb_peak_rss_mb: crafted XLSX files refused by the shared
table reader (portal/tabular.py) with the beneficiary lists' limits (20 MB, 50,000 rows).

The files: a 20 MB XLSX whose sheet inflates to 1 GiB of rows (declared in the zip's central
directory; padded to 20 MB with a stored part so it passes the size check), a sheet declaring
1,048,576 × 16,384 cells, and a workbook carrying a million shared strings. Each is refused in a
fresh process that has the file in memory already (as an upload would be) and openpyxl imported
(as a server has): the time of the refusal, and the growth of the process's peak RSS during it.
The figures are the worst of the three. One JSON line per figure.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def refuse(path: str) -> None:
    """In the child: read the file, refuse it, print the time and the peak RSS growth."""
    import django

    django.setup()
    import openpyxl  # noqa: F401 - a server has it loaded

    from enrollment.lists import COLUMNS, MAX_BYTES, MAX_ROWS
    from portal import tabular

    data = Path(path).read_bytes()
    before = peak_mb()
    started = time.perf_counter()
    try:
        tabular.read_table("名单.xlsx", data, required=COLUMNS, max_rows=MAX_ROWS, max_bytes=MAX_BYTES)
    except tabular.TableInvalid as exc:
        print(json.dumps({"ms": (time.perf_counter() - started) * 1000, "rss_mb": peak_mb() - before,
                          "message": exc.message}, ensure_ascii=False))
    else:
        raise SystemExit(f"{path} was not refused")


def main() -> None:
    from tests.bombs import crafted_xlsx, inflating_xlsx, shared_strings_xlsx

    with tempfile.TemporaryDirectory(prefix="bench-uploads-") as folder:
        files = {
            "inflating": inflating_xlsx(inflated=1024 ** 3, size=20 * 1024 * 1024, level=1),
            "dimension": crafted_xlsx(dimension="A1:XFD1048576", rows=3),
            "shared_strings": shared_strings_xlsx(count=1_000_000),
        }
        results = {}
        for name, data in files.items():
            path = Path(folder) / f"{name}.xlsx"
            path.write_bytes(data)
            out = subprocess.run([sys.executable, __file__, "--refuse", str(path)], capture_output=True, text=True,
                                 check=True, cwd=ROOT)
            results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    worst_ms = max(results.values(), key=lambda r: r["ms"])
    print(json.dumps({"name": "upload.bomb_refusal_ms", "value": round(worst_ms["ms"], 1), "unit": "ms",
                      "file_mb": round(len(files["inflating"]) / 1024 / 1024, 1),
                      "each": {name: round(r["ms"], 1) for name, r in results.items()}}))
    print(json.dumps({"name": "upload.bomb_peak_rss_mb", "value": round(max(r["rss_mb"] for r in results.values()), 1),
                      "unit": "MB", "each": {name: round(r["rss_mb"], 1) for name, r in results.items()}}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--refuse"]:
        refuse(sys.argv[2])
    else:
        main()
