"""The store keeps an administrator, and the order roles are compared by (issue 23 defect 6)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.orm import Session, sessionmaker

from records.errors import LastAdminError
from records.security import users
from records.security.policy import ROLES, Actor, lowers_role

ROOT = Actor("system:test", "system")
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def fast_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPCDS_BCRYPT_ROUNDS", "4")


def _add(factory: sessionmaker[Session], name: str, role: str) -> None:
    with factory() as session:
        users.create_user(session, name, PASSWORD, role, ROOT)
        session.commit()


def _role(factory: sessionmaker[Session], name: str) -> tuple[str, bool]:
    with factory() as session:
        user = users.get_user(session, name)
        assert user is not None
        return user.role, user.active


def test_the_last_admin_cannot_be_demoted(factory: sessionmaker[Session]) -> None:
    _add(factory, "boss", "admin")
    with factory() as session, pytest.raises(LastAdminError, match="last active administrator"):
        users.set_role(session, "boss", "clinician", ROOT)
    assert _role(factory, "boss") == ("admin", True)


def test_the_last_admin_cannot_be_disabled(factory: sessionmaker[Session]) -> None:
    _add(factory, "boss", "admin")
    with factory() as session, pytest.raises(LastAdminError):
        users.set_active(session, "boss", False, ROOT)
    assert _role(factory, "boss") == ("admin", True)


def test_a_second_admin_may_be_demoted_then_not_the_last(factory: sessionmaker[Session]) -> None:
    _add(factory, "boss", "admin")
    _add(factory, "deputy", "admin")
    with factory() as session:
        users.set_role(session, "deputy", "trainee", ROOT)
        session.commit()
    assert _role(factory, "deputy") == ("trainee", True)
    with factory() as session, pytest.raises(LastAdminError):
        users.set_role(session, "boss", "trainee", ROOT)


def test_a_disabled_admin_does_not_count(factory: sessionmaker[Session]) -> None:
    _add(factory, "boss", "admin")
    _add(factory, "deputy", "admin")
    with factory() as session:
        users.set_active(session, "deputy", False, ROOT)
        session.commit()
    with factory() as session, pytest.raises(LastAdminError):
        users.set_role(session, "boss", "clinician", ROOT)


def test_concurrent_demotions_keep_one_admin(factory: sessionmaker[Session]) -> None:
    _add(factory, "boss", "admin")
    _add(factory, "deputy", "admin")
    gate = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def demote(name: str) -> None:
        gate.wait()
        try:
            with factory() as session:
                users.set_role(session, name, "clinician", ROOT)
                session.commit()
            outcomes[name] = "ok"
        except Exception as error:  # noqa: BLE001 - checked below
            outcomes[name] = error

    threads = [threading.Thread(target=demote, args=(n,)) for n in ("boss", "deputy")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(type(o).__name__ if o != "ok" else "ok" for o in outcomes.values()) == \
        ["LastAdminError", "ok"], outcomes
    with factory() as session:
        assert len(users.active_admins(session)) == 1


@pytest.mark.parametrize(("old", "new", "lowers"), [
    ("admin", "clinician", True), ("admin", "data_scientist", True), ("admin", "trainee", True),
    ("clinician", "trainee", True), ("data_scientist", "trainee", True),
    ("clinician", "data_scientist", True), ("data_scientist", "clinician", True),
    ("trainee", "clinician", False), ("trainee", "admin", False), ("clinician", "admin", False),
    ("admin", "admin", False)])
def test_role_order(old: str, new: str, lowers: bool) -> None:
    assert old in ROLES and new in ROLES
    assert lowers_role(old, new) is lowers
