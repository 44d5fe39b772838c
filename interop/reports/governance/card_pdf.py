"""The governance card as a PDF a board can file: the card's sections, the 31 HTI-1
attributes and the TRIPOD+AI status, with the synthetic-data notice on every page."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import matplotlib
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from interop.reports.governance.sections import attribute_text, card_sections
from interop.reports.governance.tripod_md import REFERENCE

FONT, BOLD = "KapGovSans", "KapGovSans-Bold"
WIDTH = A4[0] - 36 * mm


@lru_cache(maxsize=1)
def _fonts() -> None:
    """DejaVu Sans (shipped with matplotlib) so –, ≥ and § print."""
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont(FONT, str(folder / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(folder / "DejaVuSans-Bold.ttf")))


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("gov-body", fontName=FONT, fontSize=8.5, leading=11)
    return {"body": body,
            "title": ParagraphStyle("gov-title", parent=body, fontName=BOLD, fontSize=15,
                                    leading=19),
            "h2": ParagraphStyle("gov-h2", parent=body, fontName=BOLD, fontSize=11, leading=14,
                                 spaceBefore=8, spaceAfter=3,
                                 textColor=colors.HexColor("#1d3557")),
            "attr": ParagraphStyle("gov-attr", parent=body, fontName=BOLD, spaceBefore=4),
            "cell": ParagraphStyle("gov-cell", parent=body, fontSize=7.5, leading=9.5),
            "bullet": ParagraphStyle("gov-bullet", parent=body, leftIndent=10, bulletIndent=2)}


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _table(rows: list[list[str]], widths: list[float], s: dict[str, ParagraphStyle]) -> Table:
    table = Table([[_p(c, s["cell"]) for c in row] for row in rows], colWidths=widths,
                  repeatRows=1)
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.25,
                                colors.HexColor("#cccccc")),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5"))]))
    return table


def _footer(notice: str, version: str) -> Any:
    def draw(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.setFillColor(colors.HexColor("#7a4b00"))
        canvas.drawString(18 * mm, 10 * mm, notice[:150])
        canvas.drawRightString(A4[0] - 18 * mm, A4[1] - 10 * mm,
                               f"KAP-CDS governance card · {version} · page {doc.page}")
        canvas.restoreState()
    return draw


def card_pdf(facts: dict[str, Any]) -> bytes:
    """The governance card as PDF bytes (A4)."""
    _fonts()
    s = _styles()
    story: list[Flowable] = [
        _p(f"Governance card: {facts['title']}", s["title"]),
        _p(f"Version {facts['version']}, created {facts['created_utc'] or 'not recorded'}, "
           f"trained by {facts['trained_by'] or 'unknown'}", s["body"]),
        _p(facts["notice"], s["h2"]), Spacer(1, 4)]
    for heading, body in card_sections(facts):
        story.append(_p(heading, s["h2"]))
        story += [Paragraph(escape(line), s["bullet"], bulletText="•") for line in body if line]
    story.append(_p("HTI-1 source attributes (45 CFR 170.315(b)(11)(iv))", s["h2"]))
    for e in facts["hti1"]:  # flowing text: attributes 22 and 29 run over pages
        story.append(_p(f"{e['number']}. {e['title']}", s["attr"]))
        story += [Paragraph(escape(line), s["bullet"], bulletText="–")
                  for line in attribute_text(e).split("\n") if line]
    story += [_p("TRIPOD+AI status", s["h2"]), _p(REFERENCE, s["body"]),
              _table([["item", "topic", "status", "where (or why not)"]] + [
                  [i["item"], i["topic"], i["status"], i["where"]] for i in facts["tripod"]],
                  [12 * mm, 55 * mm, 25 * mm, WIDTH - 92 * mm], s)]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=16 * mm, bottomMargin=18 * mm,
                            title=f"KAP-CDS governance card {facts['version']}",
                            author="KAP-CDS (synthetic data)")
    footer = _footer(facts["notice"], facts["version"])
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
