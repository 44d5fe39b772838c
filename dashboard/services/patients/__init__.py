"""Clinician views of patients: the listing, compare, progress, durability, what-if, and
patient questionnaires.
"""

__all__ = [
    "compare",
    "followup",
    "gaps",
    "listing",
    "progress",
    "proms",
    "shown",
    "whatif",
    "whatif_state",
]
