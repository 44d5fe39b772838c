"""Charts that colour-blind clinicians read as well as anyone (issue 30): the categorical
colours come from the Okabe-Ito palette, and the explanation charts say in words what their
colours mean; the waterfall's baseline and total bars are drawn whole.

Pure plotly figures (dashboard.charts), inspected as data: no browser, no Streamlit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.charts import durability, explain, style

LABELS = {"dose": "Dose", "age": "Age"}


def _bar_ends(figure: object) -> list[float]:
    """Both ends of every waterfall bar: absolute and total bars start at 0, steps at the
    running sum."""
    trace = figure.data[0]  # type: ignore[attr-defined]
    ends, running = [], 0.0
    for measure, x in zip(trace.measure, trace.x, strict=True):
        if measure == "relative":
            ends += [running, running + x]
            running += x
        else:  # absolute (the baseline) or total (this patient): a bar from zero
            running = x if measure == "absolute" else running
            ends += [0.0, running]
    return ends


@pytest.mark.parametrize("base, steps, scale", [
    (82.0, {"dose": 4.0, "age": -2.5}, "probability"),  # far from 0: the old zoom cut it
    (8.0, {"dose": -3.0, "age": -2.0}, "probability"),
    (-2.3, {"dose": 0.4, "age": -0.1}, "log-odds"),  # a negative baseline bar
    (1.2, {"dose": -2.0, "age": -1.0}, "log-odds"),  # crosses zero
])
def test_the_waterfall_axis_holds_every_bar_whole(base: float, steps: dict[str, float],
                                                   scale: str) -> None:
    figure = explain.shap_waterfall(base, pd.Series(steps), LABELS, scale)
    low, high = figure.layout.xaxis.range
    ends = _bar_ends(figure)
    assert ends[1] == pytest.approx(base) and ends[-1] == pytest.approx(base + sum(steps.values()))
    assert low <= min(ends) and max(ends) <= high, (low, high, ends)
    assert low < min(ends) and max(ends) < high  # with room for the number beside each bar


def test_the_waterfall_says_what_its_colours_mean() -> None:
    figure = explain.shap_waterfall(30.0, pd.Series({"dose": 5.0, "age": -2.0}), LABELS)
    key = " ".join(a.text for a in figure.layout.annotations)
    assert style.RAISES in key and style.LOWERS in key  # "raises/lowers the chance"
    trace = figure.data[0]
    assert trace.increasing.marker.color == style.UP and trace.decreasing.marker.color == style.DOWN
    assert list(trace.text) == ["30.0", "+5.0", "-2.0", "33.0"]  # the sign says it too


def test_contributions_side_by_side_name_both_directions_and_use_the_palette() -> None:
    effects = pd.DataFrame({"KAP-1": [3.0, -1.0], "KAP-2": [-2.0, 0.5]}, index=["dose", "age"])
    figure = explain.compare_contributions(effects, LABELS)
    title = figure.layout.xaxis.title.text
    assert "raises" in title and "lowers" in title
    assert [t.name for t in figure.data] == ["KAP-1", "KAP-2"]  # a legend names each colour
    assert [t.marker.color for t in figure.data] == list(style.PATIENT_COLOURS[:2])


def test_categorical_colours_come_from_the_okabe_ito_palette() -> None:
    palette = set(style.OKABE_ITO.values())
    assert len(palette) == 8
    assert {style.UP, style.DOWN} <= palette and set(style.PATIENT_COLOURS) <= palette
    assert len(set(style.PATIENT_COLOURS)) == len(style.PATIENT_COLOURS)
    assert set(durability.PLAN_COLOURS.values()) <= palette
    assert len(set(durability.PLAN_COLOURS.values())) == len(durability.PLAN_COLOURS)


def test_the_effect_colours_have_3_to_1_contrast_on_white() -> None:
    """WCAG 1.4.11: a bar or line that carries meaning needs 3:1 against the background."""
    def luminance(hex_colour: str) -> float:
        channels = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
        linear = np.where(channels <= 0.03928, channels / 12.92,
                          ((channels + 0.055) / 1.055) ** 2.4)
        return float(linear @ [0.2126, 0.7152, 0.0722])

    for colour in (style.UP, style.DOWN, *style.PATIENT_COLOURS,
                   *durability.PLAN_COLOURS.values()):
        assert 1.05 / (luminance(colour) + 0.05) >= 3.0, colour


def _relative_luminance(colour: str) -> float:
    """Of '#rrggbb' or 'rgb(r, g, b)', as plotly writes scale colours."""
    values = ([int(colour[i:i + 2], 16) for i in (1, 3, 5)] if colour.startswith("#") else
              [float(v) for v in colour[colour.index("(") + 1:-1].split(",")[:3]])
    channels = np.array(values) / 255
    linear = np.where(channels <= 0.03928, channels / 12.92, ((channels + 0.055) / 1.055) ** 2.4)
    return float(linear @ [0.2126, 0.7152, 0.0722])


def test_the_beeswarm_value_scale_is_ordered_without_hue() -> None:
    """The beeswarm colours each dot by the input's value: its scale must read low -> high
    in lightness alone (every colour-vision deficiency, greyscale print), as cividis does; a
    red-blue diverging scale goes light in the middle and fails. The colour bar says it."""
    points = pd.DataFrame({"feature": ["Dose", "Age"], "contribution": [1.0, -2.0],
                           "text": ["0.5 mg/kg", "40"], "value": [0.2, 0.9]})
    marker = explain.beeswarm(points).data[0].marker
    lightness = [_relative_luminance(colour) for _, colour in marker.colorscale]
    assert all(b > a for a, b in zip(lightness, lightness[1:], strict=False)), lightness
    assert list(marker.colorbar.ticktext) == ["low (dark blue)", "high (yellow)"]
    import plotly.graph_objects as go  # the old red-blue scale fails the same check

    red_blue = go.Scattergl(marker={"colorscale": "RdBu_r"}).marker.colorscale
    old = [_relative_luminance(colour) for _, colour in red_blue]
    assert not all(b > a for a, b in zip(old, old[1:], strict=False))


def _session_figures() -> list[object]:
    from dashboard.charts import sessions

    rows = pd.DataFrame({"session_number": [1, 2], "phq9": [18, 12], "sbp_pre": [128, 131],
                         "sbp_post": [150, 184], "dbp_pre": [80, 82], "dbp_post": [92, 111],
                         "cadss": [12, 25], **{e: [True, False] for e in style.SIDE_EFFECTS}})
    band = pd.DataFrame({"session_number": [1, 2], "q10": [14, 9], "q50": [17, 13],
                         "q90": [20, 17]})
    reported = pd.DataFrame({"x": [1.5], "phq9": [15], "answered": ["2026-12-01"]})
    return [sessions.phq9_trajectory(rows, band, 20.0, reported=reported),
            sessions.bp_chart(rows), sessions.side_effects_chart(rows)]


def _figure_colours(figure: object) -> list[str]:
    """Every line, marker and shape colour a figure sets (fills excepted: the band)."""
    out: list[str] = []
    for trace in figure.data:  # type: ignore[attr-defined]
        line = getattr(trace, "line", None)
        if line is not None and line.color:
            out.append(line.color)
        colour = getattr(trace.marker, "color", None) if hasattr(trace, "marker") else None
        out += [c for c in ([colour] if isinstance(colour, str) else list(colour or ()))]
    out += [shape.line.color for shape in figure.layout.shapes if shape.line.color]  # type: ignore[attr-defined]
    return out


def test_session_charts_draw_in_the_palette_with_3_to_1_contrast() -> None:
    """Treatment progress's PHQ-9, blood pressure and side-effect charts: every line, marker
    and alert line in Okabe-Ito (or the neutral grey), each at least 3:1 on white; the two
    lines of one measure (before/after) differ in dash as well as colour."""
    allowed = set(style.OKABE_ITO.values()) | {style.NEUTRAL}
    for figure in _session_figures():
        for colour in _figure_colours(figure):
            assert colour in allowed, colour
            assert 1.05 / (_relative_luminance(colour) + 0.05) >= 3.0, colour
    bp = _session_figures()[1]
    dashes = {t.name: t.line.dash for t in bp.data}
    assert dashes["systolic before"] != dashes["systolic after"]
    assert dashes["diastolic before"] != dashes["diastolic after"]
