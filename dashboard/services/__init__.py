"""The dashboard's service layer: no Streamlit, unit-tested.

Sign-in, access and start-up here; ``patients`` (review, compare, progress, what-if),
``entry`` (writes), ``cohort`` and ``lab`` (model lab and monitoring).
"""

__all__ = [
    "cohort",
    "entry",
    "lab",
    "patients",
    "access",
    "signin",
    "startup",
    "workspace",
]
