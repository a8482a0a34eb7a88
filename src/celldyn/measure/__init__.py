"""Measure: per-object features (regionprops), one row per (t, label)."""

from .features import centroids, measure_objects

__all__ = ["centroids", "measure_objects"]
