"""Transparency a governance board can file (issue 28): one set of facts per version.

``fairness`` computes subgroup results with CIs, ``local`` the clinic's own validity and
fairness, ``clinic`` reads what only the clinic can say, and ``facts`` joins them with the
signed model card into the one structure every export (HTI-1, CHAI, TRIPOD+AI, PDF) reads.
"""

__all__ = [
    "clinic",
    "facts",
    "fairness",
    "hti1",
    "hti1_text",
    "local",
    "tripod",
]
