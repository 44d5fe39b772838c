"""Printable PDFs: the patient report and the per-session monitoring form.
"""

__all__ = [
    "charts",
    "context",
    "followup",
    "monitoring_form",
    "patient_report",
]
