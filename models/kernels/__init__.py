"""Compiled kernels for the hot paths: exact TreeSHAP (``fastshap*``) and many boosters'
raw margins in one pass (``stacked_*``, ``hotpath``).
"""

__all__ = [
    "fastshap",
    "fastshap_kernels",
    "fastshap_parse",
    "hotpath",
    "stacked_kernels",
    "stacked_margin",
]
