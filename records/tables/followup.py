"""Follow-up after the induction series: visits, maintenance plans and sample dosing records.

Kept beside ``records.tables.clinical`` on the same ``Base`` (revision 0008); ``records/__init__``
imports this module so the metadata always includes it.

- ``FollowupVisit``: one follow-up visit. ``visit_at`` is when it took place as the clinician
  entered it (NULL = not recorded: the shipped sample has only days after the series);
  ``day_after_series`` places it after the last induction session (derived from the dates
  when both are known, else entered). Every screen is nullable: NULL = not done at that
  visit, never a default. Optimistic ``version`` as for sessions.
- ``MaintenancePlan``: the maintenance plan as it was set, one row per change (the newest
  row is the current plan), with its effective date, the reason and who set it.
- ``FollowupDose``: a maintenance dose known only by its day, route and dose. The shipped
  sample (``data_samples/followup_sessions.csv``) has no vitals, scales or side effects for
  its maintenance sessions, so they cannot be session records without inventing those;
  they are stored as what they are. A clinic records maintenance sessions with the full
  session form (``sessions.phase = 'maintenance'``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.contract.followup_schema import MAINTENANCE_SCHEDULES
from models.contract.schema import ROUTES
from records.tables.clinical import CATEGORY_LENGTH, Base, Patient, utcnow

SOURCES = ("form", "csv", "fhir", "sample")
VISIT_SOURCES = (*SOURCES, "patient")  # answered by the patient by link (revision 0013)
PHASES = ("induction", "maintenance")


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class FollowupVisit(Base):
    """A follow-up visit: PHQ-9, GAD-7 and the long-term screens (each NULL = not done)."""

    __tablename__ = "followup_visits"
    __table_args__ = (CheckConstraint(_in_list("source", VISIT_SOURCES),
                                      name="ck_followup_visits_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_pk: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    visit_at: Mapped[datetime | None] = mapped_column(nullable=True)
    day_after_series: Mapped[int] = mapped_column(Integer)
    phq9: Mapped[int | None] = mapped_column(Integer)
    gad7: Mapped[int | None] = mapped_column(Integer)
    craving_score: Mapped[int | None] = mapped_column(Integer)
    moca: Mapped[int | None] = mapped_column(Integer)
    blunting_score: Mapped[int | None] = mapped_column(Integer)
    urinary_symptoms: Mapped[bool | None] = mapped_column(Boolean)
    notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    is_synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer)

    patient: Mapped[Patient] = relationship()
    __mapper_args__ = {"version_id_col": version}


class MaintenancePlan(Base):
    """The maintenance plan from a date on; a change is a new row (history kept)."""

    __tablename__ = "maintenance_plans"
    __table_args__ = (
        CheckConstraint(_in_list("schedule", MAINTENANCE_SCHEDULES),
                        name="ck_maintenance_plans_schedule"),
        CheckConstraint(_in_list("source", SOURCES), name="ck_maintenance_plans_source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_pk: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    schedule: Mapped[str] = mapped_column(String(CATEGORY_LENGTH))
    effective_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    is_synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    patient: Mapped[Patient] = relationship()


class FollowupDose(Base):
    """A maintenance dose with only day, route and dose (the shipped sample's rows)."""

    __tablename__ = "followup_doses"
    __table_args__ = (
        CheckConstraint(_in_list("route", ROUTES), name="ck_followup_doses_route"),
        CheckConstraint(_in_list("source", SOURCES), name="ck_followup_doses_source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_pk: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    dose_at: Mapped[datetime | None] = mapped_column(nullable=True)
    day_after_series: Mapped[int] = mapped_column(Integer)
    route: Mapped[str] = mapped_column(String(CATEGORY_LENGTH))
    dose_mg_per_kg: Mapped[float | None] = mapped_column(Float, nullable=True)  # ketamine
    esketamine_dose_mg: Mapped[float | None] = mapped_column(Float, nullable=True)  # 0019
    source: Mapped[str] = mapped_column(String(16))
    is_synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    patient: Mapped[Patient] = relationship()
