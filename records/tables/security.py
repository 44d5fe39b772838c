"""Tables for sign-in and the audit trail (HIPAA 45 CFR 164.312(b)).

Kept beside ``records.tables.clinical`` on the same ``Base``; ``records/__init__`` imports this
module so the metadata (and Alembic's comparison) always includes them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from records.security.policy import ROLES
from records.tables.append_only import guard
from records.tables.clinical import CATEGORY_LENGTH, Base, utcnow

OUTCOMES = ("success", "failure", "denied")
GENESIS_HASH = "0" * 64  # the "previous hash" of the first audit entry


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class User(Base):
    """A dashboard account: bcrypt hash, role, lockout state; optimistic version column."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in_list("role", ROLES), name="ck_users_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(128))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)  # for single sign-on
    sso_subject: Mapped[str | None] = mapped_column(String(255), unique=True)  # OIDC "sub"
    role: Mapped[str] = mapped_column(String(CATEGORY_LENGTH))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    last_login_at: Mapped[datetime | None] = mapped_column()
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"User({self.username!r}, role={self.role!r}, active={self.active})"


class AuditEntry(Base):
    """One audited event; ``id`` is its place in the hash chain (1, 2, 3, … without gaps).

    ``hash`` is the SHA-256 of the canonical serialisation of the entry, which includes
    ``prev_hash``, so changing or removing any entry breaks every later link. Append-only:
    the ORM and the database refuse updates and deletes.
    """

    __tablename__ = "audit_log"
    __table_args__ = (CheckConstraint(_in_list("outcome", OUTCOMES), name="ck_audit_log_outcome"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str | None] = mapped_column(String(CATEGORY_LENGTH))
    patient_id: Mapped[str | None] = mapped_column(String(32), index=True)
    action: Mapped[str] = mapped_column(String(CATEGORY_LENGTH))
    category: Mapped[str] = mapped_column(String(CATEGORY_LENGTH))
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditChain(Base):
    """The chain's single head row: locked by every append (writers take turns) and the
    anchor ``verify`` compares the last entry with (a cut-off tail is noticed)."""

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    entries: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))


guard(AuditEntry, "audit entry", "the audit trail only grows")
