"""The cohort overview, its on-disk table per model version and CSV exports.
"""

__all__ = [
    "cache",
    "export",
    "overview",
]
