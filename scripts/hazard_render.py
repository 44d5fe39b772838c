"""Markdown from the checked hazard files: the hazard log page and the residual-risk list
inside the safety case (between its ``residual-risks`` markers). Deterministic, so a test
can say when the committed Markdown no longer matches the data."""

from __future__ import annotations

from scripts.hazard_schema import CASE_END, CASE_START, RESIDUALS, Hazard

HEADER = """# Hazard log

<!-- Generated from docs/safety/hazards/*.yaml by `python -m scripts.hazard_log`; do not
edit by hand (tests/unit/test_hazard_log.py fails when this page is out of date). -->

Each hazard: its cause, its effect on a patient, severity × likelihood before and after its
controls (1 minor … 5 catastrophic; 1 very rare … 5 very frequent), the controls (design,
test, information for the user) and the tests that exercise each control. Residual risk is
the after-score: ≤ 4 low, 5–9 medium, ≥ 10 high. How to add a hazard:
[README](README.md); the argument they support: [safety case](safety-case.md).
"""


def _order(hazard: Hazard) -> tuple[int, int, str]:
    """Highest residual band first, then the highest after-score, then id."""
    return (-RESIDUALS.index(hazard.data["residual"]), -hazard.risk_after, hazard.id)


def ordered(hazards: list[Hazard]) -> list[Hazard]:
    """Hazards sorted by residual risk (highest first), then id."""
    return sorted(hazards, key=_order)


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _score(entry: dict[str, int]) -> str:
    s, lk = entry["severity"], entry["likelihood"]
    return f"{s}×{lk} = {s * lk}"


def _table(hazards: list[Hazard]) -> list[str]:
    lines = ["| id | hazard | category | before | after | residual | status |",
             "|---|---|---|---|---|---|---|"]
    for h in hazards:
        d = h.data
        lines.append(f"| [{h.id}](#{h.id.lower()}) | {_cell(d['title'])} | {d['category']} | "
                     f"{_score(d['before'])} | {_score(d['after'])} | {d['residual']} | "
                     f"{d['status']} |")
    return lines


def _section(hazard: Hazard) -> list[str]:
    d = hazard.data
    lines = [f"### {hazard.id}", "", f"**{_cell(d['title'])}** · {d['category']} · "
             f"residual **{d['residual']}** · {d['status']}", "",
             f"- **Cause:** {_cell(d['cause'])}", f"- **Effect on the patient:** "
             f"{_cell(d['effect'])}", f"- **Risk:** before {_score(d['before'])}, after "
             f"{_score(d['after'])}", "- **Controls:**"]
    for control in d["controls"]:
        tests = ", ".join(f"`{t}`" for t in control["tests"])
        lines.append(f"  - *{control['kind']}*: {_cell(control['text'])} — tests: {tests}")
    return [*lines, ""]


def render_log(hazards: list[Hazard]) -> str:
    """The whole ``docs/safety/hazard-log.md``."""
    hazards = ordered(hazards)
    counts = {band: sum(h.data["residual"] == band for h in hazards) for band in RESIDUALS}
    summary = (f"{len(hazards)} hazards: " + ", ".join(
        f"{counts[b]} {b}" for b in reversed(RESIDUALS)) + " residual risk; "
        f"{sum(len(h.test_ids()) for h in hazards)} test references.")
    lines = [HEADER, summary, "", *_table(hazards), "", "## Hazards", ""]
    for hazard in hazards:
        lines += _section(hazard)
    return "\n".join(lines).rstrip() + "\n"


def residual_list(hazards: list[Hazard]) -> str:
    """The residual risks, highest first, as a Markdown list (for the safety case)."""
    lines = []
    for band in reversed(RESIDUALS):
        chosen = [h for h in ordered(hazards) if h.data["residual"] == band]
        lines.append(f"- **{band.capitalize()}** ({len(chosen)}): " + (
            "; ".join(f"[{h.id}](hazard-log.md#{h.id.lower()}) {_cell(h.data['title'])} "
                      f"({_score(h.data['after'])}, {h.data['status']})" for h in chosen)
            or "none"))
    return "\n".join(lines)


def render_case(text: str, hazards: list[Hazard]) -> str:
    """``text`` (the safety case) with the residual-risk list between its markers renewed;
    unchanged when the markers are missing."""
    if CASE_START not in text or CASE_END not in text:
        return text
    head, rest = text.split(CASE_START, 1)
    _, tail = rest.split(CASE_END, 1)
    return f"{head}{CASE_START}\n{residual_list(hazards)}\n{CASE_END}{tail}"
