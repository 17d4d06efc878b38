"""What every PDF the portal issues shares: the embedded CJK font and its fallback, and the styles.

The font is ``portal/fonts/NotoSansSC-Regular.subset.ttf`` (Noto Sans CJK SC, SIL OFL 1.1, cut to
GB 2312 and the documents' punctuation by ``portal/fonts/build.py``); ReportLab embeds in each PDF
only the glyphs it uses, so a reader without any Chinese font shows every character. A character
the font lacks (a rare name character) is set in ReportLab's built-in STSong-Light CID font, which
readers supply: better than a blank.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

FONT_FILE = Path(__file__).resolve().parent / "fonts" / "NotoSansSC-Regular.subset.ttf"
FONT = "NotoSansSC"
FALLBACK = "STSong-Light"

pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE)))
pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK))


@cache
def _covered() -> frozenset[int]:
    return frozenset(pdfmetrics.getFont(FONT).face.charToGlyph)


def missing(text: str) -> set[str]:
    """The characters of ``text`` the embedded font lacks."""
    covered = _covered()
    return {c for c in text if ord(c) not in covered and not c.isspace()}


def markup(value) -> str:
    """``value`` as Paragraph markup: escaped, characters outside the font set in the fallback font."""
    text = str(value)
    gaps = missing(text)
    if not gaps:
        return escape(text)
    out = []
    for c in text:
        out.append(f'<font name="{FALLBACK}">{escape(c)}</font>' if c in gaps else escape(c))
    return "".join(out)


def style(name: str, size: float, *, leading: float | None = None, **extra) -> ParagraphStyle:
    return ParagraphStyle(name, fontName=FONT, fontSize=size, leading=leading or size * 1.45, wordWrap="CJK",
                          **extra)


def canvasmaker(*args, **kwargs):
    """A canvas whose initial font is the embedded one, so no PDF names a font it does not embed."""
    from reportlab.pdfgen.canvas import Canvas

    kwargs.update(initialFontName=FONT, initialFontSize=10)
    return Canvas(*args, **kwargs)
