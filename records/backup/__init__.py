"""Backup and all-or-nothing restore of the store and the model registry.
"""

__all__ = [
    "checks",
    "create",
    "restore",
]
