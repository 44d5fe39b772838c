"""The governance facts of one version: the signed card, the clinic's own statements and the
local results joined into one structure, with every number already written as text once.

Every export (HTI-1 JSON, CHAI XML, TRIPOD+AI Markdown, PDF, the dashboard panel) places
these strings and never formats a number itself, so the same subgroup AUC reads the same
everywhere. Nothing is filled in: a missing piece carries the reason it is missing.
"""

from __future__ import annotations

from typing import Any

from models.contract.schema import FEATURES, outcome
from models.store.card_text import metric_line, outcome_label, subgroup_line
from training.governance.clinic import FIELDS, missing_reason
from training.governance.hti1 import attributes
from training.governance.tripod import tripod_items

FORMAT = "kapcds-governance-facts/1"
NOTICE = ("Trained on SYNTHETIC data only: decision support, not a decision; not for use "
          "with real patients.")
NA = "not available: "


def _heldout(card: dict[str, Any]) -> dict[str, Any]:
    metrics = card.get("metrics") or {}
    return {"source": (card.get("evaluation") or {}).get("split", "held-out test patients"),
            "lines": [metric_line(name, m) for name, m in metrics.items()]}


def _fairness(card: dict[str, Any]) -> dict[str, Any]:
    section = card.get("fairness")
    if section:
        rows = [(name, row) for name, entries in section.get("outcomes", {}).items()
                for row in entries]
        return {"source": section.get("source", ""), "small_n_rule":
                section.get("small_n_rule", ""), "rows": [dict(r, outcome=n) for n, r in rows],
                "lines": [subgroup_line(n, r) for n, r in rows]}
    old = [(name, row) for name, entries in (card.get("subgroups") or {}).items()
           for row in entries if row.get("variable") in ("sex", "age_band", "route")]
    if not old:
        return {"not_available": NA + "this version's card records no subgroup results"}
    return {"source": "held-out test patients (AUC only: the version predates subgroup "
            "intervals and calibration; retrain to record them)", "small_n_rule": "",
            "rows": [dict(r, outcome=n) for n, r in old],
            "lines": [subgroup_line(n, r) for n, r in old]}


def _local(local: dict[str, Any] | None, reason: str) -> dict[str, Any]:
    if local is None:
        return {"not_available": NA + reason}
    validity, fairness, rows = [], [], []
    for name, entry in local["outcomes"].items():
        if entry["status"] != "measured":
            validity.append(f"{outcome_label(name)}: {entry['reason']}")
            fairness.append(f"{outcome_label(name)}: {entry['reason']}")
            continue
        validity.append(metric_line(name, {"n": entry["n"], "events": entry["events"],
                                           **entry["metrics"]}))
        for row in entry["subgroups"]:
            rows.append(dict(row, outcome=name))
            fairness.append(subgroup_line(name, row))
    return {"source": local["source"], "rule": local["rule"], "validity_lines": validity,
            "fairness_lines": fairness, "rows": rows}


def _training_data(card: dict[str, Any]) -> dict[str, Any]:
    data = dict(card.get("training_data") or {})
    settings_used = data.pop("generator_settings", None)
    return {"description": data.pop("description", ""), "details": data,
            "generator_settings": settings_used if settings_used else
            NA + "the card does not record the generator settings (trained on a folder "
                 "without effects.json, or before issue 28)"}


def _demographics(card: dict[str, Any]) -> list[str]:
    profile = card.get("monitoring_profile") or {}
    lines = []
    for name in ("sex", "age", "route"):
        entry = profile.get(name)
        if not entry:
            continue
        label = next(f.label for f in FEATURES if f.name == name)
        if entry["kind"] == "category":
            shares = ", ".join(f"{k} {v:.1%}" for k, v in sorted(entry["shares"].items()))
            lines.append(f"{label}: {shares}")
        else:
            edges = entry.get("edges") or []
            if edges:
                lines.append(f"{label}: deciles {', '.join(f'{e:g}' for e in edges)}")
    return lines


def _definitions(card: dict[str, Any]) -> list[str]:
    out = []
    for name in card.get("metrics") or {}:
        try:
            spec = outcome(name)
        except KeyError:
            out.append(f"{name}: defined in the follow-up model (see the model card)")
            continue
        out.append(f"{spec.label}: {spec.definition}")
    return out


def _summary(card: dict[str, Any]) -> str:
    data = card.get("training_data") or {}
    return (f"Development and internal (held-out) evaluation of {len(card.get('metrics') or {})} "
            f"outcome models for ketamine-assisted psychotherapy, trained on "
            f"{data.get('n_patients', '?')} synthetic patients. {NOTICE}")


def governance_facts(card: dict[str, Any], clinic: dict[str, str],
                     local: dict[str, Any] | None = None,
                     local_reason: str = "the clinic's store was not read") -> dict[str, Any]:
    """Everything the exports need about ``card``'s version, as text and numbers, with the
    31 HTI-1 attributes and the TRIPOD+AI items derived from it."""
    facts = _base_facts(card, clinic, local, local_reason)
    facts["hti1"] = attributes(facts)
    facts["tripod"] = tripod_items(facts)
    return facts


def _base_facts(card: dict[str, Any], clinic: dict[str, str], local: dict[str, Any] | None,
                local_reason: str) -> dict[str, Any]:
    return {
        "format": FORMAT, "notice": NOTICE,
        "version": card.get("version", "unregistered"),
        "title": card.get("title", "KAP-CDS outcome models"),
        "created_utc": card.get("created_utc"), "trained_by": card.get("trained_by"),
        "intended_use": card.get("intended_use", ""),
        "out_of_scope": list(card.get("out_of_scope") or []),
        "limits": list(card.get("limits") or []),
        "models": {**{k: (card.get("models") or {}).get(k, "") for k in
                      ("algorithm", "calibration", "interval")},
                   "params": (card.get("models") or {}).get("params", {})},
        "outcomes": [outcome_label(n) for n in (card.get("metrics") or {})],
        "summary": _summary(card), "outcome_definitions": _definitions(card),
        "training_data": _training_data(card),
        "splits": (card.get("training_data") or {}).get("splits", {}),
        "demographics": _demographics(card),
        "heldout": _heldout(card),
        "quality_gate": card.get("quality_gate") or {},
        "fairness": _fairness(card),
        "local": _local(local, local_reason),
        "clinic": {key: clinic.get(key) for key in FIELDS},
        "clinic_missing": {key: missing_reason(key) for key in FIELDS if not clinic.get(key)},
        "packages": card.get("packages", {}), "schema_hash": card.get("schema_hash"),
    }
