"""Model lab: renders the current version's evaluation, trains a tiny cohort in the background,
registers it as a candidate, and promotes it only after an explicit confirmation."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from apptest_helpers import plotly_figures, sign_in, texts, wait_for_job
from promotion_support import worse_candidate
from streamlit.testing.v1 import AppTest

from base import settings
from dashboard.services.lab import versions as service_lab
from dashboard.widgets.components import BANNER_TEXT
from models.store.registry import Registry
from records.audit import trail as audit
from records.db import make_engine, session_factory

VIEW = Path(__file__).resolve().parents[2] / "dashboard" / "views" / "model_lab.py"


@pytest.fixture
def page(kapcds_home: Path) -> AppTest:
    """The page on its own (the router registers it separately)."""
    at = sign_in(AppTest.from_file(str(VIEW), default_timeout=180), "data_scientist")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_renders_evaluation(page: AppTest) -> None:
    assert BANNER_TEXT in texts(page.warning)
    kinds = {trace["type"] for f in plotly_figures(page) for trace in f["data"]}
    assert {"scatter", "bar"} <= kinds
    assert "held-out" in texts(page.caption)
    assert any("largest gap" in d.value.columns for d in page.dataframe
               if hasattr(d.value, "columns"))
    compare = _select(page, "Candidate") if "train a candidate first" not in texts(
        page.info) else None
    assert compare is None or compare.options


def test_background_training_then_promote(page: AppTest) -> None:
    registry = Registry(settings.default_registry_dir())
    original = registry.current_version()
    try:
        page.radio(key="ml_source").set_value("generate a synthetic cohort").run()
        page.number_input(key="ml_n").set_value(300).run()
        page.number_input(key="ml_boot").set_value(10).run()
        page.button(key="ml_train").click().run()
        job = wait_for_job(page.session_state["ml_job"])  # run by the worker process
        assert job.status == "done", job.error
        page.run()
        assert f"Registered candidate version {job.result_version}" in texts(page.success)
        candidate = job.result_version
        label = service_lab.version_labels(registry)[candidate]
        assert label.startswith(f"{candidate} — generated (seed 1), 300 patients, ")
        assert label.endswith(", by test-data-scientist")  # trained_by: who started the job
        assert label in _select(page, "Candidate").options  # ids carry their description
        _select(page, "Candidate").set_value(candidate).run()
        assert page.button(key="ml_promote").disabled
        assert registry.current_version() == original
        _confirmation(page, candidate).check().run()
        _reason(page).input("tiny cohort, promoted to test the lab").run()  # issue 23
        page.button(key="ml_promote").click().run()
        assert not page.exception, [e.value for e in page.exception]
        assert registry.current_version() == candidate
        assert candidate in texts(page.warning)  # the banner names the promoted version
        promoted = texts(page.success)
        assert f"Promoted {candidate} (generated (seed 1), 300 patients" in promoted
        assert f"replacing {original}" in promoted
        assert f"**Current version:** {candidate} — generated" in texts(page.markdown)
        # the old version is now the candidate, and its confirmation starts unticked
        assert _select(page, "Candidate").value == original
        assert _confirmation(page, original).value is False
        assert page.button(key="ml_promote").disabled
        page.run()  # the message is said once, not on every rerun
        assert "Promoted" not in texts(page.success)
    finally:
        registry.promote(original)


def _select(page: AppTest, label: str):
    """The selectbox called ``label`` (its key changes with each promotion)."""
    (box,) = [s for s in page.selectbox if s.label == label]
    return box


def _confirmation(page: AppTest, version: str):
    """The promotion confirmation checkbox shown for ``version``."""
    (box,) = [c for c in page.checkbox if version in c.label]
    return box


def _reason(page: AppTest):
    """The promotion's reason box (its key changes with the candidate and each promotion)."""
    (box,) = [t for t in page.text_area if t.label.startswith("Reason for promoting")]
    return box


def _promotion_details() -> list[str]:
    engine = make_engine()
    try:
        with session_factory(engine)() as session:
            return [e["detail"] for e in audit.iter_entries(session)
                    if e["action"] == "model_promotion"]
    finally:
        engine.dispose()


def test_promotion_names_what_it_greys_and_worsens_and_needs_a_reason(page: AppTest) -> None:
    """Issue 23, defect 7: the review names every greyed or worse outcome; confirming
    without a reason is refused and changes nothing; the reason reaches the audit trail."""
    registry = Registry(settings.default_registry_dir())
    original = registry.current_version()
    candidate, greyed, worse = worse_candidate(registry)
    try:
        page.run()
        _select(page, "Candidate").set_value(candidate).run()
        errors = [str(e.value) for e in page.error]
        assert any(e.startswith("Would become greyed for every clinician (fails the quality "
                                f"gate): {greyed} — held-out AUC ") for e in errors), errors
        (worse_line,) = [e for e in errors if e.startswith("Worse than the current version")]
        assert all(f"{label} (held-out AUC" in worse_line for label in worse)
        (table,) = [d.value for d in page.dataframe
                    if "gate after" in getattr(d.value, "columns", [])]
        row = table.set_index("outcome").loc[greyed]
        assert (row["gate now"], row["gate after"]) == ("shown", "greyed")
        assert row["change"] == "becomes greyed, worse"
        assert "although it greys or worsens" in _confirmation(page, candidate).label
        before = len(_promotion_details())
        _confirmation(page, candidate).check().run()
        page.button(key="ml_promote").click().run()
        assert any(str(e.value).startswith("Not promoted: type the reason") for e in page.error)
        assert registry.current_version() == original
        assert len(_promotion_details()) == before
        _reason(page).input("accepted: the clinic audits dissociation by hand").run()
        page.button(key="ml_promote").click().run()
        assert not page.exception, [e.value for e in page.exception]
        assert registry.current_version() == candidate
        detail = _promotion_details()[-1]
        assert detail.startswith(f"{candidate} (was {original}); reason: accepted: the clinic "
                                 f"audits dissociation by hand; becomes greyed: {greyed}; "
                                 "worse: ")
    finally:
        registry.promote(original)



def test_invalid_upload_lists_row_errors_and_uses_nothing() -> None:
    with (service_lab.DATA_SAMPLES_DIR / "patients.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[:20]
    rows[1][rows[0].index("age")] = "200"
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    sessions = "\n".join((service_lab.DATA_SAMPLES_DIR / "sessions.csv").read_text(
        encoding="utf-8").splitlines()[:5]) + "\n"
    result = service_lab.uploaded_data(text.getvalue().encode(), sessions.encode())
    assert not isinstance(result, tuple)
    hit = result[(result["file"] == "patients.csv") & (result["column"] == "age")]
    assert list(hit["row"]) == [2]


def test_through_the_router_as_data_scientist(open_page) -> None:
    at = open_page("model_lab", "data_scientist")
    assert "Model lab" in texts(at.title)
