"""One patient's panels: durability, patient-reported outcomes and their urgent alerts, the PDF
report and monitoring form buttons, source attributes.
"""

__all__ = [
    "durability",
    "monitoring_pdf",
    "prom_alerts",
    "proms_panel",
    "report_button",
    "source_attributes",
]
