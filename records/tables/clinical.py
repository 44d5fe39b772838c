"""The clinical store's tables, with patient and session columns generated from the schema.

``models.contract.schema`` is the single source of truth: a feature added there becomes a column
here (and needs a new Alembic revision; ``tests/records`` fails until one exists).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates
from sqlalchemy.types import TypeDecorator

from models.clinical.session_monitoring import MONITORING_FIELDS, TEXT_FIELDS
from models.contract.schema import FEATURES, SESSION_FIELDS, DType
from records.tables.append_only import guard
from records.tables.names import NAME_KEY_LENGTH, name_key

CATEGORY_LENGTH = 32
DECISIONS = ("proceed", "proceed_with_cautions", "do_not_proceed")
PLAN_FIELDS = tuple(f.name for f in FEATURES if f.group == "treatment")
SESSION_COLUMNS = tuple(f.name for f in SESSION_FIELDS if f.name != "patient_id")

NAMING = {
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_name)s",
}


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def column_type(dtype: DType) -> Any:
    """The SQL type of a schema dtype."""
    return {"int": Integer(), "float": Float(), "bool": Boolean(),
            "category": String(CATEGORY_LENGTH)}[dtype]


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def category_checks(table: str, specs: Any) -> list[CheckConstraint]:
    """One CHECK per category column, so the database refuses values the schema does not allow."""
    return [CheckConstraint(_in_list(s.name, s.categories), name=f"ck_{table}_{s.name}")
            for s in specs if s.dtype == "category" and s.categories]


def _columns(specs: Any, nullable: Any = lambda spec: False) -> dict[str, Any]:
    return {s.name: mapped_column(column_type(s.dtype), nullable=nullable(s)) for s in specs}


PatientFeatures: type = type("PatientFeatures", (), _columns(FEATURES, lambda s: s.nullable))
PlanFields: type = type("PlanFields", (), _columns(
    (f for f in FEATURES if f.name in PLAN_FIELDS), lambda s: s.nullable))
SessionFields: type = type("SessionFields", (), _columns(
    (f for f in SESSION_FIELDS if f.name in SESSION_COLUMNS), lambda spec: spec.nullable))
# The REMS-style monitoring record (revision 0009): every column NULL = not recorded.
MonitoringFields: type = type("MonitoringFields", (), {
    **_columns(MONITORING_FIELDS, lambda spec: True),
    **{name: mapped_column(String(longest) if longest <= 200 else Text, nullable=True)
       for name, (_, longest) in TEXT_FIELDS.items()},
    "dose_at": mapped_column(UTCDateTime(), nullable=True),
    "ready_at": mapped_column(UTCDateTime(), nullable=True)})


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so constraint names match on every backend."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


class Patient(PatientFeatures, Base):
    """One patient: identity, every schema feature, and the current treatment plan."""

    __tablename__ = "patients"
    __table_args__ = tuple(category_checks("patients", FEATURES))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The name's comparison key (records.tables.names), kept by ``_keep_name_key``; the
    # same-person check on Add patient looks it up (revision 0015).
    name_key: Mapped[str] = mapped_column(String(NAME_KEY_LENGTH), index=True, default="",
                                          server_default="")
    is_synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer)
    # Features whose stored value is only the schema-default placeholder (never used to
    # predict); emptied as the clinician enters or confirms each one (revision 0003).
    data_gaps: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # Where an imported patient came from: format, FHIR id, source ids, warnings, time.
    import_source: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    __mapper_args__ = {"version_id_col": version}

    @validates("name")
    def _keep_name_key(self, _field: str, value: str) -> str:
        self.name_key = name_key(value)
        return value

    def features(self) -> dict[str, Any]:
        """Every schema feature of this patient as a plain dict."""
        return {f.name: getattr(self, f.name) for f in FEATURES}

    def __repr__(self) -> str:
        return f"Patient({self.patient_id!r}, version={self.version})"


class TreatmentPlan(PlanFields, Base):
    """A treatment plan as it was set; the newest row equals the plan on the patient row."""

    __tablename__ = "treatment_plans"
    __table_args__ = tuple(category_checks(
        "treatment_plans", [f for f in FEATURES if f.name in PLAN_FIELDS]))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_pk: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    patient: Mapped[Patient] = relationship()


class TreatmentSession(SessionFields, MonitoringFields, Base):
    """One attended ketamine session: dose, scales, vitals, side effects (clinical ref. §5)."""

    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("patient_pk", "session_number"),
        CheckConstraint(_in_list("phase", ("induction", "maintenance")),
                        name="ck_sessions_phase"),
        *category_checks("sessions", SESSION_FIELDS),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_pk: Mapped[int] = mapped_column(ForeignKey("patients.id"))  # indexed by the UQ
    concomitant_medications: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the session took place, as the clinician entered it (UTC); NULL = not recorded
    # (sessions stored before revision 0004, imports without the column). Never "now".
    session_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # {field: source} of values copied on purpose ("use last session's dose and route");
    # NULL = not recorded (before 0004, when forms pre-filled everything silently).
    carried_forward: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    # True: recorded past the planned number of sessions, confirmed; False: within the
    # plan; NULL: not asked (before 0004, imports).
    past_plan_confirmed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # induction (the series) or maintenance (after it); every session stored before
    # revision 0008 is induction, the only phase that could be recorded then.
    phase: Mapped[str] = mapped_column(String(16), default="induction",
                                       server_default="induction")
    version: Mapped[int] = mapped_column(Integer)

    patient: Mapped[Patient] = relationship()
    __mapper_args__ = {"version_id_col": version}


class Decision(Base):
    """A clinician's decision on a candidate, next to what the screen and model suggested.

    Append-only: the ORM refuses to update or delete one, and so does the database.
    """

    __tablename__ = "decisions"
    __table_args__ = (
        CheckConstraint(_in_list("decision", DECISIONS), name="ck_decisions_decision"),
        CheckConstraint(_in_list("suggested", DECISIONS), name="ck_decisions_suggested"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_pk: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    decision: Mapped[str] = mapped_column(String(CATEGORY_LENGTH))
    suggested: Mapped[str] = mapped_column(String(CATEGORY_LENGTH))
    reason: Mapped[str | None] = mapped_column(Text)
    clinician: Mapped[str] = mapped_column(String(200))  # the signed-in user's name
    role: Mapped[str | None] = mapped_column(String(CATEGORY_LENGTH), nullable=True)  # 0004
    model_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    patient: Mapped[Patient] = relationship()


guard(Decision, "decision", "record a new decision instead")
