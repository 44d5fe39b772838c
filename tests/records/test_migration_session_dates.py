"""The issue-12 revision on a store holding data: nothing lost, nothing invented.

The store is brought to the revision before ours, filled through plain SQL (as that
revision's code would have written it), then upgraded: existing sessions get no date
(NULL, shown as "date not recorded"), no carried-forward record and no past-plan answer;
existing decisions keep their typed clinician name and get no role. Downgrading keeps the
rows too. Runs on SQLite and PostgreSQL (``engine`` fixture).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, Table, inspect, select

from records import repository as repo
from records.db import session_factory
from records.migrate import alembic_config, current_revision, downgrade, head_revision, upgrade

OURS = "0004"  # records/migrations/versions/0004_session_dates.py
BEFORE = ScriptDirectory.from_config(alembic_config()).get_revision(OURS).down_revision
NEW_SESSION_COLUMNS = {"session_at", "carried_forward", "past_plan_confirmed"}
WHEN = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
Row = Callable[..., dict[str, Any]]


def _fill_old_store(engine: Engine, patient_row: Row, session_row: Row) -> None:
    """One patient with two sessions and one decision, written at the older revision."""
    meta = MetaData()
    with engine.begin() as conn:
        patients, sessions, decisions = (Table(n, meta, autoload_with=conn)
                                         for n in ("patients", "sessions", "decisions"))
        row = {k: v for k, v in patient_row(1).items() if k in patients.c}  # as then
        conn.execute(patients.insert().values(
            **row, is_synthetic=False, created_at=WHEN,
            updated_at=WHEN, version=1, data_gaps=[]))
        pk = conn.execute(select(patients.c.id)).scalar_one()
        for number in (1, 2):
            values = {k: v for k, v in session_row(number=number).items()
                      if k in sessions.c and k != "patient_id"}
            conn.execute(sessions.insert().values(**values, patient_pk=pk, recorded_at=WHEN,
                                                  version=1))
        conn.execute(decisions.insert().values(
            patient_pk=pk, decision="proceed", suggested="proceed", clinician="Dr Typed Name",
            created_at=WHEN))


def test_upgrade_keeps_data_and_marks_what_was_not_recorded(
        engine: Engine, make_patient: Row, make_session: Row) -> None:
    upgrade(engine, BEFORE)
    assert not NEW_SESSION_COLUMNS & {c["name"] for c in inspect(engine).get_columns("sessions")}
    _fill_old_store(engine, make_patient, make_session)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with session_factory(engine)() as session:
        stored = repo.sessions_for(session, "KAP-00001")
        assert [(s.session_number, s.phq9) for s in stored] == [(1, 17), (2, 16)]
        assert all(s.session_at is None for s in stored)  # not recorded: not invented
        assert all(s.carried_forward is None and s.past_plan_confirmed is None for s in stored)
        assert all(s.recorded_at == WHEN for s in stored)  # typed-in time kept apart
        decision = repo.decisions_for(session, "KAP-00001")[0]
        assert (decision.clinician, decision.role) == ("Dr Typed Name", None)
        frame = repo.sessions_frame(session, "KAP-00001")
        assert frame["session_at"].isna().all()


def test_downgrade_keeps_the_rows(engine: Engine, make_patient: Row, make_session: Row) -> None:
    upgrade(engine, BEFORE)
    _fill_old_store(engine, make_patient, make_session)
    upgrade(engine)
    downgrade(engine, BEFORE)
    assert not NEW_SESSION_COLUMNS & {c["name"] for c in inspect(engine).get_columns("sessions")}
    assert "role" not in {c["name"] for c in inspect(engine).get_columns("decisions")}
    with engine.connect() as conn:
        sessions = Table("sessions", MetaData(), autoload_with=conn)
        decisions = Table("decisions", MetaData(), autoload_with=conn)
        assert len(conn.execute(select(sessions.c.id)).all()) == 2
        assert conn.execute(select(decisions.c.clinician)).scalar_one() == "Dr Typed Name"
    upgrade(engine)
    assert current_revision(engine) == head_revision()
