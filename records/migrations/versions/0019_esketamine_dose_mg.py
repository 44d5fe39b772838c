"""Intranasal esketamine is dosed in mg, never per kg (issue 30, item 5; hazard HAZ-240).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07

Every table that stores a dose (patients, treatment_plans, sessions, followup_doses) gains
``esketamine_dose_mg`` (NULL = not intranasal esketamine) and ``dose_mg_per_kg`` becomes
nullable (NULL for intranasal esketamine). Exactly one of the two is set, by route.

Existing esketamine rows: before this revision esketamine was stored in mg/kg (0.5–1.5, the
old generator's "typical 1.0 ≙ 56 mg"). The store holds no body weight, so there is no true
conversion; each such row becomes the nearest device dose of 28/56/84 mg to ``value × 56``
(below 42 → 28 mg, 42 up to 70 → 56 mg, 70 and above → 84 mg; a tie goes up) and its
mg/kg value is set to NULL. The rows so converted are logged (count per table).
Downgrade writes ``mg / 56`` back as mg/kg (lossy: the old value was rounded on upgrade).
Values are written out as they were on this date (a migration is history).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

TABLES = ("patients", "treatment_plans", "sessions", "followup_doses")
ESKETAMINE = "intranasal_esketamine"
MG_PER_TYPICAL = 56  # the old generator's typical 1.0 mg/kg stood for 56 mg
TO_MG = ("CASE WHEN dose_mg_per_kg * 56 < 42 THEN 28 "
         "WHEN dose_mg_per_kg * 56 < 70 THEN 56 ELSE 84 END")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("esketamine_dose_mg", sa.Float(), nullable=True))
            batch.alter_column("dose_mg_per_kg", existing_type=sa.Float(), nullable=True)
        converted = op.get_bind().execute(sa.text(
            f"UPDATE {table} SET esketamine_dose_mg = {TO_MG}, dose_mg_per_kg = NULL "
            f"WHERE route = '{ESKETAMINE}' AND dose_mg_per_kg IS NOT NULL")).rowcount
        log.info("0019: %s: %s esketamine row(s) converted from mg/kg to 28/56/84 mg",
                 table, converted)


def downgrade() -> None:
    for table in TABLES:
        op.get_bind().execute(sa.text(
            f"UPDATE {table} SET dose_mg_per_kg = esketamine_dose_mg / {MG_PER_TYPICAL} "
            "WHERE esketamine_dose_mg IS NOT NULL"))
        with op.batch_alter_table(table) as batch:
            batch.drop_column("esketamine_dose_mg")
            batch.alter_column("dose_mg_per_kg", existing_type=sa.Float(), nullable=False)
