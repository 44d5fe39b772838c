"""Printable PDFs: the patient report and the per-session monitoring form.
"""

__all__ = [
    "governance",
    "charts",
    "context",
    "decisions",
    "followup",
    "monitoring_form",
    "patient_report",
]
