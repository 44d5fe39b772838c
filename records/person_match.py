"""Is this person already on file? A check made when a patient is added by hand.

A submission token stops one form from storing twice, but two tabs (or two clinicians)
typing the same new patient hold two tokens (HAZ-040). Names are the only identity the
store keeps besides the id, so a new patient whose name matches one on file — compared
without case, accents, punctuation or word order ("Nakamura, Avery" = "avery NAKAMURA") —
is refused until the clinician says it is a different person.

The check and the insert must not interleave with another creation: ``hold_creation_lock``
serialises them (SQLite: the write lock is taken before the check reads; PostgreSQL: a
transaction-scoped advisory lock). The lookup is an index seek on the stored key
(``records.tables.names``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from records.errors import RecordError
from records.tables.clinical import Patient
from records.tables.names import name_key

# pg_advisory_xact_lock key: "KAPC" "DSPT" in ASCII, fixed so every replica uses the same lock.
_CREATION_LOCK = 0x4B41_5043_4453_5054


@dataclass(frozen=True)
class OnFile:
    """A patient on file whose name matches (what a clinician needs to tell them apart)."""

    patient_id: str
    age: int
    sex: str
    added: str  # ISO date the record was created


class SamePersonOnFileError(RecordError):
    """A patient with the same name is on file; adding another needs a confirmation."""

    def __init__(self, matches: list[OnFile]) -> None:
        self.matches = matches
        listed = ", ".join(f"{m.patient_id} (age {m.age}, {m.sex}, added {m.added})"
                           for m in matches)
        super().__init__(f"a patient with this name is already on file: {listed}")


def hold_creation_lock(session: Session) -> None:
    """Serialise patient creation until ``session`` commits or rolls back."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CREATION_LOCK})
    else:  # a write that changes nothing: SQLite takes the single write lock now
        session.execute(text("DELETE FROM patients WHERE 0 = 1"))


def same_name_on_file(session: Session, name: str, limit: int = 5) -> list[OnFile]:
    """Patients on file whose ``name_key`` equals that of ``name`` (oldest first)."""
    key = name_key(name)
    if not key:
        return []
    found = session.scalars(select(Patient).where(Patient.name_key == key)
                            .order_by(Patient.id).limit(limit)).all()
    return [OnFile(p.patient_id, int(p.age), str(p.sex), p.created_at.date().isoformat())
            for p in found]


def refuse_same_name(session: Session, name: str, *,
                     different_from: Collection[str] = ()) -> None:
    """Take the creation lock and raise ``SamePersonOnFileError`` for a name on file,
    unless the clinician confirmed a different person from each such patient
    (``different_from``: the ids they were shown; a match they were not shown still stops)."""
    hold_creation_lock(session)
    unconfirmed = [m for m in same_name_on_file(session, name)
                   if m.patient_id not in set(different_from)]
    if unconfirmed:
        raise SamePersonOnFileError(unconfirmed)
