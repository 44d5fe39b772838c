"""Model lab pieces: training jobs, the promotion review, the governance card.
"""

__all__ = [
    "governance_card",
    "jobs_panel",
    "promotion",
]
