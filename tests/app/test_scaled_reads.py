"""Pages read only what they show (issue 18): the cohort alert list from each patient's
latest session, follow-up from the followed patients' records, one patient's durability
from that patient's records. Each must equal the same computation over every stored row."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from dashboard.services.cohort.overview import alerts_overview
from dashboard.services.patients.followup import load_followup
from dashboard.services.patients.listing import cohort_table
from dashboard.services.workspace import Workspace
from models.clinical.followup_summary import followup_rows, followup_summary
from models.clinical.session_alerts import cohort_alerts, in_treatment
from models.contract.schema import ID_COLUMN
from records import make_engine, upgrade
from records.db import session_factory
from records.followup.frames import doses_frame, plans_frame, visits_frame
from records.frames import (
    maintenance_patients,
    patients_frame,
    series_progress,
    sessions_frame,
)
from records.imports.bulk import import_patients_and_sessions
from records.tables.clinical import SESSION_COLUMNS


@pytest.fixture(scope="module")
def every_row(workspace: Workspace) -> dict[str, pd.DataFrame]:
    with session_factory(workspace.engine)() as session:
        return {"patients": patients_frame(session), "sessions": sessions_frame(session),
                "visits": visits_frame(session), "doses": doses_frame(session),
                "plans": plans_frame(session)}


@pytest.fixture(scope="module")
def mid_series(workspace: Workspace, every_row: dict[str, pd.DataFrame],
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A store of 90 sample patients, every third stopped mid-series (still in treatment)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('mid') / 'store.sqlite3'}")
    upgrade(engine)
    patients = every_row["patients"].head(90)
    ids = list(patients[ID_COLUMN])
    sessions = every_row["sessions"]
    sessions = sessions[sessions[ID_COLUMN].isin(ids)]
    cut = sessions[ID_COLUMN].isin(ids[::3]) & (sessions["session_number"] > 2)
    sessions = sessions[~cut][[ID_COLUMN, *SESSION_COLUMNS]]
    sessions = sessions.astype(object).where(sessions.notna(), None)
    with session_factory(engine)() as session:
        import_patients_and_sessions(session, patients.drop(columns=["data_gaps"]), sessions)
    yield Workspace(engine, workspace.model_set, workspace.card, workspace.version)
    engine.dispose()


@pytest.mark.parametrize("only_in_treatment", [True, False])
def test_cohort_alerts_from_latest_sessions_equal_those_from_every_session(
        mid_series: Workspace, only_in_treatment: bool):
    cohort = cohort_table(mid_series)
    with session_factory(mid_series.engine)() as session:
        sessions = sessions_frame(session)
    ids = (in_treatment(cohort, sessions) if only_in_treatment
           else pd.Index(sessions[ID_COLUMN].unique()))
    expected = cohort_alerts(cohort, sessions, ids, latest_only=True)
    table, checked = alerts_overview(mid_series, cohort, only_in_treatment)
    assert checked == len(ids) and len(ids) >= 20 and len(expected) > 0
    pd.testing.assert_frame_equal(table, expected)
    # before the cohort table is built (issue 31), the same alerts from the store's columns
    early, early_checked = alerts_overview(mid_series, None, only_in_treatment)
    assert early_checked == checked
    pd.testing.assert_frame_equal(early, expected)


def test_store_aggregates_equal_pandas_over_every_session(workspace: Workspace,
                                                          every_row: dict[str, pd.DataFrame]):
    sessions = every_row["sessions"]
    with session_factory(workspace.engine)() as session:
        progress = series_progress(session).set_index(ID_COLUMN)
        latest = sessions_frame(session, latest_only=True)
        maintained = maintenance_patients(session)
    grouped = sessions.groupby(ID_COLUMN)
    assert progress["session_number"].to_dict() == grouped["session_number"].max().to_dict()
    assert progress["dropout_after"].to_dict() == grouped["dropout_after"].max().astype(
        bool).to_dict()
    top = sessions.loc[grouped["session_number"].idxmax()].reset_index(drop=True)
    pd.testing.assert_frame_equal(latest, top)
    assert sorted(maintained) == sorted(
        sessions.loc[sessions["phase"] == "maintenance", ID_COLUMN].unique())


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Values as objects with None for every missing marker (NA, NaN, NaT)."""
    return frame.astype(object).where(frame.notna(), None)


def test_followup_from_followed_patients_equals_the_whole_store(
        workspace: Workspace, every_row: dict[str, pd.DataFrame]):
    rows = followup_rows(every_row["sessions"], every_row["visits"], every_row["doses"])
    expected = followup_summary(every_row["patients"], every_row["sessions"], rows,
                                every_row["plans"])
    data = load_followup(workspace.engine)
    assert data is not None and len(expected) > 100
    pd.testing.assert_frame_equal(data.followup, expected)
    pd.testing.assert_frame_equal(data.visits, rows)
    pid = expected.index[len(expected) // 2]
    mine = load_followup(workspace.engine, pid)
    assert mine is not None and list(mine.followup.index) == [pid]
    # same values; a column mixing None and booleans over the store is object there
    pd.testing.assert_frame_equal(mine.followup, expected.loc[[pid]], check_dtype=False)
    pd.testing.assert_frame_equal(_plain(mine.visits), _plain(
        rows[rows[ID_COLUMN] == pid].reset_index(drop=True)))
    unfollowed = next(p for p in every_row["patients"][ID_COLUMN] if p not in expected.index)
    assert load_followup(workspace.engine, unfollowed) is None
