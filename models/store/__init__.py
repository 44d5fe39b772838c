"""Model versions at rest: the signed registry, plain-data artifacts (no pickle), the
model set a version holds and its card text.
"""

__all__ = [
    "artifacts",
    "card_text",
    "modelset",
    "promotion",
    "promotion_review",
    "registry",
]
