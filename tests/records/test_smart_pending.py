"""SMART launches waiting for their callback live in the store (issue 26 → 31 replicas):
any process can finish one, each is used once, an expired one is refused, and neither the
state nor the browser binding is stored as given."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from records.security.smart_pending import digest, keep, take
from records.tables.smart import SmartPending
from tests.records.test_submissions import _race

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
LAUNCH = {"client_id": "kapcds", "nonce": "n-1", "code_verifier": "v" * 64}


def test_a_launch_is_taken_once_by_any_session(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        keep(session, "state-1", "binding-1", LAUNCH, 600, NOW)
        session.commit()
    with factory() as other:  # another process, same store
        found = take(other, "state-1", NOW + timedelta(minutes=5))
        other.commit()
    assert found == (LAUNCH, digest("binding-1"))
    with factory() as session:
        assert take(session, "state-1", NOW) is None  # used up
        assert take(session, "", NOW) is None and take(session, "unknown", NOW) is None


def test_an_expired_launch_is_refused_and_removed(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        keep(session, "state-2", "b", LAUNCH, 600, NOW)
        session.commit()
        assert take(session, "state-2", NOW + timedelta(seconds=601)) is None
        session.commit()
        assert session.scalars(select(SmartPending)).all() == []


def test_neither_state_nor_binding_is_stored_as_given(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        keep(session, "state-3", "binding-3", LAUNCH, 600, NOW)
        session.commit()
        [row] = session.scalars(select(SmartPending)).all()
    assert row.state_sha256 == digest("state-3") and "state-3" not in str(row.launch)
    assert row.binding_sha256 == digest("binding-3")


def test_two_callbacks_with_one_state_finish_one_launch(
        store: Engine, factory: sessionmaker[Session]) -> None:
    with factory() as session:
        keep(session, "state-4", "b", LAUNCH, 600)
        session.commit()

    def callback() -> object:
        with factory() as session:
            found = take(session, "state-4")
            session.commit()
            return found

    results = _race(store, callback)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r is not None for r in results) == 1
