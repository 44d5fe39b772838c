"""Issue 17 point 4: user text reaches a chart as text, never as plotly HTML."""

from __future__ import annotations

import pandas as pd

from dashboard.charts.risk import compare_risks
from dashboard.charts.scenario import contribution_change
from dashboard.charts.style import inert

HOSTILE = "<a href='http://evil.example/x'>click</a><b>bold</b><img src=http://evil.example/i>"


def test_inert_escapes_markup_and_leaves_numbers() -> None:
    assert inert(HOSTILE).startswith("&lt;a href='http://evil.example/x'&gt;")
    assert inert([1.5, 2]) == [1.5, 2]
    assert inert(["ok", HOSTILE])[1] == inert(HOSTILE)
    assert inert(None) is None


def _texts(figure) -> str:
    spec = figure.to_plotly_json()
    parts = [str(t.get(k)) for t in spec["data"] for k in ("name", "text", "y", "x")]
    parts.append(str(spec["layout"].get("title")))
    parts += [str(a.get("text")) for a in spec["layout"].get("annotations", [])]
    return " ".join(parts)


def test_patient_ids_and_scenario_names_in_legends_are_escaped() -> None:
    risks = pd.DataFrame({HOSTILE: [0.2, 0.4], "KAP-00001": [0.3, 0.1]},
                         index=["Response", "Remission"])
    shown = _texts(compare_risks(risks, title=f"Scenario {HOSTILE}"))
    assert "<a href" not in shown and "<img" not in shown and "<b>" not in shown
    assert "&lt;a href=" in shown


def test_table_driven_charts_escape_their_labels() -> None:
    table = pd.DataFrame({"input": [HOSTILE, "Age"], "baseline effect": [1.0, -2.0],
                          "scenario effect": [2.0, -1.0], "change": [1.0, 1.0]})
    shown = _texts(contribution_change(table, title=HOSTILE))
    assert "<a href" not in shown and "&lt;b&gt;bold" in shown
