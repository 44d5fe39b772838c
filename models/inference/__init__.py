"""Using a model set: batch prediction, exact SHAP explanations and their wording,
counterfactuals and dependence curves.
"""

__all__ = [
    "attribution",
    "counterfactual",
    "dependence",
    "explain",
    "predict",
]
