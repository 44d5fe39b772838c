"""Clinical rules kept apart from the ML: eligibility (§4), session and follow-up alerts
(§5), risk wording and the per-outcome quality gate.
"""

__all__ = [
    "eligibility",
    "eligibility_frame",
    "eligibility_rules",
    "followup_alerts",
    "followup_record",
    "followup_summary",
    "quality_gate",
    "risk_wording",
    "session_alerts",
    "session_monitoring",
    "session_record",
]
