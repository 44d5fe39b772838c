"""The governance card's sections as (heading, lines): one layout for the TRIPOD+AI
Markdown, the PDF and the dashboard's model lab, so the TRIPOD+AI "where" column points at
headings that exist in each."""

from __future__ import annotations

import json
from typing import Any

from models.clinical.quality_gate import RULE


def _gate(facts: dict[str, Any]) -> list[str]:
    gate = facts["quality_gate"] or {}
    if gate.get("threshold") is None:
        return ["not available: this version's card predates the quality gate"]
    lines = [RULE.format(threshold=gate["threshold"])]
    for name, verdict in (gate.get("outcomes") or {}).items():
        shown = "shown" if verdict.get("reliable") else "withheld (greyed)"
        lines.append(f"{name}: {shown} — {verdict.get('reason', '')}")
    return lines


def _training(facts: dict[str, Any]) -> list[str]:
    data = facts["training_data"]
    lines = [data["description"]]
    lines += [f"{k}: {v}" for k, v in data["details"].items()]
    settings_used = data["generator_settings"]
    lines.append("generator settings: " + (json.dumps(settings_used, sort_keys=True)
                                           if isinstance(settings_used, dict) else
                                           str(settings_used)))
    return lines


def _local(facts: dict[str, Any]) -> list[str]:
    local = facts["local"]
    if "not_available" in local:
        return [local["not_available"]]
    return [local["source"], f"rule: {local['rule']}", *local["validity_lines"],
            *local["fairness_lines"]]


def _fairness(facts: dict[str, Any]) -> list[str]:
    fair = facts["fairness"]
    if "not_available" in fair:
        return [fair["not_available"]]
    rule = [f"small-n warning: {fair['small_n_rule']}"] if fair.get("small_n_rule") else []
    return [fair["source"], *rule, *fair["lines"]]


def card_sections(facts: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Every section of the governance card, in reading order."""
    models = facts["models"]
    clinic = [f"{key}: {value}" if value else f"{key}: not available: "
              f"{facts['clinic_missing'][key]}" for key, value in facts["clinic"].items()]
    return [
        ("Summary", [facts["summary"]]),
        ("Intended use", [facts["intended_use"], facts["hti1"][7].get("value", "")]),
        ("Training data", _training(facts)),
        ("Outcomes", facts["outcome_definitions"]),
        ("Model", [models["algorithm"], "Calibration: " + models["calibration"],
                   "Interval: " + models["interval"]]),
        ("Held-out evaluation", [facts["heldout"]["source"], *facts["heldout"]["lines"]]),
        ("Quality gate", _gate(facts)),
        ("Subgroups (held-out)", _fairness(facts)),
        ("Local validity and fairness", _local(facts)),
        ("Limits", [facts["notice"], *facts["limits"]]),
        ("Clinic statements", clinic),
    ]


def attribute_text(entry: dict[str, Any]) -> str:
    """An HTI-1 attribute's value, or "not available: <reason>"."""
    return entry.get("value") or "not available: " + entry["not_available"]
