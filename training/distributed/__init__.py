"""Training and scoring on a Dask cluster (``lightgbm.dask``).
"""

__all__ = [
    "scoring",
    "training",
]
