"""How good a model is: holdout metrics, their uncertainty, plots, cost."""
