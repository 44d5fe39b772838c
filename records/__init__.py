"""The clinical store: patients, treatment plans, sessions and decisions via SQLAlchemy.

Embedded SQLite by default, any SQLAlchemy URL (PostgreSQL) by setting
``KAPCDS_DATABASE_URL``. Start-up: ``engine = make_engine(); upgrade(engine)``; then the
functions in ``records.repository`` with sessions from ``session_factory(engine)``.
"""

from records.db import make_engine, session_factory
from records.errors import (
    AppendOnlyError,
    DuplicateRecordError,
    RecordError,
    RecordImportError,
    RecordNotFoundError,
    StaleRecordError,
)
from records.migrate import upgrade
from records.tables.builds import SharedBuild  # noqa: F401  (on Base.metadata)
from records.tables.cds import CdsCard, CdsFeedback  # on Base.metadata too
from records.tables.edge import AuditAnchor, CdsTokenUse, SigninThrottle  # noqa: F401  (on Base.metadata)
from records.tables.followup import FollowupDose, FollowupVisit, MaintenancePlan
from records.tables.lifecycle import PredictionShown, TrainingJob  # on Base.metadata too
from records.tables.proms import PromAlert, PromInvitation, PromSchedule, PromSubmission
from records.tables.security import AuditEntry, User  # also puts them on Base.metadata
from records.tables.signin import SigninSession
from records.tables.smart import SmartIdentity, SmartIssuer  # noqa: F401  (on Base.metadata)
from records.tables.submissions import FormSubmission

__all__ = [
    "AppendOnlyError", "DuplicateRecordError", "RecordError", "RecordImportError",
    "RecordNotFoundError", "StaleRecordError", "make_engine", "session_factory", "upgrade",
    "AuditEntry", "User", "SigninSession", "PredictionShown", "TrainingJob",
    "FollowupVisit", "MaintenancePlan", "FollowupDose", "CdsCard", "CdsFeedback",
    "PromSchedule", "PromInvitation", "PromSubmission", "PromAlert",
    "FormSubmission",
]
