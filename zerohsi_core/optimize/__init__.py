"""Optimisation stages: per-frame HSI optimisation (Eq. 9–14) and refinement (Eq. 15–16)."""
