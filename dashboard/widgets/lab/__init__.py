"""Model lab pieces: training jobs, the promotion review, the governance card.
"""

__all__ = [
    "clinic_update",
    "governance_card",
    "jobs_panel",
    "promotion",
]
