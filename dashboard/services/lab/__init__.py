"""Model lab and monitoring: versions, jobs, quality gate, cards.
"""

__all__ = [
    "card",
    "governance",
    "jobs",
    "monitoring",
    "promotion",
    "quality",
    "updating",
    "versions",
]
