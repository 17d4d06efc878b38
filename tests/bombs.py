"""Crafted spreadsheets for the upload bounds (tests and ``bench/uploads.py``): a real workbook made
by openpyxl whose sheet part is replaced by a stream of XML written straight into the zip."""

from __future__ import annotations

import io
import zipfile

from openpyxl import Workbook

SHEET = "xl/worksheets/sheet1.xml"
HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')


def _row(number: int) -> str:
    return (f'<row r="{number}"><c r="A{number}" t="inlineStr"><is><t>某某</t></is></c>'
            f'<c r="B{number}" t="inlineStr"><is><t>620602197505201231</t></is></c></row>')


def _deflated(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def crafted_xlsx(*, dimension: str | None, rows: int, padding: int = 0, chunk_rows: int = 2000) -> bytes:
    """A workbook whose sheet declares ``dimension`` (or none) and holds a header and ``rows`` rows,
    written in chunks so a sheet of any size costs little memory; ``padding`` bytes of random data
    in a stored part make the file as large as wanted."""
    import os

    book = Workbook()
    book.active.append(["姓名", "身份证号"])
    base = io.BytesIO()
    book.save(base)
    out = io.BytesIO()
    with zipfile.ZipFile(base) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename != SHEET:
                target.writestr(item, source.read(item.filename))
        with target.open(_deflated(SHEET), "w", force_zip64=True) as sheet:
            sheet.write((HEAD + (f'<dimension ref="{dimension}"/>' if dimension else "") + "<sheetData>"
                         '<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c>'
                         '<c r="B1" t="inlineStr"><is><t>身份证号</t></is></c></row>').encode())
            for start in range(2, rows + 2, chunk_rows):
                sheet.write("".join(_row(n) for n in range(start, min(start + chunk_rows, rows + 2))).encode())
            sheet.write(b"</sheetData></worksheet>")
        if padding:
            target.writestr(zipfile.ZipInfo("xl/media/padding.bin"), os.urandom(padding),
                            compress_type=zipfile.ZIP_STORED)
    return out.getvalue()


def inflating_xlsx(*, inflated: int, size: int = 0, level: int = 9) -> bytes:
    """A workbook whose sheet inflates to ``inflated`` bytes of the same row repeated (a zip bomb:
    a few hundredths to a thousandth of that compressed), padded with a stored part of random
    bytes to about ``size`` bytes in all."""
    import os

    book = Workbook()
    book.active.append(["姓名", "身份证号"])
    base = io.BytesIO()
    book.save(base)
    out = io.BytesIO()
    chunk = (_row(2) * (1024 * 1024 // len(_row(2)))).encode()
    with zipfile.ZipFile(base) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as target:
        for item in source.infolist():
            if item.filename != SHEET:
                target.writestr(item, source.read(item.filename))
        with target.open(_deflated(SHEET), "w", force_zip64=True) as sheet:
            sheet.write((HEAD + "<sheetData>").encode())
            for _ in range(inflated // len(chunk)):
                sheet.write(chunk)
            sheet.write(b"</sheetData></worksheet>")
        padding = size - out.tell() - 2048
        if padding > 0:
            target.writestr(zipfile.ZipInfo("xl/media/padding.bin"), os.urandom(padding),
                            compress_type=zipfile.ZIP_STORED)
    return out.getvalue()


def shared_strings_xlsx(*, count: int) -> bytes:
    """A small workbook carrying ``count`` distinct shared strings (openpyxl reads them all, whole,
    before the first row)."""
    book = Workbook()
    book.active.append(["姓名", "身份证号"])
    base = io.BytesIO()
    book.save(base)
    out = io.BytesIO()
    override = (b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    with zipfile.ZipFile(base) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", override)
            target.writestr(item, data)
        with target.open(_deflated("xl/sharedStrings.xml"), "w") as strings:
            strings.write(b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/'
                          b'spreadsheetml/2006/main">')
            for start in range(0, count, 10_000):
                strings.write("".join(f"<si><t>{n}</t></si>" for n in range(start, min(start + 10_000, count)))
                              .encode())
            strings.write(b"</sst>")
    return out.getvalue()
