"""The server side of a dashboard sign-in: one row per signed-in browser (issue 15).

The browser holds only an opaque random token; the store keeps its SHA-256 (never the
token itself), whose account it is, how it was signed in, when it was created and last used,
and when and why it ended. Kept beside ``records.tables.security`` on the same ``Base``;
``records/__init__`` imports this module so the metadata always includes it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from records.tables.clinical import Base, utcnow

METHODS = ("password", "oidc")
END_REASONS = ("sign_out", "timeout", "revoked", "disabled")


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class SigninSession(Base):
    """A signed-in browser: token digest, account, method, created / last seen / ended."""

    __tablename__ = "signin_sessions"
    __table_args__ = (
        CheckConstraint(_in_list("method", METHODS), name="ck_signin_sessions_method"),
        CheckConstraint(f"end_reason IS NULL OR {_in_list('end_reason', END_REASONS)}",
                        name="ck_signin_sessions_end_reason"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    method: Mapped[str] = mapped_column(String(16))
    sso_login: Mapped[str | None] = mapped_column(String(64), index=True)  # one IdP login
    client: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(index=True)
    end_reason: Mapped[str | None] = mapped_column(String(16))
    ended_by: Mapped[str | None] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"SigninSession({self.id}, user_id={self.user_id}, ended={self.end_reason})"
