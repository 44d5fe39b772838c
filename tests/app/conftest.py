"""App-test fixtures: one real, small workspace per test session.

``KAPCDS_HOME`` points at a temporary folder and the lead's bootstrap runs once: the store
is migrated and seeded from ``data_samples/`` and a first model is trained and promoted
(no mocks, so the pages see exactly what a clinician would). One account per role is made
there too; ``open_page`` signs in as a clinician unless told another role.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from apptest_helpers import USERS, sign_in
from streamlit.testing.v1 import AppTest

from dashboard.services.startup import ensure_ready
from dashboard.services.workspace import Workspace
from models.store.registry import Registry
from records.db import session_factory
from records.security.policy import Actor
from records.security.users import create_user

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
TIMEOUT = 180  # seconds; the first run in a process imports LightGBM/sklearn (slow on CI)
_ENV = ("KAPCDS_HOME", "KAPCDS_DATABASE_URL", "KAPCDS_ADMIN_PASSWORD", "KAPCDS_BCRYPT_ROUNDS")
ADMIN_PASSWORD = "app-test admin password"
PASSWORD = "app-test password"  # every test account's


@pytest.fixture(scope="session")
def kapcds_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A bootstrapped home folder (store seeded, model trained) for the whole session."""
    home = tmp_path_factory.mktemp("kapcds-home")
    saved = {name: os.environ.get(name) for name in _ENV}
    os.environ["KAPCDS_HOME"] = str(home)
    os.environ.pop("KAPCDS_DATABASE_URL", None)
    os.environ["KAPCDS_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    os.environ["KAPCDS_BCRYPT_ROUNDS"] = "4"
    st.cache_resource.clear()
    ready = ensure_ready()
    with session_factory(ready.engine)() as session:  # type: ignore[arg-type]
        for role, username in USERS.items():
            if role != "admin":
                create_user(session, username, PASSWORD, role, Actor("app-tests", "system"))
        session.commit()
    try:
        yield home
    finally:
        st.cache_resource.clear()
        ready.engine.dispose()  # type: ignore[attr-defined]
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def workspace(kapcds_home: Path) -> Workspace:
    """The same workspace the pages use, for arranging data and checking the store."""
    ready = ensure_ready()
    model_set, card = Registry(ready.registry_dir).load(ready.version)
    return Workspace(ready.engine, model_set, card, ready.version)  # type: ignore[arg-type]


@pytest.fixture
def open_page(kapcds_home: Path) -> Callable[..., AppTest]:
    """Open one page of the real app (through ``app.py`` and ``st.navigation``), signed in
    as ``role`` (default: clinician)."""

    def _open(name: str, role: str = "clinician") -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        sign_in(at, role)
        at.switch_page(f"views/{name}.py")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return _open
