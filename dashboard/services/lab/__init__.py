"""Model lab and monitoring: versions, jobs, quality gate, cards.
"""

__all__ = [
    "card",
    "jobs",
    "monitoring",
    "promotion",
    "quality",
    "versions",
]
