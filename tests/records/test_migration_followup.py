"""The issue-13 revision (0008) on a store holding data: nothing lost, nothing invented.

The store is brought to 0007, filled through plain SQL (as that revision's code wrote it),
then upgraded: every existing session is ``induction`` (the only phase that could be
recorded before), the new follow-up tables are empty, and downgrading keeps the rows.
Runs on SQLite and PostgreSQL (``engine`` fixture).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, MetaData, Table, inspect, select

from records import repository as repo
from records.db import session_factory
from records.followup.record import add_visit, list_visits
from records.migrate import current_revision, downgrade, head_revision, upgrade

OURS, BEFORE = "0008", "0007"
NEW_TABLES = {"followup_visits", "maintenance_plans", "followup_doses"}
WHEN = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
Row = Callable[..., dict[str, Any]]


def _fill_old_store(engine: Engine, patient_row: Row, session_row: Row) -> None:
    meta = MetaData()
    with engine.begin() as conn:
        patients, sessions = (Table(n, meta, autoload_with=conn) for n in ("patients", "sessions"))
        row = {k: v for k, v in patient_row(1).items() if k in patients.c}  # as then
        conn.execute(patients.insert().values(**row, is_synthetic=False,
                                              created_at=WHEN, updated_at=WHEN, version=1,
                                              data_gaps=[]))
        pk = conn.execute(select(patients.c.id)).scalar_one()
        for number in (1, 2, 3):
            values = {k: v for k, v in session_row(number=number).items()
                      if k in sessions.c and k != "patient_id"}
            conn.execute(sessions.insert().values(**values, patient_pk=pk, recorded_at=WHEN,
                                                  version=1))


def test_upgrade_keeps_every_session_and_marks_it_induction(
        engine: Engine, make_patient: Row, make_session: Row) -> None:
    upgrade(engine, BEFORE)
    assert not NEW_TABLES & set(inspect(engine).get_table_names())
    _fill_old_store(engine, make_patient, make_session)
    upgrade(engine, OURS)
    assert NEW_TABLES <= set(inspect(engine).get_table_names())
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with session_factory(engine)() as session:
        stored = repo.sessions_for(session, "KAP-00001")
        assert [(s.session_number, s.phq9, s.phase) for s in stored] == [
            (1, 17, "induction"), (2, 16, "induction"), (3, 15, "induction")]
        assert all(s.recorded_at == WHEN and s.version == 1 for s in stored)
        assert list_visits(session, "KAP-00001") == []  # nothing invented
        end = stored[-1].session_at
        visit = add_visit(session, "KAP-00001", {"visit_at": end.replace(day=end.day + 7),
                                                 "phq9": 9})
        assert visit.day_after_series == 7  # the old sessions' dates serve the new record
        session.commit()


def test_downgrade_keeps_the_sessions(engine: Engine, make_patient: Row,
                                      make_session: Row) -> None:
    upgrade(engine, BEFORE)
    _fill_old_store(engine, make_patient, make_session)
    upgrade(engine, OURS)
    downgrade(engine, BEFORE)
    assert not NEW_TABLES & set(inspect(engine).get_table_names())
    assert "phase" not in {c["name"] for c in inspect(engine).get_columns("sessions")}
    with engine.connect() as conn:
        sessions = Table("sessions", MetaData(), autoload_with=conn)
        assert len(conn.execute(select(sessions.c.id)).all()) == 3
