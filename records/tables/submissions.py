"""Form submissions: one row per submission token, so a form is saved at most once.

A dashboard form carries a token made when it was rendered. The store writes the token in
the same transaction as the record it saves; the unique constraint makes a second click, a
retry or a concurrent request with the same token fail to write again, and the first
record (``result``) is handed back instead (``records.submissions``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from records.tables.clinical import Base, utcnow

TOKEN_LENGTH = 64
FORM_LENGTH = 64


class FormSubmission(Base):
    """A used submission token, the form it came from and what that submission stored."""

    __tablename__ = "form_submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(TOKEN_LENGTH), unique=True)
    form: Mapped[str] = mapped_column(String(FORM_LENGTH))
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of what was submitted
    result: Mapped[str | None] = mapped_column(Text)  # JSON of what the first save returned
    username: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"FormSubmission({self.form!r}, result={self.result!r})"
