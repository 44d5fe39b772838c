"""Clinical rules kept apart from the ML: eligibility (§4), session and follow-up alerts
(§5), risk wording, the per-outcome quality gate, and
patient-reported questionnaires (wording, scoring, schedule, urgent alerts; §6a).
"""

__all__ = [
    "eligibility",
    "eligibility_frame",
    "eligibility_rules",
    "followup_alerts",
    "followup_record",
    "followup_summary",
    "prom_alerts",
    "prom_instruments",
    "prom_schedule",
    "prom_scoring",
    "quality_gate",
    "risk_wording",
    "session_alerts",
    "session_monitoring",
    "session_record",
]
