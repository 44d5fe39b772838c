"""Tables of the model lifecycle (issue 14): predictions shown, and training jobs.

Kept beside ``records.tables.clinical`` on the same ``Base``; ``records/__init__`` imports this
module so the metadata (and Alembic's comparison) always includes them. Revision 0007.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from records.tables.append_only import guard
from records.tables.clinical import CATEGORY_LENGTH, Base, utcnow

CONTEXTS = ("viewed", "decision", "report")
JOB_STATES = ("queued", "running", "done", "failed", "cancelled", "interrupted")


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class PredictionShown(Base):
    """A prediction a clinician saw or decided on: version, inputs' hash, probabilities.

    Append-only, like the audit trail it complements (the audit entry says *that* it was
    shown, this row says *what* was shown). ``probabilities`` maps outcome -> p and
    ``intervals`` outcome -> [lo, hi].
    """

    __tablename__ = "predictions_shown"
    __table_args__ = (CheckConstraint(_in_list("context", CONTEXTS),
                                      name="ck_predictions_shown_context"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(32), index=True)
    model_version: Mapped[str] = mapped_column(String(64), index=True)
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    probabilities: Mapped[dict[str, Any]] = mapped_column(JSON)
    intervals: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    context: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(String(64))
    shown_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class TrainingJob(Base):
    """A model-lab training run, executed by the worker process (``kapcds worker``)."""

    __tablename__ = "training_jobs"
    __table_args__ = (CheckConstraint(_in_list("status", JOB_STATES),
                                      name="ck_training_jobs_status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_by: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(CATEGORY_LENGTH), default="queued")
    description: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    step: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=1)
    message: Mapped[str] = mapped_column(String(200), default="waiting for the worker")
    log: Mapped[str] = mapped_column(Text, default="")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    worker_pid: Mapped[int | None] = mapped_column(Integer)
    result_version: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    # plain data a job leaves besides a version (an update's per-outcome steps and reasons)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)


guard(PredictionShown, "recorded prediction", "record a new one instead")
