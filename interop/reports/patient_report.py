"""A printable patient report (PDF): screen, predictions, explanation, progress, model card.

Built with reportlab and matplotlib PNG charts, so it needs no browser. The caller (the
dashboard, or ``kapcds report``) fills a plain ``ReportContext``; ``build_report_context``
in ``interop.reports.context`` fills one from the model layer. The synthetic-data and
decision-support disclaimer is printed once on every page, in its footer, and nowhere else: a
copy at the end of the story used to spill onto a page of its own (blank but the disclaimer,
printed twice there; issue 30).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import matplotlib
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from base.clock import clinic_text
from interop.reports import charts as report_charts

log = logging.getLogger(__name__)

DISCLAIMER = ("SYNTHETIC DATA — DECISION SUPPORT ONLY. Every model and patient here is "
              "synthetic; not for use with real patients. These estimates inform, and never "
              "replace, a clinician's judgement.")
STATUS = {"eligible": ("Eligible", "#2b7a4b"),
          "eligible_with_cautions": ("Eligible with cautions", "#a86a00"),
          "not_eligible": ("Not eligible", "#b5443b"),
          "no_indication": ("No indication", "#4a5a6a")}
FONT, BOLD = "KapSans", "KapSans-Bold"
WIDTH = A4[0] - 36 * mm


@dataclass
class PredictionLine:
    """One predicted outcome and the evidence for how far to trust it."""

    label: str
    kind: str  # "benefit" or "risk"
    probability: float
    uncertainty: str = ""
    observed: tuple[float, float, float] | None = None  # rate, lo, hi in similar patients
    auc: str = ""
    reliable: bool = True  # False: fails the quality gate, printed greyed with no number
    # this patient's interval (models.learners.uncertainty)
    interval: tuple[float, float] | None = None


@dataclass
class ReportContext:
    """Everything the report prints, as plain values (no models, no database)."""

    patient_id: str
    patient_name: str
    model_version: str
    eligibility_status: str  # models.clinical.eligibility Status code
    eligibility_summary: str
    eligibility_reasons: list[str] = field(default_factory=list)
    predictions: list[PredictionLine] = field(default_factory=list)
    predictions_withheld: str = ""  # why predictions are not shown (e.g. missing inputs)
    explanation_outcome: str = ""
    explanation_sentences: list[str] = field(default_factory=list)
    explanation_effects: list[tuple[str, float]] = field(default_factory=list)
    explanation_withheld: str = ""  # why the explanation is not printed (quality gate)
    phq9: list[tuple[int, float]] = field(default_factory=list)
    band: list[tuple[int, float, float, float]] | None = None
    baseline_phq9: float | None = None
    progress_status: str = ""
    alerts: list[str] = field(default_factory=list)
    ood: list[str] = field(default_factory=list)
    model_card: list[str] = field(default_factory=list)
    inputs: list[tuple[str, str]] = field(default_factory=list)
    generated_at: datetime | None = None
    followup: list[str] = field(default_factory=list)  # interop.reports.followup (may be empty)
    decisions: list[str] = field(default_factory=list)  # interop.reports.decisions (may be empty)


@lru_cache(maxsize=1)
def _fonts() -> None:
    """DejaVu Sans (shipped with matplotlib) so ≥, – and ² print correctly."""
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdfmetrics.registerFont(TTFont(FONT, str(folder / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(folder / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
    return {
        "body": body,
        "title": ParagraphStyle("title", parent=body, fontName=BOLD, fontSize=16, leading=20),
        "h2": ParagraphStyle("h2", parent=body, fontName=BOLD, fontSize=11.5, leading=15,
                             spaceBefore=9, spaceAfter=3, textColor=colors.HexColor("#1d3557")),
        "small": ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5,
                                textColor=colors.HexColor("#444444")),
        "bullet": ParagraphStyle("bullet", parent=body, leftIndent=10, bulletIndent=2),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8, leading=10),
        "greyed": ParagraphStyle("greyed", parent=body, fontSize=8, leading=10,
                                 textColor=colors.HexColor("#8a8a8a")),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _bullets(items: list[str], s: dict[str, ParagraphStyle], empty: str) -> list[Paragraph]:
    if not items:
        return [_p(empty, s["body"])]
    return [Paragraph(escape(item), s["bullet"], bulletText="•") for item in items]


def _image(png: bytes, width: float = WIDTH) -> Image:
    image = Image(io.BytesIO(png))
    scale = width / image.imageWidth
    image.drawWidth, image.drawHeight = width, image.imageHeight * scale
    return image


def _table(rows: list[list[Paragraph]], widths: list[float], header: bool = True) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    style = [("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#cccccc")),
             ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")))
    table.setStyle(TableStyle(style))
    return table


def _inputs(ctx: ReportContext, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    if not ctx.inputs:
        return []
    half = (len(ctx.inputs) + 1) // 2
    left, right = ctx.inputs[:half], ctx.inputs[half:] + [("", "")] * (2 * half - len(ctx.inputs))
    rows = [[_p(a, s["cell"]), _p(b, s["cell"]), _p(c, s["cell"]), _p(d, s["cell"])]
            for (a, b), (c, d) in zip(left, right, strict=True)]
    return [_p("Key inputs", s["h2"]), _table(rows, [WIDTH * w for w in (.27, .23, .27, .23)],
                                              header=False)]


def _eligibility(ctx: ReportContext, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    label, colour = STATUS.get(ctx.eligibility_status, (ctx.eligibility_status, "#000000"))
    return [_p("Eligibility screen (rule-based, clinical-reference §4)", s["h2"]),
            Paragraph(f'<font name="{BOLD}" color="{colour}">{escape(label)}</font>',
                      s["body"]), _p(ctx.eligibility_summary, s["body"]), Spacer(1, 3),
            *_bullets(ctx.eligibility_reasons, s, "No findings.")]


def _predictions(ctx: ReportContext, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    out: list[Flowable] = [_p("Predicted outcomes over the induction series", s["h2"])]
    if ctx.predictions_withheld:
        return out + [_p(f"Predictions withheld: {ctx.predictions_withheld}", s["body"])]
    if not ctx.predictions:
        return out + [_p("No predictions available.", s["body"])]
    rows = [[_p(h, s["cell"]) for h in ("Outcome", "Predicted",
                                        "How such predictions turned out (held-out patients)",
                                        "ROC AUC (95 % CI)")]]
    for p in ctx.predictions:  # a gated outcome: greyed, no number (models.clinical.quality_gate)
        cell = s["cell"] if p.reliable else s["greyed"]
        rows.append([_p(p.label, cell), _p(_predicted_text(p) if p.reliable else "—", cell),
                     _p(p.uncertainty or "not available", cell), _p(p.auc or "n/a", cell)])
    out.append(_table(rows, [WIDTH * w for w in (.21, .12, .47, .2)]))
    shown = [p for p in ctx.predictions if p.reliable]
    if not shown:
        return out
    chart = _image(report_charts.predictions_chart(
        [p.label for p in shown], [p.kind for p in shown],
        [p.probability for p in shown], [p.observed for p in shown]), WIDTH * 0.85)
    out.append(KeepTogether([chart, _p(
        "The range under each prediction is a 90 % interval for this patient's probability "
        "(bootstrap spread plus the model's estimated approximation error); the middle "
        "column is what happened to held-out test patients whose predictions were similar.",
        s["small"])]))
    return out


def _predicted_text(line: PredictionLine) -> str:
    if line.interval is None:
        return f"{line.probability:.0%}"
    return f"{line.probability:.0%} ({line.interval[0]:.0%}–{line.interval[1]:.0%})"


def _explanation(ctx: ReportContext, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    if ctx.explanation_withheld:
        return [_p(f"Why: {ctx.explanation_outcome}", s["h2"]),
                _p(ctx.explanation_withheld, s["greyed"])]
    if not ctx.explanation_sentences and not ctx.explanation_effects:
        return []
    out: list[Flowable] = [_p(f"Why: {ctx.explanation_outcome}", s["h2"])]
    out += _bullets(ctx.explanation_sentences, s, "")
    if ctx.explanation_effects:
        out.append(_image(report_charts.explanation_chart(
            ctx.explanation_effects, f"Largest effects on {ctx.explanation_outcome.lower()}"),
            WIDTH * 0.85))
    out.append(_p("Exact TreeSHAP contributions: associations the model learned from "
                  "synthetic data, not causes.", s["small"]))
    return out


def _progress(ctx: ReportContext, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    out: list[Flowable] = [_p("Treatment progress", s["h2"])]
    if ctx.progress_status:
        out.append(_p(f"Status: {ctx.progress_status}", s["body"]))
    if not ctx.phq9:
        out.append(_p("No sessions recorded yet.", s["body"]))
    if ctx.phq9 or ctx.band:
        out.append(_image(report_charts.progress_chart(ctx.phq9, ctx.band, ctx.baseline_phq9),
                          WIDTH * 0.9))
    return [KeepTogether(out)]


def _decorate(ctx: ReportContext) -> Callable[[Canvas, Any], None]:
    """Header (patient, model version, page) and the disclaimer footer of every page."""
    def draw(canvas: Canvas, doc: Any) -> None:
        width, height = A4
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(18 * mm, height - 11 * mm, f"KAP-CDS patient report · "
                          f"{ctx.patient_id} · model {ctx.model_version}")
        canvas.drawRightString(width - 18 * mm, height - 11 * mm, f"page {doc.page}")
        lines = simpleSplit(DISCLAIMER, FONT, 7.5, width - 40 * mm)
        box = 4 * mm + 9 * len(lines)
        canvas.setFillColor(colors.HexColor("#fff4e5"))
        canvas.rect(18 * mm, 8 * mm, width - 36 * mm, box, stroke=0, fill=1)
        canvas.setFillColor(colors.HexColor("#7a4b00"))
        for i, line in enumerate(lines):
            canvas.drawString(20 * mm, 8 * mm + box - 2.2 * mm - 9 * (i + 1) + 2, line)
        canvas.restoreState()
    return draw


def render_patient_report(context: ReportContext) -> bytes:
    """The patient report as PDF bytes (A4)."""
    _fonts()
    s = _styles()
    when = clinic_text(context.generated_at or datetime.now(timezone.utc))
    story: list[Flowable] = [
        _p(f"Patient report: {context.patient_name} ({context.patient_id})", s["title"]),
        _p(f"Generated {when} · model version {context.model_version} · decision support, "
           "not a decision", s["small"]), Spacer(1, 4),
        *_inputs(context, s), *_eligibility(context, s), *_predictions(context, s),
        *_explanation(context, s), *_progress(context, s),
        KeepTogether([_p("Alerts", s["h2"]), *_bullets(context.alerts, s, "No alerts.")]),
        KeepTogether([_p("Clinician decisions (append-only record)", s["h2"]), *_bullets(
            context.decisions, s, "No decision recorded for this patient yet.")]),
        KeepTogether([_p("Follow-up after the series", s["h2"]), *_bullets(
            context.followup, s, "No follow-up visits, maintenance sessions or plans "
            "recorded.")]),
        KeepTogether([_p("Out-of-distribution checks", s["h2"]), *_bullets(
            context.ood, s, "All inputs lie within what the models were trained on."
            if context.predictions and not context.predictions_withheld
            else "Not checked: no predictions were made.")]),
        KeepTogether([_p("Model card (summary)", s["h2"]),
                      *_bullets(context.model_card, s, "No model card available.")]),
    ]  # the disclaimer is in every page's footer (_decorate), never a paragraph here
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=16 * mm, bottomMargin=24 * mm,
                            title=f"KAP-CDS report {context.patient_id}",
                            author="KAP-CDS (synthetic data)",
                            subject="Decision support on synthetic data")
    doc.build(story, onFirstPage=_decorate(context), onLaterPages=_decorate(context))
    log.info("rendered report for %s (%d bytes)", context.patient_id, buffer.tell())
    return buffer.getvalue()
