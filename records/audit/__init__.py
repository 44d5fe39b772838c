"""The hash-chained audit trail: recording, the chain's hash rule, verification and
signed checkpoints outside the database.
"""

__all__ = [
    "chain",
    "anchor_sink",
    "checkpoints",
    "registry_events",
    "trail",
    "verify",
]
