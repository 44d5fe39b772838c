"""Revision 0009 on a store holding data: every row kept, the monitoring record NULL.

The store is brought to the revision before ours, filled through plain SQL (as that
revision's code wrote it), then upgraded: existing sessions keep every value and get
"not recorded" (NULL) in each monitoring column; nothing is derived from ``session_at`` or
``minutes_to_discharge``. Downgrading keeps the rows. SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, Table, inspect, select

from models.clinical.session_monitoring import MONITORING_COLUMNS
from records import repository as repo
from records.db import session_factory
from records.migrate import alembic_config, current_revision, downgrade, head_revision, upgrade

OURS = "0009"  # records/migrations/versions/0009_session_monitoring.py
BEFORE = ScriptDirectory.from_config(alembic_config()).get_revision(OURS).down_revision
WHEN = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
Row = Callable[..., dict[str, Any]]


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("sessions")}


def _fill_old_store(engine: Engine, patient_row: Row, session_row: Row) -> None:
    """Two patients with three sessions, written at the older revision."""
    meta = MetaData()
    with engine.begin() as conn:
        patients, sessions = (Table(n, meta, autoload_with=conn)
                              for n in ("patients", "sessions"))
        for number in (1, 2):
            conn.execute(patients.insert().values(
                **{k: v for k, v in patient_row(number).items() if k in patients.c},
                is_synthetic=False, created_at=WHEN, updated_at=WHEN,
                version=1, data_gaps=[]))
        pks = dict(conn.execute(select(patients.c.patient_id, patients.c.id)).all())
        for pid, number in (("KAP-00001", 1), ("KAP-00001", 2), ("KAP-00002", 1)):
            values = {k: v for k, v in session_row(pid, number).items()
                      if k in sessions.c and k != "patient_id"}
            conn.execute(sessions.insert().values(**values, patient_pk=pks[pid],
                                                  recorded_at=WHEN, version=1))


def test_upgrade_keeps_every_row_and_marks_monitoring_not_recorded(
        engine: Engine, make_patient: Row, make_session: Row) -> None:
    upgrade(engine, BEFORE)
    assert not set(MONITORING_COLUMNS) & _columns(engine)
    _fill_old_store(engine, make_patient, make_session)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert set(MONITORING_COLUMNS) <= _columns(engine)
    with session_factory(engine)() as session:
        frame = repo.sessions_frame(session)
        assert list(zip(frame["patient_id"], frame["session_number"], strict=True)) == [
            ("KAP-00001", 1), ("KAP-00001", 2), ("KAP-00002", 1)]
        assert frame["minutes_to_discharge"].tolist() == [95, 95, 95]  # kept as it was
        assert frame["sbp_post"].tolist() == [138, 138, 138]
        for name in MONITORING_COLUMNS:  # not recorded: never guessed
            assert frame[name].isna().all(), name
        stored = repo.sessions_for(session, "KAP-00001")
        assert all(s.dose_at is None and s.cm_maoi is None for s in stored)
        assert all(s.recorded_at == WHEN and s.version == 1 for s in stored)


def test_downgrade_keeps_the_rows(engine: Engine, make_patient: Row, make_session: Row) -> None:
    upgrade(engine, BEFORE)
    _fill_old_store(engine, make_patient, make_session)
    upgrade(engine)
    downgrade(engine, BEFORE)
    assert not set(MONITORING_COLUMNS) & _columns(engine)
    with engine.connect() as conn:
        sessions = Table("sessions", MetaData(), autoload_with=conn)
        assert len(conn.execute(select(sessions.c.id)).all()) == 3
