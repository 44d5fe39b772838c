"""Small helpers shared by the app tests (signing in, plotly specs, store counts)."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from typing import Any

import numpy as np
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from base.settings import default_database_url
from dashboard.services.workspace import Workspace
from dashboard.widgets.signin.browser_session import TOKEN_KEY
from records.db import make_engine, session_factory
from records.repository import patient_count, sessions_frame
from records.security import signin_sessions as sessions

USERS = {"clinician": "test-clinician", "data_scientist": "test-data-scientist",
         "trainee": "test-trainee", "admin": "admin"}  # made by the kapcds_home fixture


_ENGINES: dict[str, Engine] = {}


def store_engine() -> Engine:
    """The store of the current ``KAPCDS_HOME`` (one engine per URL)."""
    url = default_database_url()
    if url not in _ENGINES:
        _ENGINES[url] = make_engine(url)
    return _ENGINES[url]


def open_session(username: str) -> str:
    """A server-side sign-in session for ``username``; its token."""
    with session_factory(store_engine())() as session:
        token = sessions.start(session, username, "password")
        session.commit()
    return token


def sign_in(at: AppTest, role: str = "clinician", username: str | None = None) -> AppTest:
    """Start ``at``'s session signed in as the test account of ``role`` (a server-side
    session whose token the tab holds, as after the form; the form is tested in
    test_auth.py)."""
    at.session_state[TOKEN_KEY] = open_session(username or USERS[role])
    return at


def plotly_figures(at: AppTest) -> list[dict[str, Any]]:
    """Every plotly chart on the page as its JSON figure spec."""
    return [json.loads(element.proto.spec) for element in at.get("plotly_chart")]


def values(data: Any) -> list[Any]:
    """A trace's data array as a list: plotly writes numpy arrays as base64 typed arrays
    (``{"dtype": "i8", "bdata": ...}``) and lists as they are."""
    if isinstance(data, dict) and "bdata" in data:
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]).tolist()
    return list(data)


def trace(figure: dict[str, Any], name: str) -> dict[str, Any]:
    """The trace called ``name`` in a figure spec."""
    return next(t for t in figure["data"] if t.get("name") == name)


def n_patients(ws: Workspace) -> int:
    with session_factory(ws.engine)() as session:
        return patient_count(session)


def n_sessions(ws: Workspace, patient_id: str) -> int:
    with session_factory(ws.engine)() as session:
        return len(sessions_frame(session, patient_id))


def as_read(markdown: object) -> str:
    """Markdown source as a reader sees it: ``plain()``'s escapes removed."""
    return re.sub(r"\\(.)", r"\1", str(markdown)).replace("\u200b", "")


def texts(elements: Any) -> str:
    """All values of an element list as one string (for 'message shown' checks)."""
    return "\n".join(str(e.value) for e in elements)


def audit_entries(ws: Workspace, action: str | None = None,
                  user: str | None = None) -> list[dict[str, Any]]:
    """The audit trail's entries (oldest first), optionally of one action or user."""
    from records.audit.trail import AuditFilter, iter_entries

    with session_factory(ws.engine)() as session:
        return list(iter_entries(session, AuditFilter(action=action, username=user)))


def shown_text(at: AppTest) -> str:
    """Everything a page shows as text: messages, headings, options and table cells."""
    parts = [str(e.value) for kind in ("title", "subheader", "header", "markdown", "caption",
                                       "text", "info", "warning", "error", "success", "metric")
             for e in at.get(kind)]
    for kind in ("selectbox", "multiselect", "radio"):
        for widget in at.get(kind):
            parts += [str(o) for o in widget.options]
    for frame in at.get("dataframe"):
        parts.append(frame.value.to_csv())
    return "\n".join(parts)


def wait_for_job(job_id: str, timeout: float = 400) -> Any:
    """The lab job ``job_id`` once the worker finished it (AssertionError after ``timeout``)."""
    from records import jobs

    engine = make_engine()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with session_factory(engine)() as session:
                job = jobs.get_job(session, job_id)
            if job.status in jobs.FINISHED:
                return job
            time.sleep(1)
        raise AssertionError(f"job {job_id} is still {job.status}: {job.message}")
    finally:
        engine.dispose()


def hold_cohort_build(monkeypatch: Any) -> threading.Event:
    """As on a fresh server of a large store (issue 31): the background build of the
    cohort table waits until the returned event is set, and the sample store counts as large
    (``WAIT_BELOW`` 0), so pages take their no-waiting paths. Set the event when done."""
    from dashboard.widgets import resources

    release = threading.Event()
    built = resources.cohort_table

    def slow_build(ws: Workspace) -> Any:
        release.wait(timeout=120)
        return built(ws)

    monkeypatch.setattr(resources, "cohort_table", slow_build)
    monkeypatch.setattr(resources, "WAIT_BELOW", 0)
    resources._prepare_cohort.clear()  # as on a fresh server
    return release
