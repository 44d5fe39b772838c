"""The audit chain's hash rule and its verdict, shared by the trail, its verifier and the
checkpoints (one place, so the three never disagree on what an entry's hash is)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

HASHED_FIELDS = ("id", "at", "username", "role", "patient_id", "action", "category",
                 "outcome", "detail", "prev_hash")
COLUMNS = (*HASHED_FIELDS, "hash")
FORMAT = 1  # part of every hash; bump (with a migration note) if the serialisation changes


def iso_utc(at: datetime) -> str:
    """UTC with microseconds, as every hash and export writes an entry's time."""
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(fields: dict[str, Any]) -> bytes:
    """The bytes an entry's hash is computed over (every hashed field plus the format)."""
    data = {name: fields[name] for name in HASHED_FIELDS}
    data["at"] = iso_utc(data["at"])
    data["format"] = FORMAT
    return json.dumps(data, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def entry_hash(fields: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical serialisation."""
    return hashlib.sha256(canonical(fields)).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    """The result of ``verify``: OK, or the first broken link and what is wrong with it."""

    ok: bool
    entries: int
    broken_at: int | None = None
    problem: str = ""
    note: str = ""  # how the chain is anchored (checkpoint time and size)

    def __str__(self) -> str:
        if self.ok:
            return f"OK: {self.entries} audit entries, hash chain intact{self.note}"
        where = f"at entry {self.broken_at}" if self.broken_at is not None else "(checkpoints)"
        return f"BROKEN {where}: {self.problem}"
