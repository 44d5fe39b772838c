"""Updating a registered model set on a clinic's realised outcomes (issue 29): training
data from the store's ended series, the Riley sample-size guard, the four updating steps,
the closed test that chooses between them, and the candidate's card.
"""

__all__ = [
    "card",
    "clinic_data",
    "closed_test",
    "intervals",
    "sample_size",
    "steps",
    "update",
]
