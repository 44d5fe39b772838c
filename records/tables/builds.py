"""Shared builds (issue 31, revision 0020): one row per derived table that replicas share.

Several dashboard processes on one store must not each build the cohort table for the same
store state. The row is the lease (who builds, until when) and the published result (the
Arrow bytes, their SHA-256 and HMAC tag, the store fingerprint they were built at) in one,
so a replica that finds the build leased waits for the holder's result and reads it from
the store instead of building it again. ``builds`` counts the published builds.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from records.tables.clinical import Base

KEY_LENGTH = 160
HOLDER_LENGTH = 128


class SharedBuild(Base):
    """A build lease and the last result published under it."""

    __tablename__ = "shared_builds"

    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(HOLDER_LENGTH))  # None: not leased
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fingerprint: Mapped[str | None] = mapped_column(String(200))  # store state of ``body``
    digest: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of ``body``
    tag: Mapped[str | None] = mapped_column(String(200))  # HMAC of the installation key
    body: Mapped[bytes | None] = mapped_column(LargeBinary)  # Arrow IPC: data only
    builds: Mapped[int] = mapped_column(Integer, server_default="0")
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[str | None] = mapped_column(String(HOLDER_LENGTH))
