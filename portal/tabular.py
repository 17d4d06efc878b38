"""Reading an uploaded table (CSV in UTF-8, UTF-8 with BOM or GBK, or XLSX) into rows of text.

One reader for every import: the registry roster (simulator), staff settlement imports and
insurers' payment return files. A file that cannot be read is refused whole with one Chinese
sentence; nothing is guessed — an ID a spreadsheet turned into a number keeps the digits it shows
(``6.20602E+17``), so the row's validation says so.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

MAX_BYTES = 10 * 1024 * 1024


class TableInvalid(Exception):
    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TableInvalid("文件编码无法识别，请另存为 UTF-8 或 GBK 编码的 CSV，或 XLSX 文件。")


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # A spreadsheet turned the value into a number: keep what it shows, never guess digits.
        return f"{value:E}" if value >= 1e15 else (str(int(value)) if value.is_integer() else str(value))
    if isinstance(value, int):
        return str(value)
    return str(value).strip()


def read_table(filename: str, data: bytes, *, required: tuple[str, ...], max_rows: int,
               max_bytes: int = MAX_BYTES) -> list[dict[str, str]]:
    if len(data) > max_bytes:
        raise TableInvalid(f"文件超过{max_bytes // 1024 // 1024}MB，请拆分后分批导入。")
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise TableInvalid("无法读取该 XLSX 文件，请确认文件未损坏。") from exc
        rows = sheet.iter_rows(values_only=True)
        header = [str(cell).strip() if cell is not None else "" for cell in next(rows, [])]
        records = [
            {header[i]: cell_text(value) for i, value in enumerate(row) if i < len(header)}
            for row in rows
            if any(value not in (None, "") for value in row)
        ]
    elif filename.lower().endswith(".csv"):
        reader = csv.DictReader(io.StringIO(_decode(data)))
        header = [h.strip() for h in reader.fieldnames or []]
        records = [{(k or "").strip(): (v or "").strip() for k, v in row.items() if isinstance(v, str) or v is None}
                   for row in reader]
    else:
        raise TableInvalid("只支持 CSV 或 XLSX 文件。")
    missing = [column for column in required if column not in header]
    if missing:
        raise TableInvalid(f"缺少必需的列：{'、'.join(missing)}（请使用模板）。")
    if len(records) > max_rows:
        raise TableInvalid(f"行数超过{max_rows}行，请拆分后分批导入。")
    return records


# --- Writing exports ---------------------------------------------------------------------------


def safe(value):
    """Spreadsheet software runs cells starting with = + - @ as formulas: quote text cells so."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return f"'{value}"
    return value


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def to_csv(header: list[str], rows) -> bytes:
    """UTF-8 with BOM (so spreadsheet software reads the Chinese), every text cell made safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_text(safe(v)) for v in row])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(header: list[str], rows, *, title: str = "Sheet1") -> bytes:
    """One sheet; money (Decimal) cells shown with two places, every text cell made safe."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append(header)

    def cell(value):
        if isinstance(value, Decimal):
            money = WriteOnlyCell(sheet, value=value)
            money.number_format = "0.00"
            return money
        return safe(value)

    for row in rows:
        sheet.append([cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
