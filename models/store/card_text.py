"""The model card as Markdown for people, and metric-with-CI text (no training code here).

``metric_line`` and ``subgroup_line`` write an outcome's metrics and a subgroup level once,
for every governance export (issue 28), the panel and the patient report alike.

Kept in the model layer because the registry writes ``model_card.md`` beside every version
and the dashboard, the report and the CLI all show metrics the same way.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from base.clock import iso_text
from models.clinical.quality_gate import RULE
from models.contract.schema import outcome


def format_ci(entry: dict[str, Any] | None, digits: int = 3) -> str:
    """``0.72 (0.68–0.77)`` from a metric entry with value/lo/hi (``n/a`` when absent)."""
    entry = entry or {}
    value, lo, hi = entry.get("value"), entry.get("lo"), entry.get("hi")
    if value is None:
        return "n/a"
    if lo is None or hi is None:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"


def _source(data: dict[str, Any]) -> str:
    """The training data's source in a few words (a folder by its name)."""
    source = str(data.get("source") or "unknown data")
    if source.startswith("generated"):
        seed = data.get("seed")
        return "generated" + (f" (seed {seed})" if seed is not None else "")
    if "/" in source and not source.startswith("upload"):
        return PurePath(source.rstrip("/")).name + "/"
    return source[:40]


def describe_version(card: dict[str, Any]) -> str:
    """``data_samples/, 2,000 patients, 2026-11-25, by dr_lee``: what a version id stands for
    in lists (the model lab, ``kapcds versions``); read from the version's card."""
    data = card.get("training_data") or {}
    n = data.get("n_patients")
    patients = f"{int(n):,} patients" if isinstance(n, (int, float)) else "? patients"
    created = str(card.get("created_utc") or "")[:10] or "undated"
    return f"{_source(data)}, {patients}, {created}, by {card.get('trained_by') or 'unknown'}"


def render_card_markdown(card: dict[str, Any]) -> str:
    """The card as Markdown for people (model lab page and the registry folder)."""
    lines = [f"# {card.get('title', 'Model card')}", ""]
    if card.get("version"):
        lines.append(f"Version `{card['version']}`, created "
                     f"{iso_text(card.get('created_utc'))}, trained by "
                     f"{card.get('trained_by') or 'unknown'}.")
    lines += ["", "**Synthetic data only: not for use with real patients.**", "",
              "## Intended use", "", card.get("intended_use", ""), "", "## Out of scope", ""]
    lines += [f"- {item}" for item in card.get("out_of_scope", [])]
    data = card.get("training_data", {})
    lines += ["", "## Training data", "", data.get("description", "")]
    for key, value in data.items():
        if key != "description":
            lines.append(f"- {key}: {value}")
    lines += _patients_lines(card.get("patients"))
    models = card.get("models", {})
    if models.get("calibration"):
        lines += ["", "## Calibration", "", models["calibration"] + "."]
    lines += ["", "## Metrics (held-out test patients, 95 % bootstrap CI)", "",
              "| outcome | n | prevalence | ROC AUC | PR AUC | Brier | cal. intercept | "
              "cal. slope |", "|---|---|---|---|---|---|---|---|"]
    for name, m in card.get("metrics", {}).items():
        label = outcome(name).label if _known(name) else name
        lines.append(f"| {label} | {m['n']} | {m['prevalence']:.1%} | {format_ci(m['auc'])} | "
                     f"{format_ci(m['pr_auc'])} | {format_ci(m['brier'])} | "
                     f"{format_ci(m['calibration_intercept'], 2)} | "
                     f"{format_ci(m['calibration_slope'], 2)} |")
    lines += _gate_lines(card)
    lines += ["", "## Subgroups (ROC AUC, n)", ""]
    for name, rows in card.get("subgroups", {}).items():
        cells = ", ".join(f"{r['variable']}={r['level']}: "
                          f"{'n/a' if r['auc'] is None else format(r['auc'], '.2f')} "
                          f"(n={r['n']})" for r in rows)
        lines.append(f"- **{name}**: {cells}")
    lines += ["", "## Limits", ""] + [f"- {item}" for item in card.get("limits", [])]
    lines += ["", "## Reproducibility", "",
              f"- schema hash: `{card.get('schema_hash')}`",
              f"- training time: {card.get('training_seconds')} s"]
    lines += [f"- {k}: {v}" for k, v in card.get("packages", {}).items()]
    return "\n".join(lines) + "\n"


def _gate_lines(card: dict[str, Any]) -> list[str]:
    """The quality gate section: the rule, the threshold and each outcome's verdict."""
    recorded = card.get("quality_gate") or {}
    threshold = recorded.get("threshold")
    lines = ["", "## Quality gate (per outcome)", ""]
    if threshold is None:
        return lines + ["This card predates the quality gate; the dashboard applies the "
                        "current rule to its metrics.", ""]
    lines += [RULE.format(threshold=threshold), "", "| outcome | verdict | why |",
              "|---|---|---|"]
    for name, verdict in (recorded.get("outcomes") or {}).items():  # as at training time
        reliable = bool(verdict.get("reliable", False))
        label = outcome(name).label if _known(name) else name
        shown = "shown" if reliable else "**greyed: not shown**"
        lines.append(f"| {label} | {shown} | {verdict.get('reason', '')} |")
    return lines
def _patients_lines(record: dict[str, Any] | None) -> list[str]:
    """Which patients trained, validated and tested the version (ids in model_card.json)."""
    if not record:
        return ["", "Which patients trained this version is not recorded (older version)."]
    ids = record.get("ids", {})
    split = record.get("split", {})
    return ["", "## Patients", "",
            f"- {len(ids.get('train', []))} train, {len(ids.get('valid', []))} validation, "
            f"{len(ids.get('test', []))} test patients (ids and fingerprints per patient in "
            "model_card.json)",
            f"- data SHA-256 `{record.get('data_sha256', '?')}`",
            f"- split: seed {split.get('seed')}, test {split.get('test_fraction')}, "
            f"validation {split.get('valid_fraction')}; {split.get('method', '')}"]


def _known(name: str) -> bool:
    try:
        outcome(name)
    except KeyError:
        return False
    return True


def outcome_label(name: str) -> str:
    """The outcome's label (its name when the schema does not know it, e.g. relapse)."""
    try:
        return outcome(name).label
    except KeyError:
        return name


def metric_line(name: str, m: dict[str, Any]) -> str:
    """One outcome's held-out (or local) metrics with 95 % CIs."""
    prevalence = m.get("prevalence")
    prev = f", prevalence {prevalence:.1%}" if isinstance(prevalence, float) else ""
    events = f", events {m['events']}" if "events" in m else ""
    return (f"{outcome_label(name)}: n={m.get('n')}{events}{prev}, ROC AUC "
            f"{format_ci(m.get('auc'), 2)}, calibration intercept "
            f"{format_ci(m.get('calibration_intercept'), 2)}, slope "
            f"{format_ci(m.get('calibration_slope'), 2)}, Brier {format_ci(m.get('brier'), 3)}")


def subgroup_line(name: str, row: dict[str, Any]) -> str:
    """One subgroup level: n, AUC and calibration with CIs, observed vs predicted, warning."""
    head = f"{outcome_label(name)}, {row['variable']}={row['level']}: n={row['n']}"
    if "events" in row:
        head += f", events {row['events']}"
    if row.get("unmeasured"):
        text = f"{head}; {row['unmeasured']}"
    elif "observed" not in row:  # a card from before issue 28: AUC only, no intervals
        auc = row.get("auc")
        text = (f"{head}, ROC AUC {'n/a' if auc is None else format(auc, '.2f')} (CI and "
                "calibration not recorded: version trained before subgroup intervals)")
    else:
        obs = row["observed"]
        text = (f"{head}, ROC AUC {format_ci(row.get('auc'), 2)}, calibration intercept "
                f"{format_ci(row.get('calibration_intercept'), 2)}, slope "
                f"{format_ci(row.get('calibration_slope'), 2)}, observed "
                f"{obs['value']:.1%} ({obs['lo']:.1%}–{obs['hi']:.1%}) vs predicted "
                f"{row['mean_predicted']:.1%}")
    return text + (f". WARNING {row['warning']}" if row.get("warning") else "")
