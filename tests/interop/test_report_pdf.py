"""The printable report: rendered, then read back with pypdf."""

from __future__ import annotations

import io
import math
import re
from datetime import datetime, timezone

import pytest
from gate_support import GATED, KEPT, uninformative
from pypdf import PdfReader

from interop.reports.context import build_report_context
from interop.reports.decisions import decision_lines
from interop.reports.patient_report import (
    DISCLAIMER,
    PredictionLine,
    ReportContext,
    render_patient_report,
)
from models.clinical.quality_gate import UNRELIABLE, outcome_quality
from models.contract.schema import defaults, outcome
from records import repository as repo

WHEN = datetime(2025, 6, 1, 9, 30, tzinfo=timezone.utc)


def read(pdf: bytes) -> PdfReader:
    assert pdf.startswith(b"%PDF")
    return PdfReader(io.BytesIO(pdf))


def page_text(reader: PdfReader) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def image_count(reader: PdfReader) -> int:
    return sum(len(page.images) for page in reader.pages)


def body_words(text: str, patient_id: str = "KAP-00009") -> list[str]:
    """A page's words without its running header and its disclaimer footer."""
    header = f"KAP-CDS patient report · {patient_id} · model v-test"
    return text.replace(" ".join(DISCLAIMER.split()), "").replace(header, "").split()


def minimal_context(**changes) -> ReportContext:
    ctx = ReportContext(
        patient_id="KAP-00009", patient_name="Sam Synthetic", model_version="v-test",
        eligibility_status="not_eligible",
        eligibility_summary="Not eligible. Exclusion: Pregnancy (Pregnancy: yes).",
        eligibility_reasons=["Exclusion: Pregnancy (Pregnancy: yes)"],
        predictions=[PredictionLine("Response", "benefit", 0.42, "observed 40 %",
                                    (0.4, 0.3, 0.5), "0.70")],
        generated_at=WHEN)
    for key, value in changes.items():
        setattr(ctx, key, value)
    return ctx


def test_disclaimer_on_every_page_even_for_long_reports():
    ctx = minimal_context(alerts=[f"Session {i} · worsening (high): PHQ-9 up"
                                  for i in range(1, 120)])
    reader = read(render_patient_report(ctx))
    texts = page_text(reader)
    assert len(texts) >= 3
    for text in texts:
        assert "SYNTHETIC DATA — DECISION SUPPORT ONLY" in text
        assert "not for use with real patients" in text


def test_minimal_context_renders_with_empty_sections():
    reader = read(render_patient_report(minimal_context(predictions=[])))
    text = " ".join(page_text(reader))
    assert "Not eligible" in text and "No predictions available" in text
    assert "No sessions recorded yet" in text and "No alerts" in text


def test_withheld_predictions_are_explained_not_shown():
    ctx = minimal_context(predictions_withheld="missing Route, Dose (enter them first)")
    text = " ".join(page_text(read(render_patient_report(ctx))))
    assert "Predictions withheld: missing Route, Dose" in text and "42%" not in text
    assert "Not checked: no predictions were made" in text


def test_full_report_from_the_model_layer(cohort):
    model_set, card, _ = uninformative()  # response passes the quality gate here
    card = {**card, "version": "20250601T000000Z-test00"}
    patients, sessions = cohort
    pid = "KAP-00015"  # not eligible (uncontrolled hypertension), 3 sessions with BP alerts
    row = patients.set_index("patient_id").loc[pid].to_dict() | {"patient_id": pid}
    ctx = build_report_context(model_set, card, row, sessions[sessions.patient_id == pid],
                               generated_at=WHEN)
    assert ctx.eligibility_status == "not_eligible" and len(ctx.phq9) == 3
    assert len(ctx.predictions) == 6 and ctx.band and ctx.alerts
    assert all(p.uncertainty for p in ctx.predictions)
    pdf = render_patient_report(ctx)
    reader = read(pdf)
    texts = page_text(reader)
    text = " ".join(texts)
    assert 2 <= len(texts) <= 4
    assert all(DISCLAIMER.split(".")[0] in t for t in texts)
    assert "Not eligible" in text and "Uncontrolled hypertension" in text
    for line in ctx.predictions:
        if line.reliable:
            assert line.label in text and f"{line.probability:.0%}" in text
        else:
            assert f"{line.label} — Not shown: {UNRELIABLE}" in text
    assert ctx.explanation_sentences[0][:40] in text
    assert "Post-dose BP" in text and "Model card (summary)" in text
    assert image_count(reader) >= 3  # predictions, explanation, progress charts
    assert "20250601T000000Z-test00" in text
    # HAZ-240: an esketamine patient's dose in mg, never per kg, never an empty dose
    mg = f"{row['esketamine_dose_mg']:g} mg"
    assert ("Dose", mg) in ctx.inputs and f"Dose {mg}" in text
    assert "mg/kg" not in text and not re.search(r"\bnan\b", text)
    assert "not applicable" not in text


def test_report_for_a_patient_without_sessions(trained, cohort):
    model_set, card = trained
    patients, sessions = cohort
    row = patients.iloc[0].to_dict()
    empty = sessions.iloc[0:0]
    ctx = build_report_context(model_set, card, row, empty, explain_outcome="dropout")
    assert ctx.phq9 == [] and ctx.band and ctx.explanation_outcome == "Dropout"
    text = " ".join(page_text(read(render_patient_report(ctx))))
    assert "No sessions recorded yet" in text and "Why: Dropout" in text


@pytest.mark.parametrize("status", ["eligible", "eligible_with_cautions", "no_indication"])
def test_every_status_renders(status):
    text = " ".join(page_text(read(render_patient_report(
        minimal_context(eligibility_status=status)))))
    assert {"eligible": "Eligible", "eligible_with_cautions": "Eligible with cautions",
            "no_indication": "No indication"}[status] in text


def test_the_quality_gate_greys_an_uninformative_outcome_in_the_pdf(cohort):
    model_set, card, _ = uninformative()
    assert not outcome_quality(card, GATED).reliable and outcome_quality(card, KEPT).reliable
    patients, sessions = cohort
    pid = "KAP-00015"
    row = patients.set_index("patient_id").loc[pid].to_dict() | {"patient_id": pid}
    mine = sessions[sessions.patient_id == pid]
    gated, kept = outcome(GATED).label, outcome(KEPT).label
    ctx = build_report_context(model_set, card, row, mine, explain_outcome=GATED,
                               generated_at=WHEN)
    lines = {p.label: p for p in ctx.predictions}
    assert not lines[gated].reliable and math.isnan(lines[gated].probability)
    assert lines[gated].observed is None and UNRELIABLE in lines[gated].uncertainty
    assert lines[kept].reliable and lines[kept].observed is not None
    assert ctx.explanation_sentences == [] and ctx.explanation_effects == []
    reader = read(render_patient_report(ctx))
    text = " ".join(page_text(reader))
    assert f"{gated} — Not shown: {UNRELIABLE}" in text  # no number, no calibration bin
    kept_row = text[text.index(f"{kept} {lines[kept].probability:.0%}"):][:120]
    assert lines[kept].uncertainty[:12] in kept_row  # its number, interval and evidence
    if lines[kept].interval is not None:  # this patient's range follows the probability
        assert f"{lines[kept].interval[1]:.0%})" in kept_row and "<br" not in kept_row
    assert f"Why: {gated} {gated}: not explained — {UNRELIABLE}" in text
    gate_line = text[text.index("Quality gate (lower 95 % bound"):]
    assert gated in gate_line[:300] and kept not in gate_line[:300]  # the card summary too
    assert image_count(reader) == 2  # predictions and progress; no explanation chart
    explained = build_report_context(model_set, card, row, mine, explain_outcome=KEPT)
    assert explained.explanation_sentences and explained.explanation_effects


# before the fix, 19, 20, 47, 48, 106 and 107 alerts each ended on a disclaimer-only page
@pytest.mark.parametrize("n_alerts, pages", [(0, 1), (19, 2), (20, 2), (47, 3), (48, 3),
                                             (106, 4), (107, 4)])
def test_no_page_holds_only_the_disclaimer_and_it_is_printed_once_a_page(n_alerts, pages):
    """Issue 30: the story ended with a copy of the disclaimer that, when the last section
    filled its page, spilled onto a page of its own: blank but the
    disclaimer, printed twice there. Now the footer alone carries it, once per page."""
    ctx = minimal_context(alerts=[f"Session {i} alert line" for i in range(n_alerts)])
    texts = page_text(read(render_patient_report(ctx)))
    assert len(texts) == pages
    disclaimer = " ".join(DISCLAIMER.split())
    for number, text in enumerate(texts, start=1):
        assert text.count(disclaimer) == 1, (number, text[:200])
        words = body_words(text)
        assert words[:2] == ["page", f"{number}"] and len(words) > 4, (number, text[:200])
    assert "Model card (summary)" in texts[-1]  # the last section ends the last page


def test_the_recorded_decisions_are_in_the_report(db):
    """The clinician's decisions (what, who, when, why) print with the screen's suggestion,
    reasons as typed (escaped, never markup)."""
    repo.add_patient(db, {"patient_id": "KAP-00009", "name": "Sam Synthetic", **defaults()})
    repo.record_decision(db, "KAP-00009", decision="do_not_proceed",
                         suggested="proceed_with_cautions", clinician="dr-rivera",
                         role="clinician", model_version="v-test",
                         reason="BP 172/104 <b>today</b>; recheck in two weeks")
    db.commit()
    lines = decision_lines(db, "KAP-00009")
    assert len(lines) == 1 and "do not proceed, by dr-rivera (clinician)" in lines[0]
    text = " ".join(page_text(read(render_patient_report(minimal_context(decisions=lines)))))
    assert "Clinician decisions (append-only record)" in text
    assert "do not proceed, by dr-rivera (clinician); suggested by the screen: proceed " \
           "with cautions; model v-test. Reason: BP 172/104 <b>today</b>; recheck" in text
    when = repo.decisions_for(db, "KAP-00009")[0].created_at
    from base.clock import clinic_text
    assert clinic_text(when) in text


def test_a_report_without_decisions_says_so():
    text = " ".join(page_text(read(render_patient_report(minimal_context()))))
    assert "No decision recorded for this patient yet." in text
