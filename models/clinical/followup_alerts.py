"""Long-term safety alerts: cumulative ketamine exposure and screens crossing thresholds.

§3 of the clinical reference names the long-term risks (dependency, cognitive impairment,
emotional blunting, urinary tract symptoms with frequent high-dose use) but gives no
thresholds, so every default below is *unsourced* except where noted, and each one is a
setting (``FollowupThresholds``) a clinic can change. Pure functions over the
``followup_sessions`` frame; the durability view and any report call them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd

from models.contract.schema import ID_COLUMN

Severity = Literal["high", "warning"]
RECENT_WEEKS = 4  # dosing frequency = maintenance sessions in the last 4 weeks / 4


@dataclass(frozen=True)
class FollowupThresholds:
    """When exposure or a long-term screen raises an alert (defaults documented inline)."""

    max_total_sessions: int = 20  # *unsourced*: more than ~3 induction series' worth
    max_total_mg_per_kg: float = 15.0  # *unsourced*: cumulative dose since the first session
    max_sessions_per_week: float = 1.0  # *unsourced*: more often than weekly maintenance
    craving_at_least: int = 4  # *unsourced*: 0–10 craving self-rating
    moca_below: int = 26  # conventional MoCA cut-off (Nasreddine 2005; not in the reference)
    moca_drop_at_least: int = 3  # *unsourced*: fall from the first follow-up screen
    blunting_at_least: int = 6  # *unsourced*: 0–10 emotional-blunting self-rating
    urinary_symptoms: bool = True  # any urinary symptom alerts (§3: ketamine cystitis)

    def to_dict(self) -> dict[str, object]:
        """Plain dict for docs and the settings panel."""
        return asdict(self)


DEFAULT_THRESHOLDS = FollowupThresholds()


@dataclass(frozen=True)
class FollowupAlert:
    """One long-term alert: when (days after the series), what, and how serious."""

    patient_id: str
    day_after_series: int
    kind: str
    severity: Severity
    message: str


ALERT_COLUMNS = list(FollowupAlert.__dataclass_fields__)


def recent_rate(visits: pd.DataFrame, weeks: int = RECENT_WEEKS) -> pd.Series:
    """Maintenance sessions per week over the last ``weeks`` follow-up weeks, per row.

    Counted by follow-up week rather than by day, so a weekly plan whose sessions drift a
    day either way never looks more frequent than weekly.
    """
    codes = pd.Categorical(visits[ID_COLUMN].astype(str)).codes.astype(np.int64)
    week = visits["week"].to_numpy(dtype=np.int64)
    key = codes * 10_000 + week
    maint = np.sort(key[(visits["kind"] == "maintenance").to_numpy()])
    counts = (np.searchsorted(maint, key, side="right")
              - np.searchsorted(maint, key - weeks, side="right"))
    return pd.Series(counts / weeks, index=visits.index)


def _first(rows: pd.DataFrame, kind: str, severity: Severity, text) -> list[FollowupAlert]:
    """The first row per patient that crosses a threshold (alerts fire once, when crossed)."""
    first = rows.groupby(ID_COLUMN, sort=False).head(1)
    return [FollowupAlert(str(r[ID_COLUMN]), int(r["day_after_series"]), kind, severity,
                          text(r)) for _, r in first.iterrows()]


def followup_alerts(visits: pd.DataFrame,
                    thresholds: FollowupThresholds = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """Every exposure and screen alert in ``followup_sessions`` rows (any patients).

    One row per patient and kind, at the first visit that crossed the threshold, newest
    first; columns ``ALERT_COLUMNS``.
    """
    t = thresholds
    v = visits.sort_values([ID_COLUMN, "day_after_series"], kind="stable").copy()
    alerts: list[FollowupAlert] = []
    alerts += _first(v[v["cumulative_sessions"] > t.max_total_sessions],
                     "cumulative sessions",
                     "warning", lambda r: f"{int(r['cumulative_sessions'])} ketamine sessions "
                     f"in total (alert above {t.max_total_sessions})")
    alerts += _first(v[v["cumulative_mg_per_kg"] > t.max_total_mg_per_kg],
                     "cumulative dose",
                     "warning", lambda r: f"cumulative dose {r['cumulative_mg_per_kg']:.1f} "
                     f"mg/kg (alert above {t.max_total_mg_per_kg:g} mg/kg)")
    v["rate"] = recent_rate(v)
    alerts += _first(v[v["rate"] > t.max_sessions_per_week], "dosing frequency", "warning",
                     lambda r: f"{r['rate']:.2f} maintenance sessions per week over the last "
                     f"4 weeks (alert above {t.max_sessions_per_week:g})")
    screens = v[v["craving_score"].notna()] if "craving_score" in v else v.iloc[:0]
    alerts += _first(screens[screens["craving_score"] >= t.craving_at_least], "craving",
                     "high", lambda r: f"craving/dependency score {int(r['craving_score'])}/10 "
                     f"(alert at {t.craving_at_least})")
    moca = screens[screens["moca"].notna()].copy()
    moca["drop"] = moca.groupby(ID_COLUMN)["moca"].transform("first") - moca["moca"]
    alerts += _first(moca[(moca["moca"] < t.moca_below)
                          | (moca["drop"] >= t.moca_drop_at_least)], "cognition", "warning",
                     lambda r: f"MoCA {int(r['moca'])}/30, {-int(r['drop']):+d} from the first "
                     f"screen (alert below {t.moca_below} or a fall of "
                     f"{t.moca_drop_at_least})")
    alerts += _first(screens[screens["blunting_score"] >= t.blunting_at_least],
                     "emotional blunting", "warning", lambda r: f"emotional blunting "
                     f"{int(r['blunting_score'])}/10 (alert at {t.blunting_at_least})")
    if t.urinary_symptoms:
        urinary = screens[screens["urinary_symptoms"].astype("boolean").fillna(False)
                          .to_numpy(dtype=bool)]
        alerts += _first(urinary, "urinary symptoms", "high", lambda r: "urinary symptoms "
                         "reported: check for ketamine-associated cystitis")
    frame = pd.DataFrame([asdict(a) for a in alerts], columns=ALERT_COLUMNS)
    return frame.sort_values([ID_COLUMN, "day_after_series"], ascending=[True, False],
                             kind="stable").reset_index(drop=True)
