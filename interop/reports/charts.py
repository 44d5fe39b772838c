"""Matplotlib charts for the printable report, rendered to PNG bytes.

Uses the object-oriented API (``Figure`` + Agg canvas), not pyplot: no global state, safe
in a web server thread, and no display or browser needed.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from models.contract.schema import REMISSION_BELOW

BENEFIT, RISK, NEUTRAL = "#2b7a4b", "#b5443b", "#4a5a6a"
BAND = "#9bb7d4"
DPI = 160


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def _style(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


def predictions_chart(labels: Sequence[str], kinds: Sequence[str],
                      probabilities: Sequence[float],
                      observed: Sequence[tuple[float, float, float] | None]) -> bytes:
    """Predicted probability per outcome (bars) and, where the card has it, the observed
    rate among held-out patients with similar predictions (dot, 95 % CI line)."""
    fig = Figure(figsize=(6.6, 0.42 * len(labels) + 0.9))
    ax = fig.add_subplot()
    rows = list(range(len(labels)))[::-1]
    colours = [BENEFIT if k == "benefit" else RISK for k in kinds]
    ax.barh(rows, [p * 100 for p in probabilities], color=colours, alpha=0.8, height=0.55,
            label="predicted")
    shown = False
    for row, obs in zip(rows, observed, strict=True):
        if obs is None:
            continue
        rate, lo, hi = obs
        ax.plot([lo * 100, hi * 100], [row, row], color="black", linewidth=1.2)
        ax.plot([rate * 100], [row], "o", color="black", markersize=4,
                label=None if shown else "observed in similar held-out patients (95 % CI)")
        shown = True
    for row, p in zip(rows, probabilities, strict=True):
        ax.text(min(p * 100 + 1.5, 93), row + 0.3, f"{p:.0%}", va="center", fontsize=8)
    ax.set_yticks(rows, labels)
    ax.set_xlim(0, 100)
    ax.set_xlabel("probability over the induction series (%)", fontsize=8)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2,
              frameon=False)
    _style(ax)
    return _png(fig)


def explanation_chart(items: Sequence[tuple[str, float]], title: str) -> bytes:
    """Each input's effect on the probability, in percentage points (largest first)."""
    items = list(items)[::-1]
    fig = Figure(figsize=(6.6, 0.36 * len(items) + 0.9))
    ax = fig.add_subplot()
    values = [v * 100 for _, v in items]
    ax.barh(range(len(items)), values, height=0.6,
            color=[BENEFIT if v > 0 else RISK for v in values])
    ax.set_yticks(range(len(items)), [label for label, _ in items])
    ax.axvline(0, color="#555555", linewidth=0.8)
    ax.set_xlabel("effect on the probability (percentage points)", fontsize=8)
    ax.set_title(title, fontsize=9, loc="left")
    span = max([abs(v) for v in values] + [1.0]) * 1.15
    ax.set_xlim(-span, span)
    _style(ax)
    return _png(fig)


def progress_chart(phq9: Sequence[tuple[int, float]],
                   band: Sequence[tuple[int, float, float, float]] | None,
                   baseline: float | None) -> bytes:
    """PHQ-9 over sessions against the expected band (10th-90th centile) and thresholds."""
    fig = Figure(figsize=(6.6, 2.9))
    ax = fig.add_subplot()
    if band:
        sessions = [b[0] for b in band]
        ax.fill_between(sessions, [b[1] for b in band], [b[3] for b in band], color=BAND,
                        alpha=0.45, label="expected 10th–90th centile")
        ax.plot(sessions, [b[2] for b in band], "--", color="#4f6f95", linewidth=1,
                label="expected median")
    if phq9:
        ax.plot([p[0] for p in phq9], [p[1] for p in phq9], "o-", color="black",
                linewidth=1.5, markersize=4, label="observed PHQ-9")
    if baseline is not None:
        ax.axhline(baseline, color=NEUTRAL, linewidth=0.9, linestyle=":",
                   label=f"baseline {baseline:g}")
        ax.axhline(baseline / 2, color=BENEFIT, linewidth=0.9, linestyle=":",
                   label=f"response (≤ {baseline / 2:g}, 50 % drop)")
    ax.axhline(REMISSION_BELOW, color=BENEFIT, linewidth=0.9,
               label=f"remission (< {REMISSION_BELOW})")
    last = max([p[0] for p in phq9] + [b[0] for b in band or []] + [1])
    ax.set_xlim(0.5, last + 0.5)
    ax.set_ylim(0, 27)
    ax.set_xlabel("session", fontsize=8)
    ax.set_ylabel("PHQ-9", fontsize=8)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3,
              frameon=False)
    return _png(fig)
