"""The model layer: schema, clinical rules, learners, kernels, stored versions, inference.

Never imports Streamlit, SQL, training or interop (``docs/contracts.md``).
"""

__all__ = [
    "clinical",
    "contract",
    "inference",
    "kernels",
    "learners",
    "store",
]
