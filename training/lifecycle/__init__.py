"""A version's life after fitting: first run, held-out evaluation, training jobs and
prospective monitoring on the clinic's store.
"""

__all__ = [
    "first_run",
    "heldout",
    "job_data",
    "monitor",
    "monitor_clinic",
]
