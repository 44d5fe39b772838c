"""The name's comparison key on patients, for the same-person check on Add patient (HAZ-040).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

The key function is written out as it was on this date (a migration is history).
"""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

BATCH = 5000


def _name_key(name: str | None) -> str:
    decomposed = unicodedata.normalize("NFKD", name or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(sorted(re.findall(r"[^\W_]+", plain)))[:200]


def upgrade() -> None:
    op.add_column("patients", sa.Column("name_key", sa.String(200), nullable=False,
                                        server_default=""))
    conn = op.get_bind()
    patients = sa.table("patients", sa.column("id", sa.Integer),
                        sa.column("name", sa.String), sa.column("name_key", sa.String))
    rows = conn.execute(sa.select(patients.c.id, patients.c.name)).all()
    update = (patients.update().where(patients.c.id == sa.bindparam("pk"))
              .values(name_key=sa.bindparam("key")))
    for start in range(0, len(rows), BATCH):
        batch = rows[start:start + BATCH]
        conn.execute(update, [{"pk": pk, "key": _name_key(name)} for pk, name in batch])
    op.create_index("ix_patients_name_key", "patients", ["name_key"])


def downgrade() -> None:
    op.drop_index("ix_patients_name_key", table_name="patients")
    op.drop_column("patients", "name_key")
