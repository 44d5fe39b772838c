"""Follow-up after the induction series: visits and maintenance, frames, imports.
"""

__all__ = [
    "frames",
    "imports",
    "record",
]
