"""Reading an uploaded table (CSV in UTF-8, UTF-8 with BOM or GBK, or XLSX) into rows of text.

One reader for every import: the registry roster (simulator), staff settlement imports and
insurers' payment return files. A file that cannot be read is refused whole with one Chinese
sentence; nothing is guessed — an ID a spreadsheet turned into a number keeps the digits it shows
(``6.20602E+17``), so the row's validation says so.
"""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal

MAX_BYTES = 10 * 1024 * 1024
MAX_UNCOMPRESSED = 64 * 1024 * 1024  # what an XLSX may unpack to, all parts together
MAX_COLUMNS = 64
MAX_PARTS = 200
STRINGS_PER_ROW = 8  # distinct texts a row may bring to the shared strings, on average
STRING_BYTES = 32  # and the XML each takes, on average (<si><t>620602197505201231</t></si> is 33)
BROKEN = {"xlsx": "无法读取该 XLSX 文件，请确认文件未损坏。", "csv": "无法读取该 CSV 文件，请确认文件未损坏。"}


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
               max_bytes: int = MAX_BYTES, max_uncompressed: int = MAX_UNCOMPRESSED) -> list[dict[str, str]]:
    """The file's rows as dicts keyed by the header, or ``TableInvalid``. Bounded before and while
    reading: the size; for XLSX the zip's declared uncompressed total and the sheet's declared
    dimensions before anything is parsed, then a streaming read that stops past ``max_rows``; for
    CSV a read that stops past ``max_rows``."""
    if len(data) > max_bytes:
        raise TableInvalid(f"文件超过{max_bytes // 1024 // 1024}MB，请拆分后分批导入。")
    if filename.lower().endswith(".xlsx"):
        header, rows = _xlsx_rows(data, max_rows=max_rows, max_uncompressed=max_uncompressed)
    elif filename.lower().endswith(".csv"):
        header, rows = _csv_rows(data)
    else:
        raise TableInvalid("只支持 CSV 或 XLSX 文件。")
    missing = [column for column in required if column not in header]
    if missing:
        raise TableInvalid(f"缺少必需的列：{'、'.join(missing)}（请使用模板）。")
    records = []
    read = 0
    try:
        for row in rows:
            read += 1
            if row is None:  # an empty row: skipped, but counted towards the hard stop
                if read > 2 * max_rows + 1000:
                    raise TableInvalid(f"行数超过{max_rows}行，请拆分后分批导入。")
                continue
            records.append(row)
            if len(records) > max_rows:  # stop here: nothing past the limit is read
                raise TableInvalid(f"行数超过{max_rows}行，请拆分后分批导入。")
    except TableInvalid:
        raise
    except Exception as exc:  # a part that does not parse (openpyxl and csv raise many kinds)
        raise TableInvalid(BROKEN.get(filename.lower().rsplit(".", 1)[-1], BROKEN["xlsx"])) from exc
    return records


def _xlsx_rows(data: bytes, *, max_rows: int, max_uncompressed: int):
    """Refuse by the zip's central directory (declared uncompressed sizes: ``zipfile`` never inflates
    a part past its declared size) and by the sheet's declared dimensions, before openpyxl parses
    anything; then the rows one at a time (read-only, streaming), ``None`` for an empty row."""
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise TableInvalid(BROKEN["xlsx"]) from exc
    if len(parts) > MAX_PARTS or sum(part.file_size for part in parts) > max_uncompressed:
        raise TableInvalid(f"XLSX 文件解压后超过{max_uncompressed // 1024 // 1024}MB，请拆分后分批导入，"
                           "或另存为 CSV 文件。")
    # openpyxl reads the shared strings whole before the first row: bound their declared size, then
    # count them (streamed) before it does.
    strings = [part for part in parts if part.filename.lower().endswith("sharedstrings.xml")]
    if (sum(part.file_size for part in strings) > (max_rows + 1) * STRINGS_PER_ROW * STRING_BYTES
            or _shared_strings(data, strings) > (max_rows + 1) * STRINGS_PER_ROW):
        raise TableInvalid(f"行数超过{max_rows}行，请拆分后分批导入。")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.active
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise TableInvalid(BROKEN["xlsx"]) from exc
    if sheet is None or not hasattr(sheet, "iter_rows"):
        raise TableInvalid(BROKEN["xlsx"])
    if (sheet.max_row or 0) > max_rows + 1 or (sheet.max_column or 0) > MAX_COLUMNS:
        raise TableInvalid(f"表格声明的范围超过{max_rows}行或{MAX_COLUMNS}列，请删除多余的行列或拆分后分批导入。")
    # The declared size only ever pads the rows openpyxl yields: forget it, read what is there.
    sheet.reset_dimensions()
    rows = sheet.iter_rows(values_only=True)
    try:
        first = next(rows, None) or []
    except Exception as exc:
        raise TableInvalid(BROKEN["xlsx"]) from exc
    header = [str(cell).strip() if cell is not None else "" for cell in first]

    def records():
        for row in rows:
            if not any(value not in (None, "") for value in row):
                yield None
                continue
            yield {header[i]: cell_text(value) for i, value in enumerate(row) if i < len(header)}

    return header, records()


def _shared_strings(data: bytes, parts) -> int:
    """How many strings the workbook's shared-strings parts declare, counted in the inflated stream
    (a megabyte at a time) without parsing it."""
    count = 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for part in parts:
            with archive.open(part) as stream:
                tail = b""
                while chunk := stream.read(1024 * 1024):
                    window = tail + chunk
                    count += sum(window.count(tag) for tag in (b"<si>", b"<si ", b":si>", b":si "))
                    tail = window[-3:]  # a tag across the boundary is whole only in the next window
    return count


def _csv_rows(data: bytes):
    reader = csv.DictReader(io.StringIO(_decode(data)))
    try:
        header = [h.strip() for h in reader.fieldnames or []]
    except csv.Error as exc:
        raise TableInvalid(BROKEN["csv"]) from exc

    def records():
        for row in reader:
            yield {(k or "").strip(): (v or "").strip() for k, v in row.items() if isinstance(v, str) or v is None}

    return header, records()


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
