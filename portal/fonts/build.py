"""Rebuild ``NotoSansSC-Regular.subset.ttf``: Noto Sans CJK SC Regular (SIL Open Font License 1.1,
``OFL.txt``) cut to the characters the documents need and given TrueType outlines, which ReportLab
embeds (it cannot embed CFF outlines). ReportLab then embeds, in each PDF, only the glyphs that PDF
uses.

The characters: printable ASCII, every character of GB 2312 (its 6,763 hanzi and symbols), the
punctuation the documents print and the name characters outside GB 2312 listed below. A character
outside the font is printed in ReportLab's STSong-Light (``portal.documents``).

Run once by hand; the result is committed (about 2 MB), so ``make install`` needs no font tools::

    apt-get install fonts-noto-cjk          # /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
    uv pip install fonttools                 # any throw-away virtualenv
    python portal/fonts/build.py [NotoSansCJK-Regular.ttc]
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE / "NotoSansSC-Regular.subset.ttf"
SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SC_INDEX = 2  # Noto Sans CJK SC in the collection

# Characters of people's names outside GB 2312 that registries commonly return.
NAME_EXTRAS = (
    "喆堃昇玥珺琇瑄璟镕赟垚犇淼焱晞旻昕晔祎祺琛瑾玙琬彧昶晟翀珩玹琰瑀瑭璠铖锴熠燚鋆淏浛沄汭泓洺湉溱滢"
    "霈婧婕娅姝妤嫣婳婼蓁萱芃苒荞莘菁葳薏苡楠梓棣槿樾栩柘杺昀昉昺晗暄曈暻旸炅炘烜焓焜煊燊翊翾彦骁骅骐"
    "竑竣頔颀颢飏宸宥宬峤崧嵘弈恺忻愔慜懿诩谌谞铄钊镛镝珈玓玠珅珽琨琮瑗瑢璘璨璞瓒琤珉珣玟"
)
PUNCTUATION = "·•●○■□▪–—―‘’“”…‰℃≤≥±×÷→←↑↓√★☆§¥€£、。〃《》「」『』【】〔〕〖〗〜！＂＃％＆＇（）＊＋，－．／：；＜＝＞？＠［］＿｛｜｝～￥"


def characters() -> str:
    chars = {chr(i) for i in range(0x20, 0x7F)}
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.add(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    chars.update(NAME_EXTRAS, PUNCTUATION, "\u00a0\u3000")
    return "".join(sorted(chars))


def to_truetype(font) -> None:
    """Replace the CFF outlines by quadratic TrueType ones (fontTools' cu2qu)."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    glyph_set, glyphs = font.getGlyphSet(), {}
    for name in font.getGlyphOrder():
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder, glyf.glyphs = font.getGlyphOrder(), glyphs
    for tag in ("CFF ", "VORG"):
        if tag in font:
            del font[tag]
    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion, maxp.numGlyphs = 0x00010000, len(glyphs)
    for field in ("maxZones", "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                  "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, field, 0)
    maxp.maxZones = 1
    font["head"].glyphDataFormat = 0
    font["post"].formatType = 3.0
    font.sfntVersion = "\x00\x01\x00\x00"


def main(source: Path = SOURCE) -> None:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(source, fontNumber=SC_INDEX)
    options = subset.Options()
    options.layout_features, options.hinting, options.desubroutinize = [], False, True
    options.name_IDs = ["*"]  # keep the copyright, licence and licence-URL names
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters())
    subsetter.subset(font)
    to_truetype(font)
    font.save(TARGET)
    print(f"{TARGET}: {TARGET.stat().st_size} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE)
