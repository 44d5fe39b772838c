"""Session monitoring as a REMS-style record (issue 13 point 4).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

New nullable columns on ``sessions`` (see ``models.clinical.session_monitoring``): blood pressure
before discharge, lowest SpO2, sedation (MOAA/S) at ~40 min and before discharge,
dissociation still present at discharge, respiratory depression, serious adverse event and
its description, concomitant medications in the REMS classes, product and lot number, and
the time of dose and the time the patient was judged ready to leave.

Every existing session gets NULL in each: "not recorded". Nothing is derived for old rows
(``minutes_to_discharge`` stays as it was; no dose time is guessed from ``session_at``).
Adding nullable columns touches no row. Values are written out as they were on this date (a
migration is history).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = (
    ("sbp_discharge", sa.Integer),
    ("dbp_discharge", sa.Integer),
    ("spo2_lowest", sa.Integer),
    ("moaas_post", sa.Integer),
    ("moaas_discharge", sa.Integer),
    ("dissociation_discharge", sa.Boolean),
    ("respiratory_depression", sa.Boolean),
    ("serious_adverse_event", sa.Boolean),
    ("cm_benzodiazepine", sa.Boolean),
    ("cm_hypnotic", sa.Boolean),
    ("cm_psychostimulant", sa.Boolean),
    ("cm_maoi", sa.Boolean),
    ("product", lambda: sa.String(100)),
    ("lot_number", lambda: sa.String(32)),
    ("sae_description", sa.Text),
    ("dose_at", lambda: sa.DateTime(timezone=True)),
    ("ready_at", lambda: sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    for name, kind in COLUMNS:
        op.add_column("sessions", sa.Column(name, kind(), nullable=True))


def downgrade() -> None:
    for name, _ in reversed(COLUMNS):
        op.drop_column("sessions", name)  # SQLite >= 3.35 drops columns in place
