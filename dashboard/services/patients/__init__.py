"""Clinician views of patients: the listing, compare, progress, durability, what-if.
"""

__all__ = [
    "compare",
    "followup",
    "gaps",
    "listing",
    "progress",
    "shown",
    "whatif",
    "whatif_state",
]
