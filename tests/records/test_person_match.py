"""The same person typed in two tabs is stored once (HAZ-040's open residual, issue 23).

Names are compared without case, accents, punctuation or word order; a name on file stops
Add patient until the clinician says it is a different person from each patient shown;
two threads adding one person at once store one patient on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from records.person_match import SamePersonOnFileError, refuse_same_name, same_name_on_file
from records.repository import add_patient, update_patient
from records.tables.clinical import Patient
from records.tables.names import name_key
from tests.records.test_submissions import _race


@pytest.mark.parametrize("variant", ["Nakamura, Avery", "avery NAKAMURA", "Avery  Nakámura",
                                     "Nakamura Avery.", "AVERY-NAKAMURA"])
def test_spellings_of_one_name_share_a_key(variant: str) -> None:
    assert name_key(variant) == name_key("Nakamura, Avery") == "avery nakamura"


@pytest.mark.parametrize("other", ["Nakamura, Avery Jo", "Nakamura, Ava", "Avery", ""])
def test_other_names_have_other_keys(other: str) -> None:
    assert name_key(other) != name_key("Nakamura, Avery")


def _create(factory: sessionmaker[Session], values: dict[str, Any],
            different_from: Collection[str] = ()) -> str:
    with factory() as session:
        refuse_same_name(session, values["name"], different_from=different_from)
        patient = add_patient(session, values)
        session.commit()
        return patient.patient_id


def _count(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count(Patient.id))) or 0)


def test_a_name_on_file_is_refused_until_confirmed(
        factory: sessionmaker[Session], make_patient: Callable[..., dict]) -> None:
    first = _create(factory, {**make_patient(name="Nakamura, Avery"), "patient_id": None})
    with pytest.raises(SamePersonOnFileError, match=first) as refused:
        _create(factory, {**make_patient(name="avery nakámura"), "patient_id": None})
    assert [m.patient_id for m in refused.value.matches] == [first]
    assert _count(factory) == 1  # nothing written
    second = _create(factory, {**make_patient(name="avery nakámura"), "patient_id": None},
                     different_from=[first])
    assert second != first and _count(factory) == 2
    with pytest.raises(SamePersonOnFileError, match=second):  # confirmed for one, not both
        _create(factory, {**make_patient(name="Avery Nakamura"), "patient_id": None},
                different_from=[first])


def test_a_renamed_patient_is_found_by_the_new_name(
        factory: sessionmaker[Session], make_patient: Callable[..., dict]) -> None:
    pid = _create(factory, {**make_patient(name="Old Name"), "patient_id": None})
    with factory() as session:
        stored = session.scalars(select(Patient)).one()
        update_patient(session, pid, {"name": "Quinn, River"}, stored.version)
        session.commit()
        assert same_name_on_file(session, "old name") == []
        assert [m.patient_id for m in same_name_on_file(session, "river QUINN")] == [pid]


def test_two_tabs_adding_one_person_store_one(
        store: Engine, factory: sessionmaker[Session],
        make_patient: Callable[..., dict]) -> None:
    values = {**make_patient(name="Okafor, Chidi"), "patient_id": None}
    results = _race(store, lambda: _create(factory, dict(values)))
    stored = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, SamePersonOnFileError)]
    assert len(stored) == 1 and len(refused) == len(results) - 1, results
    assert all(r.matches[0].patient_id == stored[0] for r in refused)
    assert _count(factory) == 1
