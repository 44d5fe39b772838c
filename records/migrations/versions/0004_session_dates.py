"""Session date and time, carried-forward values, past-the-plan flag; decision role (issue 12).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

Existing data is kept and nothing is invented for it:

- ``sessions.session_at`` (when the session took place, entered by the clinician) is NULL
  for every existing session: its date was never recorded, and the screens say "date not
  recorded" rather than guess one from ``recorded_at`` (when it was typed in) or ``day``.
- ``sessions.carried_forward`` is NULL ("not recorded") for existing sessions: the old form
  pre-filled every value from the previous session, so which ones were copied is unknown.
- ``sessions.past_plan_confirmed`` is NULL ("not asked") for existing sessions.
- ``decisions.role`` is NULL ("not recorded") for existing decisions, which keep the
  clinician name that was typed in.

Adding nullable columns touches no row, so the append-only triggers on ``decisions`` do not
fire. Values are written out as they were on this date (a migration is history).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SESSION_COLUMNS = (
    ("session_at", lambda: sa.DateTime(timezone=True)),
    ("carried_forward", sa.JSON),
    ("past_plan_confirmed", sa.Boolean),
)


def upgrade() -> None:
    for name, kind in SESSION_COLUMNS:
        op.add_column("sessions", sa.Column(name, kind(), nullable=True))
    op.add_column("decisions", sa.Column("role", sa.String(32), nullable=True))


def downgrade() -> None:
    op.drop_column("decisions", "role")  # SQLite >= 3.35 drops columns in place
    for name, _ in reversed(SESSION_COLUMNS):
        op.drop_column("sessions", name)
