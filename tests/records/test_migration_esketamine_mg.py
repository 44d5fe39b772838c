"""Revision 0019 on a store made at 0018: esketamine doses move from mg/kg to 28/56/84 mg.

The store is brought to 0018 and filled through plain SQL as that revision's code wrote it
(esketamine in mg/kg, the old generator's 0.5–1.5 with 1.0 ≙ 56 mg), then upgraded: each
esketamine dose becomes the nearest of 28/56/84 mg to value × 56 with its mg/kg emptied, and
ketamine doses are untouched (HAZ-240). Runs on SQLite and PostgreSQL (``engine`` fixture).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, Table, inspect, select

from records.migrate import downgrade, upgrade

OURS, BEFORE = "0019", "0018"
WHEN = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
TABLES = ("patients", "treatment_plans", "sessions", "followup_doses")
Row = Callable[..., dict[str, Any]]
# (route, old mg/kg) -> expected (mg/kg, mg) after the upgrade
CASES = [("intranasal_esketamine", 1.0, None, 56.0), ("intranasal_esketamine", 1.45, None, 84.0),
         ("intranasal_esketamine", 0.5, None, 28.0), ("intranasal_esketamine", 0.75, None, 56.0),
         ("iv", 0.5, 0.5, None)]


def _fill_old_store(engine: Engine, patient_row: Row, session_row: Row) -> None:
    """One patient per case, each with a plan, a session and a follow-up dose at that dose."""
    meta = MetaData()
    with engine.begin() as conn:
        tables = {n: Table(n, meta, autoload_with=conn) for n in TABLES}
        for number, (route, dose, _, _) in enumerate(CASES, start=1):
            row = {k: v for k, v in patient_row(number, route=route, dose_mg_per_kg=dose).items()
                   if k in tables["patients"].c}
            pk = conn.execute(tables["patients"].insert().values(
                **row, is_synthetic=False, created_at=WHEN, updated_at=WHEN, version=1,
                data_gaps=[]).returning(tables["patients"].c.id)).scalar_one()
            conn.execute(tables["treatment_plans"].insert().values(
                patient_pk=pk, route=route, dose_mg_per_kg=dose, psychotherapy="integrated",
                sessions_per_week=2, planned_sessions=6, created_at=WHEN))
            session = {k: v for k, v in session_row(route=route, dose_mg_per_kg=dose).items()
                       if k in tables["sessions"].c and k != "patient_id"}
            conn.execute(tables["sessions"].insert().values(**session, patient_pk=pk,
                                                            recorded_at=WHEN, version=1))
            conn.execute(tables["followup_doses"].insert().values(
                patient_pk=pk, day_after_series=7, route=route, dose_mg_per_kg=dose,
                source="sample", is_synthetic=True, recorded_at=WHEN))


def _doses(engine: Engine, table: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        t = Table(table, MetaData(), autoload_with=conn)
        columns = [t.c.route, t.c.dose_mg_per_kg]
        if "esketamine_dose_mg" in t.c:
            columns.append(t.c.esketamine_dose_mg)
        return [tuple(r) for r in conn.execute(select(*columns).order_by(t.c.id))]


@pytest.mark.parametrize("table", TABLES)
def test_upgrade_converts_esketamine_to_the_nearest_device_dose(
        engine: Engine, make_patient: Row, make_session: Row, table: str) -> None:
    upgrade(engine, BEFORE)
    _fill_old_store(engine, make_patient, make_session)
    upgrade(engine, OURS)
    assert _doses(engine, table) == [(route, per_kg, mg) for route, _, per_kg, mg in CASES]
    column = {c["name"]: c for c in inspect(engine).get_columns(table)}
    assert column["dose_mg_per_kg"]["nullable"] and column["esketamine_dose_mg"]["nullable"]


def test_downgrade_writes_mg_back_per_kg_and_keeps_every_row(
        engine: Engine, make_patient: Row, make_session: Row) -> None:
    upgrade(engine, BEFORE)
    _fill_old_store(engine, make_patient, make_session)
    upgrade(engine, OURS)
    downgrade(engine, BEFORE)
    for table in TABLES:
        rows = _doses(engine, table)
        assert [r[1] for r in rows] == pytest.approx([1.0, 1.5, 0.5, 1.0, 0.5]), table
        assert not {c["name"] for c in inspect(engine).get_columns(table)} & {
            "esketamine_dose_mg"}
