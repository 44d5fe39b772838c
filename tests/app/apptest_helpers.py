"""Small helpers shared by the app tests (reading plotly specs and store counts)."""

from __future__ import annotations

import json
from typing import Any

from streamlit.testing.v1 import AppTest

from dashboard.services import Workspace
from records.db import session_factory
from records.repository import patient_count, sessions_frame


def plotly_figures(at: AppTest) -> list[dict[str, Any]]:
    """Every plotly chart on the page as its JSON figure spec."""
    return [json.loads(element.proto.spec) for element in at.get("plotly_chart")]


def trace(figure: dict[str, Any], name: str) -> dict[str, Any]:
    """The trace called ``name`` in a figure spec."""
    return next(t for t in figure["data"] if t.get("name") == name)


def n_patients(ws: Workspace) -> int:
    with session_factory(ws.engine)() as session:
        return patient_count(session)


def n_sessions(ws: Workspace, patient_id: str) -> int:
    with session_factory(ws.engine)() as session:
        return len(sessions_frame(session, patient_id))


def texts(elements: Any) -> str:
    """All values of an element list as one string (for 'message shown' checks)."""
    return "\n".join(str(e.value) for e in elements)
