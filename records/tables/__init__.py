"""The store's tables (SQLAlchemy 2): clinical, follow-up, lifecycle, security, sign-in,
and the append-only guard.
"""

__all__ = [
    "append_only",
    "builds",
    "cds",
    "clinical",
    "edge",
    "followup",
    "lifecycle",
    "names",
    "proms",
    "security",
    "signin",
    "smart",
    "submissions",
]
