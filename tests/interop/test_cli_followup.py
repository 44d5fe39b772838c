"""`kapcds import-followup`: a bad file is reported row by row and saves nothing; a good one
is saved with its audit entry."""

from __future__ import annotations

from cli_helpers import run

from records.audit.trail import iter_entries
from records.db import make_engine, session_factory
from records.followup.record import list_doses, list_visits

HEADER = "patient_id,kind,day_after_series,phq9,moca,route,dose_mg_per_kg,notes\n"


def test_import_followup_all_or_nothing(home):
    bad = home / "bad.csv"
    bad.write_text(HEADER + "KAP-00005,followup,7,9,,,,\n"
                   "KAP-00005,followup,14,30,,,,\n"  # PHQ-9 out of range
                   "NOPE-1,followup,7,9,,,,\n"  # unknown patient
                   "KAP-00005,maintenance,10,,,iv,,\n")  # dose missing
    code, out, err = run("import-followup", str(bad))
    assert code == 1, (out, err)
    assert "row 3, column phq9" in err and "row 4, column patient_id" in err
    assert "row 5, column dose_mg_per_kg" in err and "nothing was saved" in err
    engine = make_engine()
    with session_factory(engine)() as session:
        assert list_visits(session, "KAP-00005") == []

    good = home / "good.csv"
    good.write_text(HEADER + "KAP-00005,followup,7,9,27,,,called in\n"
                    "KAP-00005,maintenance,10,,,iv,0.5,\n")
    code, out, err = run("import-followup", str(good))
    assert code == 0, err
    assert "saved 1 follow-up visit(s) and 1 maintenance dose(s)" in out
    with session_factory(engine)() as session:
        [visit] = list_visits(session, "KAP-00005")
        assert (visit.day_after_series, visit.phq9, visit.moca, visit.gad7, visit.notes,
                visit.source) == (7, 9, 27, None, "called in", "csv")
        assert [d.dose_mg_per_kg for d in list_doses(session, "KAP-00005")] == [0.5]
        actions = [e["action"] for e in iter_entries(session)]
        assert actions.count("import") == 2  # the refused file and the saved one
    engine.dispose()
